// Helpers shared by the doctest suites.
#pragma once
#include <functional>
#include <string>

#include "core/error.hpp"
#include "core/weights.hpp"

namespace trm::test {

// The message of the trm::Error that f throws, or "(no error)" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

// A zero-weight model: every answer blank and q_halt 0, so nothing verifies and nothing halts before
// halt_max_steps (tests of budgets and step limits).
inline Model zero_model(int seq_len, int vocab, const std::string& domain, int halt_max_steps = 2) {
    Config c;
    c.hidden_size = 16;
    c.num_heads = 2;
    c.expansion = 2;
    c.L_layers = 1;
    c.H_cycles = 1;
    c.L_cycles = 1;
    c.halt_max_steps = halt_max_steps;
    c.puzzle_emb_ndim = 0;
    c.puzzle_emb_len = 0;
    c.pos_encodings = PosEncoding::None;
    c.seq_len = seq_len;
    c.vocab_size = vocab;
    c.domain = domain;
    c.validate();
    return Model(c);
}

}  // namespace trm::test
