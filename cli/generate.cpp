// `trm generate sudoku|maze`: deterministic puzzle sets (same options and seed, same bytes) in the formats that
// `trm solve`, `trm eval` and `trm train --data` read.
#include <cstdio>
#include <fmt/core.h>
#include <unistd.h>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "datasets/maze_gen.hpp"
#include "datasets/sudoku_gen.hpp"

namespace trm::cli {

namespace {

// stdout, or a file opened for writing (closed and checked at the end).
class Output {
public:
    explicit Output(const std::string& path) : path_(path) {
        if (path.empty() || path == "-") { f_ = stdout; return; }
        f_ = std::fopen(path.c_str(), "wb");
        if (!f_) fail("{}: cannot open for writing", path);
    }
    ~Output() { if (f_ && f_ != stdout) std::fclose(f_); }
    void write(const std::string& s) {
        if (std::fwrite(s.data(), 1, s.size(), f_) != s.size()) fail("{}: write failed", name());
    }
    void close() {
        bool ok = std::fflush(f_) == 0;
        if (f_ != stdout) { ok = std::fclose(f_) == 0 && ok; f_ = nullptr; }
        if (!ok) fail("{}: write failed", name());
    }
    std::string name() const { return f_ == stdout ? "stdout" : path_; }
private:
    std::string path_;
    std::FILE* f_ = nullptr;
};

void progress(int done, int total) {
    static const bool tty = isatty(STDERR_FILENO);
    if (tty && total >= 100) fmt::print(stderr, "\rgenerated {}/{}{}", done, total, done == total ? "\n" : "");
}

struct SudokuGenCli {
    int count = 10;
    std::string difficulty = "easy", format = "lines", out;
    uint64_t seed = 0;
};

int run_generate_sudoku(const SudokuGenCli& o) {
    SudokuDifficulty d;
    if (!sudoku_difficulty_from_name(o.difficulty, &d)) fail("unknown difficulty '{}'", o.difficulty);
    Output out(o.out);
    if (o.format == "csv") out.write(std::string(kSudokuCsvHeader) + "\n");
    constexpr int kChunk = 64;  // bounded memory for any count
    for (int first = 0; first < o.count; first += kChunk) {
        const int n = std::min(kChunk, o.count - first);
        for (const auto& p : generate_sudoku(n, d, o.seed, uint64_t(first))) {
            if (o.format == "lines") out.write(sudoku_to_line(p.cells) + "\n");
            else if (o.format == "grid") out.write((p.line > 1 ? "\n" : "") + sudoku_to_grid_text(p.cells));
            else out.write(sudoku_to_csv_line(p) + "\n");
        }
        progress(first + n, o.count);
    }
    out.close();
    return kExitOk;
}

struct MazeGenCli {
    int count = 10, min_path = -1;
    int size = 9;  // the grid of the shipped models/maze-small.safetensors, the one `trm solve` picks for them
    double loops = 0.05;
    std::string format = "text", out;
    uint64_t seed = 0;
    bool answers = false;
};

int run_generate_maze(const MazeGenCli& o) {
    MazeGenOptions g;
    g.rows = g.cols = o.size;
    g.min_path = o.min_path >= 0 ? o.min_path : (o.size >= kMazeHardSize ? 110 : 0);
    g.loop_fraction = o.loops;
    Output out(o.out);
    if (o.format == "csv") out.write(maze_csv_header());
    for (int i = 0; i < o.count; i++) {
        Maze m = generate_maze(g, o.seed + uint64_t(i));
        if (o.format == "csv") {
            out.write(maze_to_csv_line(m, fmt::format("trm-{}x{}-{}", o.size, o.size, o.seed + uint64_t(i))));
        } else {
            out.write((i ? "\n" : "") + maze_to_text(m, o.answers, '.'));
        }
        if ((i + 1) % 10 == 0 || i + 1 == o.count) progress(i + 1, o.count);
    }
    out.close();
    return kExitOk;
}

}  // namespace

void register_generate(CLI::App& app) {
    auto* gen = app.add_subcommand("generate", "Generate puzzle sets (deterministic for a seed)");
    gen->require_subcommand(1);

    auto s = std::make_shared<SudokuGenCli>();
    auto* sub = gen->add_subcommand("sudoku", "Sudoku puzzles with unique solutions, graded by technique");
    sub->add_option("--count", s->count, "puzzles")->check(CLI::Range(1, 100000000))->capture_default_str();
    sub->add_option("--difficulty", s->difficulty, "easy | medium | hard | extreme")
        ->check(CLI::IsMember({"easy", "medium", "hard", "extreme"}))->capture_default_str();
    sub->add_option("--seed", s->seed, "seed: same seed, same puzzles")->capture_default_str();
    sub->add_option("--format", s->format, "lines (81 chars) | grid (9x9 text) | csv (with answers)")
        ->check(CLI::IsMember({"lines", "grid", "csv"}))->capture_default_str();
    sub->add_option("-o,--out", s->out, "write here instead of stdout");
    sub->footer("Example: trm generate sudoku --count 500 --difficulty medium --seed 7 --format csv -o medium.csv");
    set_action(sub, [s] { return run_generate_sudoku(*s); });

    auto m = std::make_shared<MazeGenCli>();
    auto* mz = gen->add_subcommand("maze", "Mazes with loops and a long shortest path (Maze-Hard style)");
    mz->add_option("--count", m->count, "mazes")->check(CLI::Range(1, 100000000))->capture_default_str();
    mz->add_option("--size", m->size, "rows = columns (9 fits models/maze-small.safetensors; Maze-Hard is 30)")
        ->check(CLI::Range(5, 1000))->capture_default_str();
    mz->add_option("--min-path", m->min_path, "shortest S-G path in cells, S and G included "
                                               "(default 110 for size 30 and up, else none)");
    mz->add_option("--loops", m->loops, "chance of opening each inner wall (several routes)")
        ->check(CLI::Range(0.0, 1.0))->capture_default_str();
    mz->add_option("--seed", m->seed, "seed: maze i uses seed + i")->capture_default_str();
    mz->add_option("--format", m->format, "text (grid, '.' open, blank line between) | csv (Maze-Hard, with answers)")
        ->check(CLI::IsMember({"text", "csv"}))->capture_default_str();
    mz->add_flag("--answers", m->answers, "text: draw the shortest path with 'o'");
    mz->add_option("-o,--out", m->out, "write here instead of stdout");
    mz->footer("Examples:\n"
               "  trm generate maze --count 100 --size 9 --min-path 13 --seed 1 --format csv -o mazes.csv\n"
               "  trm generate maze --count 2 --size 30 --min-path 110 --answers -o maze-hard.txt   "
               "Maze-Hard (for a 30x30 model)");
    set_action(mz, [m] { return run_generate_maze(*m); });
}

}  // namespace trm::cli
