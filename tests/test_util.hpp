// Helpers shared by the doctest suites.
#pragma once
#include <functional>
#include <string>

#include "core/error.hpp"

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

}  // namespace trm::test
