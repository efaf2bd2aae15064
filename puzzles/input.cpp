#include "puzzles/input.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <vector>

#include "core/error.hpp"
#include "core/file_io.hpp"

namespace trm {

constexpr size_t kPeekBytes = size_t(1) << 16;

// Serves `prefix` (bytes already read from src) and then the rest of src.
struct PuzzleInput::Buf : std::streambuf {
    std::streambuf* src = nullptr;  // a file
    int fd = -1;                    // or stdin, read with read(2): one Ctrl-D at a terminal ends the input
    bool at_eof = false;            // the end was seen: never read again (a terminal would wait for another Ctrl-D)
    std::string prefix;
    bool peeked = false, prefix_served = false;
    std::vector<char> chunk = std::vector<char>(kPeekBytes);

    // Up to n bytes; 0 at the end of the input. A terminal's read returns a line at a time, so reads are short.
    size_t read_some(char* p, size_t n) {
        if (at_eof || n == 0) return 0;
        if (fd < 0) {
            const std::streamsize got = src->sgetn(p, std::streamsize(n));
            if (got <= 0) at_eof = true;
            return got > 0 ? size_t(got) : 0;
        }
        while (true) {
            const ssize_t got = ::read(fd, p, n);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) fail("stdin: read failed: {}", std::strerror(errno));
            if (got == 0) at_eof = true;
            return size_t(got);
        }
    }

    int_type underflow() override {
        if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
        if (!prefix_served) {
            prefix_served = true;
            if (!prefix.empty()) {
                setg(prefix.data(), prefix.data(), prefix.data() + prefix.size());
                return traits_type::to_int_type(*gptr());
            }
        }
        const size_t n = read_some(chunk.data(), chunk.size());
        if (n == 0) return traits_type::eof();
        setg(chunk.data(), chunk.data(), chunk.data() + n);
        return traits_type::to_int_type(*gptr());
    }
};

PuzzleInput::PuzzleInput(const std::string& path) : buf_(std::make_unique<Buf>()) {
    if (path.empty() || path == "-") {
        name_ = "stdin";
        buf_->fd = STDIN_FILENO;
    } else {
        name_ = path;
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec)) fail("{}: is a directory, expected a puzzle file", path);
        auto f = std::make_unique<std::ifstream>(path, std::ios::binary);
        if (!*f) fail("{}: cannot open ({})", path, std::strerror(errno));
        buf_->src = f->rdbuf();
        file_ = std::move(f);
    }
    stream_ = std::make_unique<std::istream>(buf_.get());
}

PuzzleInput::~PuzzleInput() = default;

std::string_view PuzzleInput::peek() {
    Buf& b = *buf_;
    if (!b.peeked) {
        TRM_CHECK(!b.prefix_served);
        b.peeked = true;
        b.prefix.resize(kPeekBytes);
        size_t got = 0;
        while (got < kPeekBytes) {
            const size_t n = b.read_some(b.prefix.data() + got, kPeekBytes - got);
            if (n == 0) break;
            got += n;
        }
        b.prefix.resize(got);
    }
    return b.prefix;
}

std::istream& PuzzleInput::stream() { return *stream_; }

std::string PuzzleInput::read_all(uint64_t max_bytes) {
    std::string text;
    char tmp[1 << 16];
    while (true) {
        stream_->read(tmp, sizeof tmp);
        std::streamsize n = stream_->gcount();
        if (n <= 0) break;
        if (text.size() + size_t(n) > max_bytes)
            fail("{}: input is larger than {} MiB", name_, max_bytes >> 20);
        text.append(tmp, size_t(n));
    }
    return inflate_if_gzip(std::move(text), name_, max_bytes);  // the ARC data in datasets/arc/ is .json.gz
}

}  // namespace trm
