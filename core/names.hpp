// The names of an enum's values, as one table per enum: name_of and from_name read it, instead of a switch and
// a lookup loop written by hand for each enum (command-line options, config files, JSON).
#pragma once
#include <array>
#include <cstddef>
#include <string_view>
#include <utility>

namespace trm {

template <class E, size_t N>
using NameTable = std::array<std::pair<E, const char*>, N>;

// The value's name ("?" for a value not in the table).
template <class E, size_t N>
const char* name_of(const NameTable<E, N>& table, E value) {
    for (const auto& [e, name] : table)
        if (e == value) return name;
    return "?";
}

// The value named `name`, into *out; false (and *out untouched) when no entry has that name.
template <class E, size_t N>
bool from_name(const NameTable<E, N>& table, std::string_view name, E* out) {
    for (const auto& [e, n] : table)
        if (name == n) {
            *out = e;
            return true;
        }
    return false;
}

}  // namespace trm
