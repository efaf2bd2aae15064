#include "datasets/sources.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/loss.hpp"
#include "datasets/split.hpp"
#include "puzzles/sudoku_solver.hpp"

namespace trm {

SudokuMix SudokuMix::parse(const std::string& s) {
    SudokuMix m;
    size_t i = 0;
    std::string text = s.empty() ? "easy" : s;
    while (i <= text.size()) {
        size_t j = text.find(',', i);
        if (j == std::string::npos) j = text.size();
        std::string part = text.substr(i, j - i);
        double w = 1.0;
        if (auto c = part.find(':'); c != std::string::npos) {
            char* end = nullptr;
            w = std::strtod(part.c_str() + c + 1, &end);
            if (!end || *end || !(w > 0)) fail("difficulty mix: bad weight in '{}' (expected NAME:WEIGHT, weight > 0)", part);
            part = part.substr(0, c);
        }
        SudokuDifficulty d;
        if (!sudoku_difficulty_from_name(part, &d)) fail("difficulty mix: unknown difficulty '{}' (easy, medium, hard, extreme)", part);
        m.parts.push_back({d, w});
        i = j + 1;
    }
    double total = 0;
    for (auto& p : m.parts) total += p.second;
    for (auto& p : m.parts) p.second /= total;
    return m;
}

SudokuDifficulty SudokuMix::pick(double u) const {
    for (auto& p : parts) {
        if (u < p.second) return p.first;
        u -= p.second;
    }
    return parts.back().first;
}

std::string SudokuMix::str() const {
    std::string s;
    for (auto& p : parts) s += fmt::format("{}{}:{:.2f}", s.empty() ? "" : ",", sudoku_difficulty_name(p.first), p.second);
    return s;
}

static void put_sudoku(const SudokuPuzzle& p, int32_t* tokens, int32_t* labels) {
    auto t = sudoku_encode(p.cells);
    auto l = sudoku_encode(*p.solution);
    std::memcpy(tokens, t.data(), t.size() * sizeof(int32_t));
    std::memcpy(labels, l.data(), l.size() * sizeof(int32_t));
}

void SudokuGenSource::example(uint64_t index, int32_t* tokens, int32_t* labels, int32_t* puzzle_id) {
    Rng rng(seed * 0x9e3779b97f4a7c15ull ^ (index + 1) * 0xbf58476d1ce4e5b9ull);
    SudokuDifficulty d = mix.pick(rng.uniform());
    if (curriculum_examples && index < curriculum_examples && rng.uniform() > double(index) / curriculum_examples)
        d = SudokuDifficulty::Easy;
    SudokuPuzzle p = generate_sudoku_one(d, rng);
    put_sudoku(p, tokens, labels);
    *puzzle_id = 0;
}

SudokuFileSource::SudokuFileSource(const std::string& path, uint64_t s) : puzzles(read_sudoku_file(path)), seed(s) {
    if (puzzles.empty()) fail("{}: no puzzles", path);
    for (auto& p : puzzles) {
        if (p.solution) continue;
        SudokuGrid sol;
        int n = solve_sudoku(p.cells, &sol, 2);
        if (n != 1) fail("{}: {} has {} solutions; training needs exactly one", path, p.where, n == 0 ? "no" : "several");
        p.solution = sol;
    }
}

void SudokuFileSource::example(uint64_t index, int32_t* tokens, int32_t* labels, int32_t* puzzle_id) {
    Rng rng(seed * 0x9e3779b97f4a7c15ull ^ (index + 1) * 0xbf58476d1ce4e5b9ull);
    SudokuPuzzle p = puzzles[index % puzzles.size()];
    shuffle_sudoku(p, rng);
    put_sudoku(p, tokens, labels);
    *puzzle_id = 0;
}

static uint64_t mix_seed(uint64_t seed, uint64_t index) {
    return seed * 0x9e3779b97f4a7c15ull ^ (index + 1) * 0xbf58476d1ce4e5b9ull;
}

MazeGenSource::MazeGenSource(int lo, int size, int min_path, double ratio, int g, uint64_t s)
    : min_size(lo), grid(g), min_path_ratio(ratio), seed(s) {
    gen.rows = gen.cols = size;
    gen.min_path = min_path;
    if (!(ratio > 0)) fail("maze minimum path ratio {} must be positive", ratio);
    if (size * ratio > maze_gen_max_path(size, size))
        fail("maze minimum path ratio {} asks {}x{} mazes for shortest paths of {:g} cells; they have at most {}", ratio,
             size, size, size * ratio, maze_gen_max_path(size, size));
    if (size > grid) fail("maze size {} is larger than the model grid {}", size, grid);
    if (lo < 5 || lo > size) fail("maze minimum size {} must lie in 5..{}", lo, size);
    if ((size - lo) % 2) fail("maze sizes {}..{} step by 2: give a minimum size of the same parity as {}", lo, size, size);
}

// One maze as a training example on the model's grid x grid canvas.
static void maze_example(const Maze& m, int grid, int32_t* tokens, int32_t* labels, int32_t* puzzle_id) {
    const auto t = encode_maze(m, grid, grid);
    const auto l = encode_maze_answer(m, grid, grid);
    std::memcpy(tokens, t.data(), t.size() * sizeof(int32_t));
    std::memcpy(labels, l.data(), l.size() * sizeof(int32_t));
    *puzzle_id = 0;
}

void MazeGenSource::example(uint64_t index, int32_t* tokens, int32_t* labels, int32_t* puzzle_id) {
    MazeGenOptions o = gen;
    if (min_size < gen.rows) {  // the size draw uses its own stream, so one-size runs keep their exact data
        Rng r(mix_seed(seed ^ 0x5bd1e995u, index));
        o.rows = o.cols = min_size + 2 * int(r.below(uint64_t((gen.rows - min_size) / 2 + 1)));
    }
    // the small epsilon keeps 110/30-style ratios from rounding down (30 x 3.6667 -> 110)
    if (o.min_path <= 0)
        o.min_path = std::min(maze_gen_max_path(o.rows, o.cols), int(std::floor(o.rows * min_path_ratio + 1e-6)));
    maze_example(generate_maze(o, mix_seed(seed, index)), grid, tokens, labels, puzzle_id);
}

MazeFileSource::MazeFileSource(const std::string& path, int g, uint64_t s) : mazes(read_mazes(path)), grid(g), seed(s) {
    if (mazes.empty()) fail("{}: no mazes", path);
    for (auto& m : mazes) {
        if (m.rows > grid || m.cols > grid) fail("{}: maze {}x{} does not fit the model grid {}", m.where, m.rows, m.cols, grid);
        if (m.answer.empty()) {
            m.answer = maze_solve(m);
            if (m.answer.empty()) fail("{}: maze has no path from S to G", m.where);
        }
    }
}

void MazeFileSource::example(uint64_t index, int32_t* tokens, int32_t* labels, int32_t* puzzle_id) {
    Rng rng(mix_seed(seed, index));
    maze_example(transform_maze(mazes[index % mazes.size()], int(rng.below(8))), grid, tokens, labels, puzzle_id);
}

ArcSource::ArcSource(const std::string& train_file, const std::string& eval_file, const std::string& eval_solutions,
                     int canvas, int num_aug, uint64_t s)
    : seed(s) {
    std::vector<ArcTask> train = load_arc_tasks(train_file);
    if (!eval_solutions.empty() && eval_file.empty()) fail("ARC evaluation solutions were given without the evaluation challenges they answer");
    ArcLoadOptions lo;
    lo.solutions_path = eval_solutions;
    std::vector<ArcTask> eval = eval_file.empty() ? std::vector<ArcTask>{} : load_arc_tasks(eval_file, lo);
    ArcBuildOptions o;
    o.num_aug = num_aug;
    o.seed = s;
    o.canvas = canvas;
    splits = build_arc_dataset(train, eval, o);
    if (splits.train.size() == 0) fail("{}: no ARC task fits a {}x{} canvas", train_file, canvas, canvas);
}

void ArcSource::example(uint64_t index, int32_t* tokens, int32_t* labels, int32_t* puzzle_id) {
    Rng rng(mix_seed(seed, index));
    const auto& d = splits.train;
    const size_t i = size_t(rng.below(d.size())), n = size_t(d.seq_len());
    std::memcpy(tokens, &d.inputs[i * n], n * sizeof(int32_t));
    for (size_t k = 0; k < n; k++) labels[k] = d.labels[i * n + k] == 0 ? kIgnoreLabel : d.labels[i * n + k];
    *puzzle_id = d.puzzle_ids[i];
}

EvalSet TrainingSource::held_out(int n, int seq_len, uint64_t seed) const {
    TRM_CHECK(twin);
    auto src = twin(kEvalSeedBase + seed);
    return make_eval_set(*src, n, seq_len, first_held_out);
}

EvalSet ArcSource::held_out(int n, int, uint64_t) const { return make_arc_eval_set(splits.test, n); }

// ---- one line per kind ----------------------------------------------------------------------------------------

namespace {

using Factory = std::function<std::unique_ptr<TrainingSource>(const TrainData& o, int grid, uint64_t seed)>;

// A source whose held-out set is its own twin under another seed; `first_held_out` skips a curriculum's ramp.
template <typename Make>
std::unique_ptr<TrainingSource> with_twin(Make make, uint64_t seed, uint64_t first_held_out, nlohmann::json provenance) {
    auto src = make(seed);
    src->twin = [make](uint64_t s) -> std::unique_ptr<DataSource> { return make(s); };
    src->first_held_out = first_held_out;
    src->provenance = std::move(provenance);
    return src;
}

std::unique_ptr<TrainingSource> sudoku_source(const TrainData& o, int, uint64_t seed) {
    if (!o.data_file.empty())
        return with_twin([f = o.data_file](uint64_t s) { return std::make_unique<SudokuFileSource>(f, s); }, seed,
                         uint64_t(1) << 40, nlohmann::json::object());
    return with_twin([m = SudokuMix::parse(o.mix), c = o.curriculum](uint64_t s) {
        return std::make_unique<SudokuGenSource>(m, s, c);
    }, seed, o.curriculum, {{"mix", o.mix}, {"curriculum", o.curriculum}});
}

std::unique_ptr<TrainingSource> maze_source(const TrainData& o, int grid, uint64_t seed) {
    if (!o.data_file.empty())
        return with_twin([f = o.data_file, grid](uint64_t s) { return std::make_unique<MazeFileSource>(f, grid, s); },
                         seed, uint64_t(1) << 40, nlohmann::json::object());
    const int size = o.maze_size > 0 ? o.maze_size : grid;
    const int lo = o.maze_min_size > 0 ? o.maze_min_size : size;
    const int min_path = std::max(0, o.maze_min_path);
    const double ratio = o.maze_min_path_ratio;
    nlohmann::json provenance = {{"maze_size", o.maze_size}, {"maze_min_size", o.maze_min_size},
                                 {"maze_min_path", o.maze_min_path}};
    // the default left out, so older runs' notes match
    if (ratio != TrainData{}.maze_min_path_ratio) provenance["maze_min_path_ratio"] = ratio;
    return with_twin([=](uint64_t s) { return std::make_unique<MazeGenSource>(lo, size, min_path, ratio, grid, s); },
                     seed, o.curriculum, std::move(provenance));
}

std::unique_ptr<TrainingSource> arc_source(const TrainData& o, int grid, uint64_t) {
    if (o.data_file.empty())
        throw Error("ARC training needs a challenges file to train on",
                    "pass --data CHALLENGES.json (and --arc-eval CHALLENGES.json)");
    // the augmentations are drawn from a fixed seed: a resumed run must rebuild the same puzzle identifiers
    auto src = std::make_unique<ArcSource>(o.data_file, o.arc_eval_file, o.arc_eval_solutions, grid, o.arc_num_aug, 42);
    src->provenance = {{"arc_eval_file", o.arc_eval_file}, {"arc_num_aug", o.arc_num_aug}};
    if (!o.arc_eval_solutions.empty()) src->provenance["arc_eval_solutions"] = o.arc_eval_solutions;
    return src;
}

const std::map<std::string, Factory>& factories() {
    static const std::map<std::string, Factory> kFactories{
        {"sudoku", sudoku_source},
        {"maze", maze_source},
        {"arc", arc_source},
    };
    return kFactories;
}

}  // namespace

std::unique_ptr<TrainingSource> make_training_source(const Domain& d, const TrainData& o, int grid, uint64_t seed) {
    auto it = factories().find(d.name());
    if (it == factories().end()) fail("no training data source for {} (datasets/sources.cpp)", d.kinds());
    return it->second(o, grid, seed);
}

EvalSet make_eval_set(DataSource& src, int n, int seq_len, uint64_t first_index) {
    EvalSet e;
    e.n = n; e.seq_len = seq_len;
    e.tokens.resize(size_t(n) * seq_len); e.labels.resize(e.tokens.size()); e.ids.resize(n);
    for (int i = 0; i < n; i++) src.example(first_index + i, &e.tokens[size_t(i) * seq_len], &e.labels[size_t(i) * seq_len], &e.ids[i]);
    return e;
}

EvalSet make_arc_eval_set(const ArcDataset& test, int n_max) {
    const size_t L = size_t(test.seq_len());
    std::vector<size_t> labelled;
    for (size_t i = 0; i < test.size(); i++)
        if (std::any_of(&test.labels[i * L], &test.labels[(i + 1) * L], [](int32_t l) { return l != 0; }))
            labelled.push_back(i);
    EvalSet e;
    e.n = std::min<int>(n_max, int(labelled.size()));
    e.seq_len = int(L);
    for (int k = 0; k < e.n; k++) {
        const size_t i = labelled[size_t(k) * labelled.size() / size_t(e.n)];
        e.tokens.insert(e.tokens.end(), &test.inputs[i * L], &test.inputs[(i + 1) * L]);
        e.labels.insert(e.labels.end(), &test.labels[i * L], &test.labels[(i + 1) * L]);
        e.ids.push_back(test.puzzle_ids[i]);
    }
    for (auto& l : e.labels) if (l == 0) l = kIgnoreLabel;
    return e;
}

}  // namespace trm
