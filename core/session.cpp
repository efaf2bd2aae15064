#include "core/session.hpp"

#include <vector>

#include "core/error.hpp"

namespace trm {

void run_session(Forward& fwd, const int32_t* tokens, const int32_t* ids, int B, const SessionOptions& opt,
                 const std::function<bool(const StepInfo&)>& on_step) {
    const Config& c = fwd.model->cfg();
    TRM_CHECK(B <= fwd.max_batch);
    if (B == 0) return;
    const int S = c.seq_len, V = c.vocab_size;
    const int max_steps = opt.max_steps > 0 ? opt.max_steps : c.halt_max_steps;
    const float threshold = opt.halt_threshold.value_or(c.halt_threshold);
    std::vector<int32_t> zero(B, 0);
    fwd.embed(tokens, ids ? ids : zero.data(), B);
    fwd.reset_carry(B);
    std::vector<int> slot_row(B);  // slot -> caller's row
    for (int b = 0; b < B; b++) slot_row[b] = b;
    int active = B;
    for (int step = 1; step <= max_steps && active > 0; step++) {
        std::function<void(int)> cyc;
        if (opt.trace_cycles)
            cyc = [&](int cycle) {
                if (cycle + 1 >= c.H_cycles) return;  // the final cycle is reported as the step
                for (int s = 0; s < active; s++) {
                    StepInfo in;
                    in.row = slot_row[s]; in.step = step; in.cycle = cycle;
                    in.logits = fwd.logits.data() + size_t(s) * S * V;
                    in.q_halt = fwd.q[2 * s]; in.q_continue = fwd.q[2 * s + 1];
                    in.model_halts = in.q_halt > threshold;
                    on_step(in);
                }
            };
        fwd.step(active, cyc);
        std::vector<uint8_t> stop(active, 0);
        for (int s = 0; s < active; s++) {
            StepInfo in;
            in.row = slot_row[s]; in.step = step; in.cycle = -1;
            in.logits = fwd.logits.data() + size_t(s) * S * V;
            in.q_halt = fwd.q[2 * s]; in.q_continue = fwd.q[2 * s + 1];
            in.model_halts = in.q_halt > threshold;
            in.last = step == max_steps;
            stop[s] = on_step(in) || in.last;
        }
        // compact: move the last active rows into stopped slots
        int s = 0;
        while (s < active) {
            if (!stop[s]) { s++; continue; }
            int last = active - 1;
            if (last != s) {
                fwd.move_row(s, last);
                slot_row[s] = slot_row[last];
                stop[s] = stop[last];
            }
            active--;
        }
    }
}

}  // namespace trm
