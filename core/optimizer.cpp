#include "core/optimizer.hpp"

#include "core/vecmath.hpp"

#include <cmath>
#include <map>
#include <vector>

namespace trm {

double cosine_lr(int64_t step, double base_lr, int64_t warmup, int64_t total, double min_ratio) {
    if (step < warmup) return base_lr * double(step) / double(std::max<int64_t>(1, warmup));
    // past the horizon (a run continued beyond --cosine-steps) the rate stays at the floor
    const double progress = std::min(1.0, double(step - warmup) / double(std::max<int64_t>(1, total - warmup)));
    return base_lr * (min_ratio + std::max(0.0, (1.0 - min_ratio) * 0.5 * (1.0 + std::cos(M_PI * progress))));
}

TRM_VECTOR_CLONES void adam_atan2_update(float* p, float* m, float* v, const float* g, size_t n, double lr, double wd, double b1,
                       double b2, int64_t t) {
    const float decay = float(1.0 - lr * wd);
    const float step = float(lr / (1.0 - std::pow(b1, double(t))));
    const float inv_bc2 = float(1.0 / std::sqrt(1.0 - std::pow(b2, double(t))));
    const float fb1 = float(b1), fb2 = float(b2);
    for (size_t i = 0; i < n; i++) {
        const float gi = g[i];
        m[i] = fb1 * m[i] + (1.0f - fb1) * gi;
        v[i] = fb2 * v[i] + (1.0f - fb2) * gi * gi;
        p[i] = p[i] * decay - step * std::atan2(m[i], std::sqrt(v[i]) * inv_bc2);
    }
}

void sign_sgd_rows(float* weights, const float* local_grad, const int32_t* ids, int B, int E, double lr, double wd) {
    std::map<int32_t, std::vector<float>> sum;
    for (int b = 0; b < B; b++) {
        auto& s = sum[ids[b]];
        if (s.empty()) s.assign(size_t(E), 0.0f);
        for (int i = 0; i < E; i++) s[i] += local_grad[size_t(b) * E + i];
    }
    const float decay = float(1.0 - lr * wd), flr = float(lr);
    for (auto& [id, g] : sum) {
        float* row = weights + size_t(id) * E;
        for (int i = 0; i < E; i++) {
            const float sg = g[i] > 0 ? 1.0f : (g[i] < 0 ? -1.0f : 0.0f);
            row[i] = row[i] * decay - flr * sg;
        }
    }
}

TRM_VECTOR_CLONES void ema_update(float* ema, const float* p, size_t n, double rate) {
    const float r = float(rate), q = float(1.0 - rate);
    for (size_t i = 0; i < n; i++) ema[i] = r * ema[i] + q * p[i];
}

}  // namespace trm
