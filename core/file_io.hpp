// Whole-file reads with a size cap, and crash-safe writes (temporary file, fsync, rename).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace trm {

constexpr uint64_t kMaxModelFileBytes = uint64_t(4) << 30;  // 4 GiB: far above any TRM checkpoint

// Reads `path` whole. Throws Error naming the file if it cannot be read or is larger than max_bytes.
std::vector<uint8_t> read_file_bytes(const std::string& path, uint64_t max_bytes = kMaxModelFileBytes);
// Text reads inflate gzip files (by their magic bytes, whatever the name), max_bytes capping the inflated size.
std::string read_file_text(const std::string& path, uint64_t max_bytes = kMaxModelFileBytes);
// The same for text already read (stdin, a file read in chunks): inflated when it is gzip, else returned as is;
// `name` names it in errors.
std::string inflate_if_gzip(std::string data, const std::string& name, uint64_t max_bytes);

// Writes `data` to `path` so that a crash leaves either the old file or the new one, never a torn one:
// write `path.tmp.<pid>`, fsync it, rename over `path`, fsync the directory. Then removes the temporaries of
// earlier writers of `path` that were killed mid-write (remove_stale_temporaries).
void write_file_atomic(const std::string& path, const void* data, size_t size);
void remove_stale_temporaries(const std::string& path);

// Before long work that ends in writing `path`: throws Error when the file exists and `replace` is false (outputs
// are never destroyed by accident), or when its folder is missing or not writable, so that nothing fails after
// the work is done. `what` names the output in the message ("weights file").
void check_output_path(const std::string& path, bool replace, const std::string& what);
inline void write_file_atomic(const std::string& path, const std::string& s) { write_file_atomic(path, s.data(), s.size()); }

}  // namespace trm
