// Replays every file of fuzz/corpus/<target>/ through the entry point its libFuzzer harness calls
// (fuzz/fuzz_entry.hpp): seeds, the inputs fuzzing found interesting and the reproducers of fixed crashes. Each
// file must be accepted or refused with trm::Error; any other exception (a FuzzInvariant, std::bad_alloc, a
// library exception leaking through) fails the test naming the file. A crash kills the test, as it should.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "fuzz/fuzz_entry.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "cannot read ", p.string());
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<fs::path> corpus_files(const std::string& target) {
    const fs::path dir = fs::path(TRM_SOURCE_DIR) / "fuzz" / "corpus" / target;
    std::vector<fs::path> out;
    if (fs::is_directory(dir))
        for (const auto& e : fs::directory_iterator(dir))
            if (e.is_regular_file()) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

// Runs one file; returns "" when it passed, else what escaped. *accepted: the entry point accepted the input.
std::string replay(const trm::fuzz::Target& t, const fs::path& file, bool* accepted) {
    const std::vector<uint8_t> bytes = slurp(file);
    try {
        *accepted = t.run(bytes.data(), bytes.size());
        return "";
    } catch (const trm::fuzz::FuzzInvariant& e) {
        return std::string("broken invariant: ") + e.what();
    } catch (const std::exception& e) {
        return std::string("escaped exception (not trm::Error): ") + e.what();
    }
}

}  // namespace

TEST_CASE("every fuzz corpus file is accepted or refused with trm::Error") {
    size_t total = 0;
    for (const auto& t : trm::fuzz::kTargets) {
        const auto files = corpus_files(t.name);
        // a missing or emptied corpus would make this test pass vacuously
        CHECK_MESSAGE(files.size() >= 2, "fuzz/corpus/", std::string(t.name), " holds ", files.size(), " files");
        size_t accepted = 0;
        for (const auto& f : files) {
            bool ok = false;
            const std::string what = replay(t, f, &ok);
            CHECK_MESSAGE(what.empty(), std::string(t.name), ": ", f.filename().string(), ": ", what);
            accepted += ok;
        }
        // the checks after a successful parse / load must run on some input of every target
        CHECK_MESSAGE(accepted >= 1, "fuzz/corpus/", std::string(t.name), ": no file is accepted");
        total += files.size();
        MESSAGE(std::string(t.name), ": ", files.size(), " files replayed, ", accepted, " accepted");
    }
    CHECK(total > 100);
}

TEST_CASE("the entry points report what the fuzzers must treat as bugs") {
    // The harnesses' contract relies on these: a refusal returns, an invariant escapes.
    const std::string bad = "12345678\n";
    CHECK_FALSE(trm::fuzz::sudoku_text(reinterpret_cast<const uint8_t*>(bad.data()), bad.size()));
    CHECK_FALSE(trm::fuzz::safetensors(nullptr, 0));
    CHECK_FALSE(trm::fuzz::torch_checkpoint(reinterpret_cast<const uint8_t*>(bad.data()), bad.size()));
    CHECK_THROWS_AS(trm::fuzz::require(false, "x"), trm::fuzz::FuzzInvariant);
    const std::string line = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79\n";
    CHECK(trm::fuzz::sudoku_text(reinterpret_cast<const uint8_t*>(line.data()), line.size()));
}
