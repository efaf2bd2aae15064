// The domains trm knows. Each puzzles/<domain>.{hpp,cpp} pair holds its text formats, token encoding,
// verification, augmentation and exact solver; this header names them so CLI, eval and tests can loop over them.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace trm {

enum class DomainKind { Sudoku, Maze, Arc };

const char* domain_name(DomainKind d);  // "sudoku", "maze", "arc"
bool domain_from_name(std::string_view s, DomainKind* out);
std::vector<DomainKind> all_domains();

// Guesses the domain of an input text: ARC JSON starts with '{' (or '['), or is gzip; a maze has '#' walls and
// S/G; otherwise Sudoku. Returns false when nothing fits.
bool detect_domain(std::string_view text, DomainKind* out);

// The side of a square grid of n cells (900 -> 30), or 0 when n is not a positive square.
int square_side(long long n);

}  // namespace trm
