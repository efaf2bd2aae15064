#include "core/loss.hpp"

#include <cmath>
#include <cstring>

#include "core/error.hpp"

namespace trm {

int argmax(const float* x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) if (x[i] > x[best]) best = i;
    return best;
}

LossOut act_loss(const float* logits, const int32_t* labels, const float* q, int B, int S, int V, double grad_scale,
                 float* dlogits, float* dq) {
    LossOut out;
    out.seq_is_correct.assign(B, 0);
    out.correct_cells.assign(B, 0);
    out.label_count.assign(B, 0);
    std::vector<double> s(V), ds(V);
    for (int b = 0; b < B; b++) {
        int count = 0, correct = 0;
        for (int i = 0; i < S; i++) {
            int y = labels[size_t(b) * S + i];
            if (y == kIgnoreLabel) continue;
            if (y < 0 || y >= V) fail("label {} at row {} position {} is outside the vocabulary (0..{})", y, b, i, V - 1);
            count++;
            if (argmax(logits + (size_t(b) * S + i) * V, V) == y) correct++;
        }
        out.label_count[b] = count;
        out.correct_cells[b] = correct;
        out.seq_is_correct[b] = correct == count;
        const double divisor = std::max(1, count);
        double row_loss = 0;
        for (int i = 0; i < S; i++) {
            const float* x = logits + (size_t(b) * S + i) * V;
            float* dx = dlogits ? dlogits + (size_t(b) * S + i) * V : nullptr;
            int y = labels[size_t(b) * S + i];
            if (y == kIgnoreLabel || y < 0 || y >= V) {
                if (dx) std::memset(dx, 0, size_t(V) * sizeof(float));
                continue;
            }
            double sum = 0;
            for (int j = 0; j < V; j++) {
                double v = x[j];
                if (v >= 0) { s[j] = v + 1; ds[j] = 1; }
                else { s[j] = 1.0 / (1.0 - v + 1e-30); ds[j] = s[j] * s[j]; }
                sum += s[j];
            }
            row_loss += -std::log(s[y] / sum);
            if (dx) {
                const double g = grad_scale / divisor;
                for (int j = 0; j < V; j++) dx[j] = float(g * (ds[j] / sum - (j == y ? ds[j] / s[j] : 0.0)));
            }
        }
        out.lm_loss += row_loss / divisor;
        // binary_cross_entropy_with_logits(q_halt, seq_is_correct), reduction sum
        const double xq = q[size_t(b) * 2], t = out.seq_is_correct[b];
        out.q_halt_loss += std::max(xq, 0.0) - xq * t + std::log1p(std::exp(-std::abs(xq)));
        if (dq) {
            const double sig = 1.0 / (1.0 + std::exp(-xq));
            dq[size_t(b) * 2] = float(grad_scale * 0.5 * (sig - t));
            dq[size_t(b) * 2 + 1] = 0.0f;
        }
    }
    out.loss = out.lm_loss + 0.5 * out.q_halt_loss;
    return out;
}

}  // namespace trm
