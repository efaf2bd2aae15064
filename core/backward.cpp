#include "core/backward.hpp"

#include <cmath>
#include <cstring>

#include "core/ops.hpp"

namespace trm {

BlockGradScratch::BlockGradScratch(const Config& c, int B) {
    Dims d(c, B);
    const size_t R = d.R();
    d_h1.resize(R * d.D);
    d_gu.resize(R * 2 * d.I);
    d_act.resize(R * d.I);
    act.resize(R * d.I);
    if (c.mlp_t) {
        t_dgu.resize(size_t(2) * d.It * d.D);
        t_dact.resize(size_t(d.It) * d.D);
        t_act.resize(size_t(d.It) * d.D);
        t_dy.resize(size_t(d.L) * d.D);
    } else {
        d_qkv.resize(R * 3 * d.D);
        d_att.resize(R * d.D);
        att_scratch.resize(attention_probs_floats(d.L));
    }
}

size_t BlockGradScratch::bytes() const {
    return (d_h1.size() + d_gu.size() + d_act.size() + act.size() + d_qkv.size() + d_att.size() + att_scratch.size() +
            t_dgu.size() + t_dact.size() + t_act.size() + t_dy.size()) * sizeof(float);
}

void block_backward(const BlockView<float>& dw, const BlockView<const float>& w, float* dh, int B, const Dims& d,
                    const Config& c, const float* cos, const float* sin, const BlockCache& k, BlockGradScratch& s) {
    const size_t R = size_t(B) * d.L;
    const int D = d.D;
    // h2 = rms_norm(h1 + down(act)), act = swiglu(gu), gu = gate_up(h1)
    float* dy2 = dh;  // d(h1 + mlp) after the norm's backward, in place
    rmsnorm_backward(dy2, dh, k.h2, k.rms2, int(R), D, /*overwrite=*/true);
    std::memcpy(s.d_h1.data(), dy2, R * D * sizeof(float));                          // residual path
    gemm(false, false, int(R), d.I, D, 1.0f, dy2, D, w.down, d.I, 0.0f, s.d_act.data(), d.I);  // dact = dy2 @ Wd
    swiglu_backward(s.d_gu.data(), s.d_act.data(), k.gu, int(R), d.I, s.act.data());  // and act, from gu
    linear_backward(nullptr, dw.down, dy2, s.act.data(), w.down, int(R), d.I, D);
    linear_backward(s.d_h1.data(), dw.gate_up, s.d_gu.data(), k.h1, w.gate_up, int(R), D, 2 * d.I);
    if (c.mlp_t) {
        // per puzzle: y = rms_cols(x_b + Wd @ swiglu_rows(Wgu @ x_b))
        for (int b = 0; b < B; b++) {
            const size_t off = size_t(b) * d.L * D;
            float* dyb = s.t_dy.data();
            rmsnorm_cols_backward(dyb, s.d_h1.data() + off, k.h1 + off, k.rms1 + size_t(b) * D, d.L, D, true);
            const float* xb = k.x + off;
            const float* gu = k.t_gu + size_t(b) * 2 * d.It * D;
            float* act = s.t_act.data();
            // O = Wd [L, It] @ A [It, D]: dA = Wd^T dO ; dWd += dO A^T (A recomputed from gu by the SwiGLU pass)
            gemm(true, false, d.It, D, d.L, 1.0f, w.mlp_t_down, d.It, dyb, D, 0.0f, s.t_dact.data(), D);
            swiglu_rows_backward(s.t_dgu.data(), s.t_dact.data(), gu, d.It, D, act);
            gemm(false, true, d.L, d.It, D, 1.0f, dyb, D, act, D, 1.0f, dw.mlp_t_down, d.It);
            // G = Wgu [2It, L] @ x_b [L, D]: dx_b = Wgu^T dG ; dWgu += dG x_b^T
            float* dx = dh + off;
            std::memcpy(dx, dyb, size_t(d.L) * D * sizeof(float));                  // residual path
            gemm(true, false, d.L, D, 2 * d.It, 1.0f, w.mlp_t_gate_up, d.L, s.t_dgu.data(), D, 1.0f, dx, D);
            gemm(false, true, 2 * d.It, d.L, D, 1.0f, s.t_dgu.data(), D, xb, D, 1.0f, dw.mlp_t_gate_up, d.L);
        }
    } else {
        // h1 = rms_norm(x + o_proj(attention(rope(qkv_proj(x)))))
        float* dy1 = s.d_h1.data();
        rmsnorm_backward(dy1, dy1, k.h1, k.rms1, int(R), D, true);
        std::memset(s.d_att.data(), 0, R * D * sizeof(float));
        linear_backward(s.d_att.data(), dw.o, dy1, k.att, w.o, int(R), D, D);
        attention_backward(s.d_qkv.data(), s.att_scratch.data(), s.d_att.data(), k.att, k.qkv, k.probs, B, d.L, d.H,
                           d.hd);
        if (cos) rope_backward(s.d_qkv.data(), cos, sin, int(R), d.L, d.H, d.hd);
        std::memcpy(dh, dy1, R * D * sizeof(float));                                 // residual path
        linear_backward(dh, dw.qkv, s.d_qkv.data(), k.x, w.qkv, int(R), D, 3 * D);
    }
}

void heads_backward(float* dz_H, const ModelView<float>& dw, const ModelView<const float>& w, const Dims& d,
                    const float* z_H, const float* dlogits, const float* dq) {
    std::memset(dz_H, 0, d.R() * d.D * sizeof(float));
    for (int b = 0; b < d.B; b++) {
        const float* zb = z_H + size_t(b) * d.L * d.D;
        float* dzb = dz_H + size_t(b) * d.L * d.D;
        linear_backward(dzb + size_t(d.P) * d.D, dw.lm_head, dlogits + size_t(b) * d.S * d.V,
                        zb + size_t(d.P) * d.D, w.lm_head, d.S, d.D, d.V);
        for (int j = 0; j < 2; j++) {
            const float g = dq[size_t(b) * 2 + j];
            if (g == 0.0f) continue;
            dw.q_head_b[j] += g;
            for (int i = 0; i < d.D; i++) {
                dw.q_head_w[size_t(j) * d.D + i] += g * zb[i];
                dzb[i] += g * w.q_head_w[size_t(j) * d.D + i];
            }
        }
    }
}

void embed_backward(const ModelView<float>& dw, float* dpuzzle_local, const Config& c, const int32_t* tokens,
                    const float* dx, int B) {
    const int S = c.seq_len, P = c.P(), L = c.total_seq(), D = c.hidden_size, E = c.puzzle_emb_ndim;
    const float scale = float(std::sqrt(double(D)));
    const float k = c.pos_encodings == PosEncoding::Learned ? 0.707106781f : 1.0f;
    for (int b = 0; b < B; b++) {
        const float* g = dx + size_t(b) * L * D;
        if (dw.embed_pos)
            for (size_t i = 0; i < size_t(L) * D; i++) dw.embed_pos[i] += g[i] * scale * k;
        for (int s = 0; s < S; s++) {
            float* row = dw.embed_tokens + size_t(tokens[size_t(b) * S + s]) * D;
            const float* gs = g + size_t(P + s) * D;
            for (int i = 0; i < D; i++) row[i] += gs[i] * scale * k;
        }
        if (E > 0 && dpuzzle_local)
            for (int i = 0; i < E; i++) dpuzzle_local[size_t(b) * E + i] = g[i] * scale * k;
    }
}

}  // namespace trm
