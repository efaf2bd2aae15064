// The one error type of core/, puzzles/ and datasets/. cli/main.cpp catches it and prints `error: <what>`.
#pragma once
#include <fmt/format.h>
#include <stdexcept>
#include <string>

namespace trm {

// A user-facing failure: bad input, bad model file, impossible request. The message is one line that names
// the file (and line, tensor, cell ...) and the problem; an optional hint says what to do about it.
struct Error : std::runtime_error {
    std::string hint;
    explicit Error(std::string msg, std::string hint_ = {}) : std::runtime_error(std::move(msg)), hint(std::move(hint_)) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
    throw Error(fmt::format(f, std::forward<Args>(args)...));
}

// Raised when a long job is interrupted (SIGINT/SIGTERM) after it saved its state.
struct Interrupted : std::runtime_error {
    Interrupted() : std::runtime_error("interrupted") {}
};

}  // namespace trm

// Internal invariant: a bug in trm, not a user error. Reports file:line.
#define TRM_CHECK(cond)                                                                              \
    do {                                                                                             \
        if (!(cond)) throw ::trm::Error(fmt::format("internal check failed: {} ({}:{})", #cond,      \
                                                    __FILE__, __LINE__));                            \
    } while (0)
