#include "core/file_io.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/error.hpp"

namespace trm {

std::vector<uint8_t> read_file_bytes(const std::string& path, uint64_t max_bytes) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        fail("{}: not a regular file", path);
    }
    if (uint64_t(st.st_size) > max_bytes) {
        ::close(fd);
        fail("{}: file is {} bytes, more than the {} allowed", path, uint64_t(st.st_size), max_bytes);
    }
    std::vector<uint8_t> buf(size_t(st.st_size));
    size_t got = 0;
    while (got < buf.size()) {
        ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { ::close(fd); fail("{}: read failed after {} bytes", path, got); }
        got += size_t(n);
    }
    ::close(fd);
    return buf;
}

// Inflates a gzip stream (the data shipped in the repository is kept compressed), at most max_bytes of output.
static std::string gunzip(std::string_view in, const std::string& path, uint64_t max_bytes) {
    z_stream zs{};
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) fail("{}: cannot start gzip decompression", path);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = uInt(in.size());
    std::string out;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        if (out.size() >= max_bytes) { inflateEnd(&zs); fail("{}: decompresses to more than the {} bytes allowed", path, max_bytes); }
        const size_t have = out.size(), grow = std::min<uint64_t>(std::max<size_t>(in.size() * 4, 1 << 16), max_bytes - have);
        out.resize(have + grow);
        zs.next_out = reinterpret_cast<Bytef*>(out.data() + have);
        zs.avail_out = uInt(grow);
        rc = inflate(&zs, Z_NO_FLUSH);
        out.resize(have + grow - zs.avail_out);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            inflateEnd(&zs);
            fail("{}: corrupt gzip data ({})", path, zs.msg ? zs.msg : "truncated");
        }
        if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) { inflateEnd(&zs); fail("{}: truncated gzip data", path); }
    }
    inflateEnd(&zs);
    return out;
}

static bool is_gzip(std::string_view b) { return b.size() >= 2 && uint8_t(b[0]) == 0x1f && uint8_t(b[1]) == 0x8b; }

std::string read_file_text(const std::string& path, uint64_t max_bytes) {
    auto b = read_file_bytes(path, max_bytes);
    const std::string_view v(reinterpret_cast<const char*>(b.data()), b.size());
    return is_gzip(v) ? gunzip(v, path, max_bytes) : std::string(v);
}

std::string inflate_if_gzip(std::string data, const std::string& name, uint64_t max_bytes) {
    return is_gzip(data) ? gunzip(data, name, max_bytes) : data;
}

void write_file_atomic(const std::string& path, const void* data, size_t size) {
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("{}: cannot create: {}", tmp, std::strerror(errno));
    const auto* p = static_cast<const uint8_t*>(data);
    size_t done = 0;
    while (done < size) {
        ssize_t n = ::write(fd, p + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = errno; ::close(fd); ::unlink(tmp.c_str());
            fail("{}: write failed: {}", path, std::strerror(e));
        }
        done += size_t(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) { ::unlink(tmp.c_str()); fail("{}: fsync failed", path); }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno; ::unlink(tmp.c_str());
        fail("{}: cannot rename into place: {}", path, std::strerror(e));
    }
    std::string dir = ".";
    if (auto slash = path.rfind('/'); slash != std::string::npos) dir = slash == 0 ? "/" : path.substr(0, slash);
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { ::fsync(dfd); ::close(dfd); }
    remove_stale_temporaries(path);
}

// `<path>.tmp.<pid>` files whose writer no longer runs (killed between create and rename) are removed after the
// next successful write of `path`. A live pid (the writer, or a reused pid) keeps its file: never lose a write in
// flight. Best effort: errors are ignored, the real file is already in place.
void remove_stale_temporaries(const std::string& path) {
    namespace fs = std::filesystem;
    const fs::path p(path);
    const std::string prefix = p.filename().string() + ".tmp.";
    std::error_code ec;
    fs::directory_iterator it(p.parent_path().empty() ? fs::path(".") : p.parent_path(), ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
        const std::string digits = name.substr(prefix.size());
        if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
        const pid_t pid = pid_t(std::stol(digits));
        if (pid == ::getpid() || pid <= 0) continue;
        if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to judge)
        std::error_code rm;
        fs::remove(it->path(), rm);
    }
}

void check_output_path(const std::string& path, bool replace, const std::string& what) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path p(path);
    if (fs::is_directory(p, ec)) fail("{}: is a folder, not a {}", path, what);
    if (fs::exists(p, ec) && !replace)
        throw Error(fmt::format("{}: the {} already exists and is kept", path, what),
                    "pass --force to replace it, or choose another name");
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    if (!fs::is_directory(dir, ec)) fail("{}: folder {} does not exist", path, dir.string());
    if (::access(dir.c_str(), W_OK) != 0) fail("{}: cannot write into {}: {}", path, dir.string(), std::strerror(errno));
}

}  // namespace trm
