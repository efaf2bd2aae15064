// Puzzle input: a file or standard input, whose first bytes can be looked at before a domain's reader consumes
// it (so the domain can be detected on a pipe).
#pragma once
#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <string_view>

namespace trm {

// An input stream ("-" = standard input) whose first bytes can be looked at before a reader consumes it all,
// so the domain can be detected on a pipe. Memory: the peeked prefix (<= 64 KiB) plus one read buffer.
class PuzzleInput {
public:
    explicit PuzzleInput(const std::string& path);  // Throws Error if the file cannot be opened
    ~PuzzleInput();
    PuzzleInput(const PuzzleInput&) = delete;
    PuzzleInput& operator=(const PuzzleInput&) = delete;
    const std::string& name() const { return name_; }  // the path, or "stdin"
    std::string_view peek();                          // up to the first 64 KiB, without consuming them
    std::istream& stream();                           // the whole input, peeked bytes first
    // The rest of the input as text (for ARC JSON), inflated when it is gzip; throws Error naming the input past
    // max_bytes.
    std::string read_all(uint64_t max_bytes);

private:
    struct Buf;
    std::string name_;
    std::unique_ptr<std::istream> file_;
    std::unique_ptr<Buf> buf_;
    std::unique_ptr<std::istream> stream_;
};

}  // namespace trm
