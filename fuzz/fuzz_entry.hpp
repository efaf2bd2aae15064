// Fuzz entry points: one per input format trm reads. Shared by the libFuzzer harnesses (fuzz/<target>.cpp) and by
// tests/test_fuzz_replay.cpp, which replays every file of fuzz/corpus/<target>/ through the same function.
//
// Contract of every entry point: it takes arbitrary bytes, runs the parser and what a caller does next with the
// result (encode, verify, write back and re-read, build the model), and returns normally when the input is
// accepted (true: parsed and, for model files, loaded) or refused with trm::Error (false). Anything else is a bug: a crash, a sanitizer report, another exception
// type escaping (std::bad_alloc, nlohmann::json::exception, std::out_of_range ...) or a broken invariant, which
// is thrown here as FuzzInvariant (a std::logic_error, never caught by the entry points).
//
//   target            input                                             entry point exercised
//   sudoku_text       Sudoku text / CSV                                 parse_sudoku_text
//   maze_text         maze text / CSV                                   parse_mazes (Auto, Text, Csv)
//   arc_json          challenges JSON [ '\0' solutions JSON ]           parse_arc_tasks, apply_arc_solutions
//   safetensors       a .safetensors file                               parse_safetensors, load_model (native)
//   torch_checkpoint  a torch.save zip                                  parse_torch_checkpoint, load_model
//                                                                       (official, beside a fixed tiny config)
//   torch_pickle      data.pkl of a checkpoint, zipped here (with CRCs) as torch_checkpoint, so mutations reach
//                     with the tiny model's float32 storages data/0..11   the restricted unpickler past the zip
//   official_config   all_config.yaml [ '\0' dataset.json ]             config_from_official, Config::validate
//
// Files the loaders need a path for (load_model, config_from_official) are written to a private scratch
// directory (under /dev/shm when it exists), removed at exit.
#pragma once
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/model_io.hpp"
#include "core/safetensors.hpp"
#include "core/torch_checkpoint.hpp"
#include "core/weights.hpp"
#include "puzzles/arc.hpp"
#include "puzzles/grid_transform.hpp"
#include "puzzles/maze.hpp"
#include "puzzles/sudoku.hpp"

namespace trm::fuzz {

// A broken invariant on an accepted input: a bug, reported by the fuzzer as a crash.
struct FuzzInvariant : std::logic_error {
    using std::logic_error::logic_error;
};

inline void require(bool ok, const std::string& what) {
    if (!ok) throw FuzzInvariant(what);
}

// The scratch directory of this process (created on first use, removed at exit). libFuzzer often leaves with
// _Exit (crash, merge, -runs), skipping the removal: directories of processes that are gone are removed on start.
class Scratch {
public:
    static const std::filesystem::path& dir() {
        static Scratch s;
        return s.dir_;
    }
    static void write(const std::filesystem::path& p, const uint8_t* data, size_t size) {
        std::FILE* f = std::fopen(p.c_str(), "wb");
        if (!f) throw std::runtime_error("fuzz scratch: cannot write " + p.string());
        if (size) std::fwrite(data, 1, size, f);
        std::fclose(f);
    }
    static void write(const std::filesystem::path& p, std::string_view s) {
        write(p, reinterpret_cast<const uint8_t*>(s.data()), s.size());
    }

private:
    Scratch() {
        std::filesystem::path base = std::filesystem::exists("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                                         : std::filesystem::temp_directory_path();
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(base, ec)) {
            const std::string name = e.path().filename().string();
            if (name.rfind("trm-fuzz-", 0) == 0 && !std::filesystem::exists("/proc/" + name.substr(9), ec))
                std::filesystem::remove_all(e.path(), ec);
        }
        dir_ = base / ("trm-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
    }
    ~Scratch() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    std::filesystem::path dir_;
};

// The bytes before the first '\0' and those after it (empty, has_second false when there is no '\0').
struct Split {
    std::string_view first, second;
    bool has_second = false;
};
inline Split split_at_nul(const uint8_t* data, size_t size) {
    std::string_view all(reinterpret_cast<const char*>(data), size);
    size_t z = all.find('\0');
    if (z == std::string_view::npos) return {all, {}, false};
    return {all.substr(0, z), all.substr(z + 1), true};
}

// ---- sudoku_text --------------------------------------------------------------------------------------------
inline bool sudoku_text(const uint8_t* data, size_t size) {
    std::vector<SudokuPuzzle> ps;
    try {
        ps = parse_sudoku_text(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.txt");
    } catch (const Error&) {
        return false;
    }
    require(!ps.empty(), "sudoku: parse returned no puzzle without an error");
    for (const SudokuPuzzle& p : ps) {
        for (uint8_t c : p.cells) require(c <= 9, "sudoku: parsed cell outside 0..9");
        require(sudoku_given_clash(p.cells).empty(), "sudoku: parsed givens clash: " + sudoku_given_clash(p.cells));
        // written as one line, the puzzle reads back to the same cells
        std::vector<SudokuPuzzle> back;
        try {
            back = parse_sudoku_text(sudoku_to_line(p.cells), "roundtrip.txt");
        } catch (const Error& e) {
            throw FuzzInvariant(std::string("sudoku: written puzzle refused on re-read: ") + e.what());
        }
        require(back.size() == 1 && back[0].cells == p.cells, "sudoku: line round trip changed the cells");
        require(sudoku_decode(sudoku_encode_inputs(p)) == p.cells, "sudoku: token round trip changed the cells");
        if (p.solution) {
            SudokuVerdict v = verify_sudoku(p, *p.solution);
            require(v.solved, "sudoku: accepted CSV answer does not solve the puzzle: " + v.summary());
            (void)sudoku_encode_labels(p);
        }
    }
    return true;
}

// ---- maze_text ----------------------------------------------------------------------------------------------
inline void check_maze(const Maze& m) {
    require(m.rows > 0 && m.cols > 0 && m.cells.size() == size_t(m.rows) * size_t(m.cols), "maze: bad dimensions");
    int s = 0, g = 0;
    for (char c : m.cells) {
        require(c == '#' || c == ' ' || c == 'S' || c == 'G', std::string("maze: parsed cell '") + c + "'");
        s += c == 'S';
        g += c == 'G';
    }
    require(s == 1 && g == 1, "maze: parsed maze without exactly one S and one G");
    require(m.answer.empty() || m.answer.size() == m.cells.size(), "maze: answer size differs from the maze");
    // written as text ('.' for open cells), the maze reads back to the same cells
    std::vector<Maze> back;
    try {
        back = parse_mazes(maze_to_text(m, false, '.'), "roundtrip.txt", MazeFormat::Text);
    } catch (const Error& e) {
        throw FuzzInvariant(std::string("maze: written maze refused on re-read: ") + e.what());
    }
    require(back.size() == 1 && back[0].rows == m.rows && back[0].cols == m.cols && back[0].cells == m.cells,
            "maze: text round trip changed the maze");
    if (!m.answer.empty()) (void)verify_maze(m, m.answer);
    std::vector<char> solved = maze_solve(m);
    if (!solved.empty()) {
        MazeCheck c = verify_maze(m, solved);
        require(c.verdict == MazeVerdict::Optimal, "maze: BFS answer not judged optimal: " + describe(c));
    }
    if (m.cells.size() <= 4096) {
        std::vector<int32_t> t = encode_maze(m, m.rows, m.cols);
        require(t.size() == m.cells.size(), "maze: encoding has the wrong length");
        for (int tid = 0; tid < kDihedralCount; tid++) {
            Maze back2 = transform_maze(transform_maze(m, tid), kDihedralInverse[tid]);
            require(back2.cells == m.cells && back2.answer == m.answer, "maze: dihedral transform not inverted");
        }
    }
}

inline bool maze_text(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    bool accepted = false;
    for (MazeFormat f : {MazeFormat::Auto, MazeFormat::Text, MazeFormat::Csv}) {
        std::vector<Maze> ms;
        try {
            ms = parse_mazes(text, "fuzz.txt", f);
        } catch (const Error&) {
            continue;
        }
        for (const Maze& m : ms) check_maze(m);
        accepted = true;
    }
    return accepted;
}

// ---- arc_json -----------------------------------------------------------------------------------------------
inline void check_arc_grid(const ArcGrid& g) {
    require(g.rows >= 1 && g.rows <= kArcMaxGridSize && g.cols >= 1 && g.cols <= kArcMaxGridSize &&
                g.cells.size() == size_t(g.rows) * size_t(g.cols),
            "arc: parsed grid with bad dimensions");
    for (uint8_t c : g.cells) require(c <= 9, "arc: parsed colour outside 0..9");
    std::vector<int32_t> t = encode_arc_grid(g);
    require(decode_arc_grid(t.data()) == g, "arc: encode/decode round trip changed the grid");
    for (int tid = 0; tid < kDihedralCount; tid++)
        require(arc_dihedral(arc_dihedral(g, tid), arc_dihedral_inverse(tid)) == g, "arc: dihedral not inverted");
}

inline bool arc_json(const uint8_t* data, size_t size) {
    Split in = split_at_nul(data, size);
    std::vector<ArcTask> tasks;
    try {
        tasks = parse_arc_tasks(in.first, "fuzz.json");
        if (in.has_second) apply_arc_solutions(tasks, in.second, "fuzz_solutions.json");
    } catch (const Error&) {
        return false;
    }
    for (const ArcTask& t : tasks) {
        require(!t.train.empty() && !t.test.empty(), "arc: parsed task without train or test pairs");
        for (const auto* pairs : {&t.train, &t.test})
            for (const ArcPair& p : *pairs) {
                check_arc_grid(p.input);
                if (p.output) check_arc_grid(*p.output);
            }
        for (const ArcPair& p : t.train) require(p.output.has_value(), "arc: train pair without output");
    }
    return true;
}

// ---- safetensors --------------------------------------------------------------------------------------------
// Every tensor a parser accepted holds exactly the bytes its shape and dtype need (`who` names the parser).
inline void require_consistent_tensors(const TensorFile& f, const std::string& who) {
    for (auto& [name, t] : f.tensors) {
        uint64_t numel = 1;
        for (int64_t d : t.shape) {
            require(d >= 0, who + ": accepted a negative dimension");
            numel *= uint64_t(d);
        }
        require(t.bytes.size() == numel * dtype_size(t.dtype),
                who + ": accepted tensor '" + name + "' whose bytes do not match its shape");
    }
}

inline bool safetensors(const uint8_t* data, size_t size) {
    TensorFile f;
    try {
        f = parse_safetensors(data, size, "fuzz.safetensors");
    } catch (const Error&) {
        return false;
    }
    require_consistent_tensors(f, "safetensors");
    // no filter on the size the config claims: load_model checks every tensor against the layout before it
    // allocates the arena (finding F1 of issue 9, fixed), so a tiny file claiming a huge model is refused cheaply
    const auto path = Scratch::dir() / "model.safetensors";
    Scratch::write(path, data, size);
    try {
        Model m = load_model(path.string());
        require(m.arena.size() == m.layout.total, "safetensors: loaded model arena has the wrong size");
        return true;
    } catch (const Error&) {
        return false;
    }
}

// ---- torch_checkpoint ---------------------------------------------------------------------------------------
// The official configuration the fuzzed checkpoints are loaded against (a tiny attention model; its weights
// are fuzz/corpus/torch_checkpoint/seed_tiny_model.pt, written by fuzz/make_seeds.py).
constexpr std::string_view kFuzzAllConfig =
    "arch:\n"
    "  name: recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1\n"
    "  hidden_size: 8\n  num_heads: 2\n  expansion: 1\n  L_layers: 1\n  H_layers: 0\n"
    "  H_cycles: 1\n  L_cycles: 1\n  halt_max_steps: 2\n  halt_exploration_prob: 0.1\n"
    "  puzzle_emb_ndim: 8\n  puzzle_emb_len: 1\n  mlp_t: false\n  pos_encodings: learned\n"
    "  rms_norm_eps: 1.0e-05\n  rope_theta: 10000.0\n  no_ACT_continue: true\n  forward_dtype: float32\n";
constexpr std::string_view kFuzzDatasetJson = R"({"seq_len": 4, "vocab_size": 3, "num_puzzle_identifiers": 2})";

inline bool torch_checkpoint(const uint8_t* data, size_t size) {
    TensorFile f;
    try {
        f = parse_torch_checkpoint(data, size, "fuzz.pt");
    } catch (const Error&) {
        return false;
    }
    require_consistent_tensors(f, "torch");
    static const bool configured = [] {
        Scratch::write(Scratch::dir() / "all_config.yaml", kFuzzAllConfig);
        Scratch::write(Scratch::dir() / "dataset.json", kFuzzDatasetJson);
        return true;
    }();
    (void)configured;
    const auto path = Scratch::dir() / "step_1";
    Scratch::write(path, data, size);
    try {
        Model m = load_model(path.string());
        require(m.arena.size() == m.layout.total, "torch: loaded model arena has the wrong size");
        return true;
    } catch (const Error&) {
        return false;
    }
}

// ---- torch_pickle -------------------------------------------------------------------------------------------
// Mutating a zip mostly breaks its CRC-32s, so torch_checkpoint rarely reaches the pickle interpreter. Here the
// input is the data.pkl record alone; it is zipped with the storages of the tiny model of kFuzzAllConfig
// (float32, keys "0".."11" in fuzz/make_seeds.py TINY_TENSORS order, values ((7i + 3k) % 17 - 8) / 64).

inline uint32_t crc32(const uint8_t* p, size_t n) {
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

using ZipRecords = std::vector<std::pair<std::string, std::vector<uint8_t>>>;

// A zip of stored (uncompressed) records, laid out as Python's zipfile writes them (dates 1980-01-01):
//   [local header + name + data] ... [central directory entry + name] ... [end of central directory]
inline std::vector<uint8_t> zip_stored(const ZipRecords& records) {
    std::vector<uint8_t> out, cd;
    auto u16 = [](std::vector<uint8_t>& v, uint32_t x) { v.push_back(uint8_t(x)); v.push_back(uint8_t(x >> 8)); };
    auto u32 = [&](std::vector<uint8_t>& v, uint32_t x) { u16(v, x & 0xFFFF); u16(v, x >> 16); };
    for (const auto& [name, data] : records) {
        const uint32_t crc = crc32(data.data(), data.size()), offset = uint32_t(out.size()), n = uint32_t(data.size());
        u32(out, 0x04034b50); u16(out, 20); u16(out, 0); u16(out, 0); u16(out, 0); u16(out, 0x21);
        u32(out, crc); u32(out, n); u32(out, n); u16(out, uint32_t(name.size())); u16(out, 0);
        out.insert(out.end(), name.begin(), name.end());
        out.insert(out.end(), data.begin(), data.end());
        u32(cd, 0x02014b50); u16(cd, 20); u16(cd, 20); u16(cd, 0); u16(cd, 0); u16(cd, 0); u16(cd, 0x21);
        u32(cd, crc); u32(cd, n); u32(cd, n); u16(cd, uint32_t(name.size())); u16(cd, 0); u16(cd, 0);
        u16(cd, 0); u16(cd, 0); u32(cd, 0); u32(cd, offset);
        cd.insert(cd.end(), name.begin(), name.end());
    }
    const uint32_t cd_offset = uint32_t(out.size()), cd_size = uint32_t(cd.size());
    out.insert(out.end(), cd.begin(), cd.end());
    u32(out, 0x06054b50); u16(out, 0); u16(out, 0); u16(out, uint32_t(records.size()));
    u16(out, uint32_t(records.size())); u32(out, cd_size); u32(out, cd_offset); u16(out, 0);
    return out;
}

// "step_1/data/<k>" records of the tiny model, float32.
inline const ZipRecords& tiny_model_storages() {
    static const ZipRecords recs = [] {
        constexpr int kNumel[12] = {8, 8, 24, 24, 16, 2, 16, 40, 192, 64, 4096, 2048};
        ZipRecords r;
        for (int k = 0; k < 12; k++) {
            std::vector<uint8_t> bytes(4 * static_cast<size_t>(kNumel[k]));
            for (int i = 0; i < kNumel[k]; i++) {
                const float v = float((i * 7 + k * 3) % 17 - 8) / 64.0f;
                std::memcpy(bytes.data() + 4 * size_t(i), &v, 4);
            }
            r.emplace_back("step_1/data/" + std::to_string(k), std::move(bytes));
        }
        return r;
    }();
    return recs;
}

inline bool torch_pickle(const uint8_t* data, size_t size) {
    ZipRecords recs{{"step_1/data.pkl", std::vector<uint8_t>(data, data + size)}};
    recs.insert(recs.end(), tiny_model_storages().begin(), tiny_model_storages().end());
    recs.emplace_back("step_1/version", std::vector<uint8_t>{'3', '\n'});
    const std::vector<uint8_t> zip = zip_stored(recs);
    return torch_checkpoint(zip.data(), zip.size());
}

// ---- official_config ----------------------------------------------------------------------------------------
inline bool official_config(const uint8_t* data, size_t size) {
    Split in = split_at_nul(data, size);
    const auto yaml = Scratch::dir() / "cfg_all_config.yaml";
    const auto ds = Scratch::dir() / "cfg_dataset.json";
    Scratch::write(yaml, in.first);
    if (in.has_second) Scratch::write(ds, in.second);
    try {
        Config c = config_from_official(yaml.string(), in.has_second ? ds.string() : std::string());
        if (c.seq_len < 0) c.seq_len = 81;
        if (c.vocab_size < 0) c.vocab_size = 11;
        if (c.num_puzzle_identifiers < 0) c.num_puzzle_identifiers = 1;
        c.validate();
        Layout l(c);
        require(l.total > 0, "config: validated config has an empty layout");
        return true;
    } catch (const Error&) {
        return false;
    }
}

// ---- registry -----------------------------------------------------------------------------------------------
struct Target {
    const char* name;  // corpus folder fuzz/corpus/<name>/ and harness fuzz/<name>.cpp
    bool (*run)(const uint8_t* data, size_t size);  // true: accepted (and loaded)
};
inline constexpr std::array<Target, 7> kTargets{{
    {"sudoku_text", sudoku_text},
    {"maze_text", maze_text},
    {"arc_json", arc_json},
    {"safetensors", safetensors},
    {"torch_checkpoint", torch_checkpoint},
    {"torch_pickle", torch_pickle},
    {"official_config", official_config},
}};

}  // namespace trm::fuzz
