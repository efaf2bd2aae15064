#include "puzzles/arc.hpp"
#include "puzzles/grid_transform.hpp"

#include <algorithm>
#include <unordered_set>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/file_io.hpp"

namespace trm {
namespace {

using Json = nlohmann::ordered_json;  // keeps the file's task order

// Deepest nesting a valid file needs is 6 (combined object > task > "train" > pair > grid > row). Refusing
// deeper text before building the DOM bounds memory on hostile input like 60 MB of '['.
constexpr int kMaxJsonDepth = 32;

void check_json_depth(std::string_view text, const std::string& source) {
    int depth = 0, line = 1;
    bool in_string = false, escaped = false;
    for (char ch : text) {
        if (ch == '\n') line++;
        if (in_string) {
            if (escaped) escaped = false;
            else if (ch == '\\') escaped = true;
            else if (ch == '"') in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '[' || ch == '{') {
            if (++depth > kMaxJsonDepth) fail("{}:{}: JSON nested deeper than {} levels", source, line, kMaxJsonDepth);
        } else if (ch == ']' || ch == '}') {
            depth--;
        }
    }
}

Json parse_json(std::string_view text, const std::string& source) {
    check_json_depth(text, source);
    try {
        return Json::parse(text.begin(), text.end());
    } catch (const Json::parse_error& e) {
        // e.byte is 1-based; report line:column like a compiler.
        size_t end = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
        int line = 1, col = 1;
        for (size_t i = 0; i < end; i++) {
            if (text[i] == '\n') { line++; col = 1; } else col++;
        }
        std::string why = e.what();
        size_t p = why.find("column ");
        if (p != std::string::npos && (p = why.find(": ", p)) != std::string::npos) why = why.substr(p + 2);
        fail("{}:{}:{}: invalid JSON: {}", source, line, col, why);
    } catch (const Json::exception& e) {  // e.g. out_of_range 406: a number too large for a double (found by fuzzing)
        fail("{}: invalid JSON: {}", source, e.what());
    }
}

std::string describe_value(const Json& v) {
    if (v.is_primitive()) return v.dump();
    return v.is_array() ? "a list" : "an object";
}

// `where` is e.g. "tasks.json: task 007bbfb7: train pair 2: input".
ArcGrid parse_grid(const Json& j, const std::string& where) {
    if (!j.is_array()) fail("{} is not a list of rows", where);
    if (j.empty() || j.size() > size_t(kArcMaxGridSize))
        fail("{} has {} rows, expected 1..{}", where, j.size(), kArcMaxGridSize);
    ArcGrid g;
    g.rows = int(j.size());
    for (int r = 0; r < g.rows; r++) {
        const Json& row = j[size_t(r)];
        if (!row.is_array()) fail("{} row {} is not a list of numbers", where, r);
        if (r == 0) {
            if (row.empty() || row.size() > size_t(kArcMaxGridSize))
                fail("{} row 0 has {} cells, expected 1..{}", where, row.size(), kArcMaxGridSize);
            g.cols = int(row.size());
            g.cells.reserve(size_t(g.rows) * size_t(g.cols));
        } else if (row.size() != size_t(g.cols)) {
            fail("{} row {} has {} cells, expected {}", where, r, row.size(), g.cols);
        }
        for (int c = 0; c < g.cols; c++) {
            const Json& v = row[size_t(c)];
            bool ok = v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= 9;
            if (!ok) fail("{} row {} cell {} is {}, expected a colour 0..9", where, r, c, describe_value(v));
            g.cells.push_back(uint8_t(v.get<int64_t>()));
        }
    }
    return g;
}

std::vector<ArcPair> parse_pairs(const Json& task, const char* kind, bool need_output, const std::string& prefix) {
    auto it = task.find(kind);
    if (it == task.end()) fail("{}: missing \"{}\"", prefix, kind);
    if (!it->is_array()) fail("{}: \"{}\" is not a list", prefix, kind);
    if (it->empty()) fail("{}: \"{}\" is empty", prefix, kind);
    std::vector<ArcPair> pairs;
    for (size_t i = 0; i < it->size(); i++) {
        const Json& p = (*it)[i];
        std::string where = fmt::format("{}: {} pair {}", prefix, kind, i);
        if (!p.is_object()) fail("{}: expected an object with \"input\" and \"output\"", where);
        auto in = p.find("input");
        if (in == p.end()) fail("{}: missing \"input\"", where);
        auto out = p.find("output");
        bool has_out = out != p.end() && !out->is_null();
        if (need_output && !has_out) fail("{}: missing \"output\"", where);
        ArcPair pair;
        pair.input = parse_grid(*in, where + ": input");
        if (has_out) pair.output = parse_grid(*out, where + ": output");
        pairs.push_back(std::move(pair));
    }
    return pairs;
}

ArcTask parse_task(const Json& j, const std::string& id, const std::string& source) {
    std::string prefix = fmt::format("{}: task {}", source, id);
    if (!j.is_object()) fail("{}: expected an object with \"train\" and \"test\"", prefix);
    ArcTask t;
    t.id = id;
    t.train = parse_pairs(j, "train", true, prefix);
    t.test = parse_pairs(j, "test", false, prefix);
    return t;
}

std::string file_stem(const std::string& path) {
    size_t slash = path.find_last_of('/');
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    size_t dot = name.find_last_of('.');
    return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

// Dihedral transform in the official numbering (puzzles/grid_transform.hpp).
ArcGrid dihedral(const ArcGrid& g, int t) {
    ArcGrid o;
    dihedral_shape(t, g.rows, g.cols, &o.rows, &o.cols);
    o.cells = dihedral_transform(g.cells, g.rows, g.cols, t);
    return o;
}

ArcGrid recolour(const ArcGrid& g, const std::array<uint8_t, 10>& mapping) {
    ArcGrid o = g;
    for (auto& v : o.cells) v = mapping[v];
    return o;
}

// Equal for tasks with the same multiset of (input, output) pairs, like the official puzzle_hash.
// Grid keys are prefix-free (they start with the shape), so plain concatenation is unambiguous.
std::string task_key(const ArcTask& t) {
    std::vector<std::string> keys;
    for (const auto* set : {&t.train, &t.test}) {
        for (const auto& p : *set) {
            std::string k = arc_grid_key(p.input);
            k += p.output ? '\1' + arc_grid_key(*p.output) : std::string(1, '\0');
            keys.push_back(std::move(k));
        }
    }
    std::sort(keys.begin(), keys.end());
    std::string all;
    for (auto& k : keys) all += k;
    return all;
}

}  // namespace

// ---- Files ------------------------------------------------------------------------------------------------

std::vector<ArcTask> parse_arc_tasks(std::string_view text, const std::string& source, const std::string& task_id) {
    Json doc = parse_json(text, source);
    if (!doc.is_object()) fail("{}: expected a JSON object (one task, or task id -> task)", source);
    std::vector<ArcTask> tasks;
    if (doc.contains("train")) {  // one task: named by task_id, else by the file name
        tasks.push_back(parse_task(doc, task_id.empty() ? file_stem(source) : task_id, source));
        return tasks;
    }
    if (doc.empty()) fail("{}: no tasks", source);
    if (!task_id.empty()) {
        auto it = doc.find(task_id);
        if (it == doc.end()) fail("{}: no task '{}' among its {} tasks", source, task_id, doc.size());
        tasks.push_back(parse_task(*it, task_id, source));
        return tasks;
    }
    for (auto it = doc.begin(); it != doc.end(); ++it) tasks.push_back(parse_task(it.value(), it.key(), source));
    return tasks;
}

void apply_arc_solutions(std::vector<ArcTask>& tasks, std::string_view text, const std::string& source) {
    Json doc = parse_json(text, source);
    if (!doc.is_object()) fail("{}: expected a JSON object (task id -> list of output grids)", source);
    for (auto& t : tasks) {
        auto it = doc.find(t.id);
        if (it == doc.end()) fail("{}: no solutions for task {}", source, t.id);
        if (!it->is_array()) fail("{}: task {}: expected a list of output grids", source, t.id);
        if (it->size() != t.test.size())
            fail("{}: task {}: {} solutions for {} test inputs", source, t.id, it->size(), t.test.size());
        for (size_t i = 0; i < t.test.size(); i++)
            t.test[i].output = parse_grid((*it)[i], fmt::format("{}: task {}: solution {}", source, t.id, i));
    }
}

std::vector<ArcTask> load_arc_tasks(const std::string& path, const ArcLoadOptions& opt) {
    std::vector<ArcTask> tasks = parse_arc_tasks(read_file_text(path, opt.max_bytes), path, opt.task_id);
    if (!opt.solutions_path.empty())
        apply_arc_solutions(tasks, read_file_text(opt.solutions_path, opt.max_bytes), opt.solutions_path);
    return tasks;
}

bool arc_task_fits(const ArcTask& t, int max_side) {
    auto fits = [&](const ArcGrid& g) { return g.rows <= max_side && g.cols <= max_side; };
    for (const auto* set : {&t.train, &t.test})
        for (const auto& p : *set)
            if (!fits(p.input) || (p.output && !fits(*p.output))) return false;
    return true;
}

// ---- Encoding ---------------------------------------------------------------------------------------------

void encode_arc_grid(const ArcGrid& g, int canvas, int off_r, int off_c, int32_t* out) {
    if (canvas < 1 || canvas > kArcMaxGridSize) fail("ARC canvas side {} is outside 1..{}", canvas, kArcMaxGridSize);
    if (off_r < 0 || off_c < 0 || off_r + g.rows > canvas || off_c + g.cols > canvas)
        fail("ARC grid {}x{} does not fit a {}x{} canvas at offset ({}, {})", g.rows, g.cols, canvas, canvas, off_r,
             off_c);
    std::fill(out, out + size_t(canvas) * size_t(canvas), kArcPadToken);
    for (int r = 0; r < g.rows; r++)
        for (int c = 0; c < g.cols; c++)
            out[size_t(off_r + r) * size_t(canvas) + size_t(off_c + c)] = kArcColourBase + g.at(r, c);
    // official: grid[eos_row, pad_c:eos_col] = 1 and grid[pad_r:eos_row, eos_col] = 1, each if inside
    int eos_r = off_r + g.rows, eos_c = off_c + g.cols;
    if (eos_r < canvas)
        for (int c = off_c; c < eos_c; c++) out[size_t(eos_r) * size_t(canvas) + size_t(c)] = kArcEosToken;
    if (eos_c < canvas)
        for (int r = off_r; r < eos_r; r++) out[size_t(r) * size_t(canvas) + size_t(eos_c)] = kArcEosToken;
}

std::vector<int32_t> encode_arc_grid(const ArcGrid& g, int canvas) {
    int side = std::clamp(canvas, 0, kArcMaxGridSize);
    std::vector<int32_t> out(size_t(side) * size_t(side));
    encode_arc_grid(g, canvas, 0, 0, out.data());
    return out;
}

ArcGrid decode_arc_grid(const int32_t* tokens, int canvas) {
    if (canvas < 1 || canvas > kArcMaxGridSize) fail("ARC canvas side {} is outside 1..{}", canvas, kArcMaxGridSize);
    auto is_colour = [](int32_t x) { return x >= kArcColourBase && x <= kArcColourBase + 9; };
    // mirrors evaluators/arc.py _crop: num_c shrinks at the first non-colour cell of each new row
    int max_area = 0, max_r = 0, max_c = 0, num_c = canvas;
    for (int num_r = 1; num_r <= canvas; num_r++) {
        for (int c = 1; c <= num_c; c++) {
            if (!is_colour(tokens[size_t(num_r - 1) * size_t(canvas) + size_t(c - 1)])) {
                num_c = c - 1;
                break;
            }
        }
        if (num_r * num_c > max_area) { max_area = num_r * num_c; max_r = num_r; max_c = num_c; }
    }
    ArcGrid g;
    g.rows = max_r;
    g.cols = max_c;
    g.cells.reserve(size_t(max_area));
    for (int r = 0; r < max_r; r++)
        for (int c = 0; c < max_c; c++) g.cells.push_back(uint8_t(tokens[size_t(r) * size_t(canvas) + size_t(c)] - kArcColourBase));
    return g;
}

std::pair<int, int> random_arc_offset(const ArcGrid& a, const ArcGrid& b, int canvas, Rng& rng) {
    int free_r = canvas - std::max(a.rows, b.rows), free_c = canvas - std::max(a.cols, b.cols);
    if (free_r < 0 || free_c < 0)
        fail("ARC pair {}x{} -> {}x{} does not fit a {}x{} canvas", a.rows, a.cols, b.rows, b.cols, canvas, canvas);
    int r0 = rng.range(0, free_r);
    int c0 = rng.range(0, free_c);
    return {r0, c0};
}

// ---- Dihedral and augmentation ----------------------------------------------------------------------------

ArcGrid arc_dihedral(const ArcGrid& g, int t) {
    if (t < 0 || t > 7) fail("dihedral transform id {} is outside 0..7", t);
    return dihedral(g, t);
}

int arc_dihedral_inverse(int t) {
    if (t < 0 || t > 7) fail("dihedral transform id {} is outside 0..7", t);
    return kDihedralInverse[t];
}

bool ArcAug::is_identity() const { return *this == ArcAug{}; }

ArcGrid arc_augment(const ArcGrid& g, const ArcAug& a) { return arc_dihedral(recolour(g, a.mapping), a.trans); }

ArcGrid arc_unaugment(const ArcGrid& g, const ArcAug& a) {
    std::array<uint8_t, 10> inv{};  // official: inv_perm = np.argsort(mapping)
    for (int i = 0; i < 10; i++) inv[a.mapping[size_t(i)] % 10] = uint8_t(i);
    return recolour(arc_dihedral(g, arc_dihedral_inverse(a.trans)), inv);
}

ArcTask arc_augment(const ArcTask& t, const ArcAug& a) {
    ArcTask o;
    o.id = arc_aug_name(t.id, a);
    for (auto [src, dst] : {std::pair{&t.train, &o.train}, std::pair{&t.test, &o.test}}) {
        for (const auto& p : *src) {
            ArcPair q;
            q.input = arc_augment(p.input, a);
            if (p.output) q.output = arc_augment(*p.output, a);
            dst->push_back(std::move(q));
        }
    }
    return o;
}

std::string arc_aug_name(const std::string& task_id, const ArcAug& a) {
    if (a.is_identity()) return task_id;
    std::string digits;
    for (uint8_t m : a.mapping) digits += char('0' + m);
    return fmt::format("{}{}t{}{}{}", task_id, kArcIdSeparator, a.trans, kArcIdSeparator, digits);
}

std::pair<std::string, ArcAug> parse_arc_aug_name(std::string_view name) {
    const std::string_view sep = kArcIdSeparator;
    size_t p1 = name.find(sep);
    if (p1 == std::string_view::npos) return {std::string(name), ArcAug{}};
    auto bad = [&](const char* why) -> std::pair<std::string, ArcAug> {
        fail("bad ARC puzzle identifier '{}': {} (expected <task id>|||t<0-7>|||<10 digits>)", name, why);
    };
    size_t p2 = name.find(sep, p1 + sep.size());
    if (p2 == std::string_view::npos || name.find(sep, p2 + sep.size()) != std::string_view::npos)
        return bad("not three parts");
    std::string_view id = name.substr(0, p1), t = name.substr(p1 + sep.size(), p2 - p1 - sep.size()),
                     m = name.substr(p2 + sep.size());
    if (id.empty()) return bad("empty task id");
    if (t.size() != 2 || t[0] != 't' || t[1] < '0' || t[1] > '7') return bad("transform is not t0..t7");
    if (m.size() != 10) return bad("colour mapping is not 10 digits");
    ArcAug a;
    a.trans = t[1] - '0';
    bool seen[10] = {};
    for (size_t i = 0; i < 10; i++) {
        if (m[i] < '0' || m[i] > '9' || seen[m[i] - '0']) return bad("colour mapping is not a permutation of 0..9");
        seen[m[i] - '0'] = true;
        a.mapping[i] = uint8_t(m[i] - '0');
    }
    return {std::string(id), a};
}

ArcTask without_test_outputs(const ArcTask& t) {
    ArcTask b = t;
    for (auto& p : b.test) p.output.reset();
    return b;
}

std::vector<ArcAug> choose_arc_augmentations(const ArcTask& t, int count, Rng& rng) {
    constexpr int kRetriesFactor = 5;  // official ARCAugmentRetriesFactor
    std::vector<ArcAug> kept{ArcAug{}};
    if (count <= 0) return kept;
    std::unordered_set<std::string> seen{task_key(t)};
    const int64_t trials = int64_t(kRetriesFactor) * count;
    for (int64_t trial = 0; trial < trials && int64_t(kept.size()) < int64_t(count) + 1; trial++) {
        ArcAug a;
        a.trans = int(rng.below(8));
        rng.shuffle(a.mapping.begin() + 1, a.mapping.end());
        if (!seen.insert(task_key(arc_augment(t, a))).second) continue;
        kept.push_back(a);
    }
    return kept;
}

// ---- Small helpers ----------------------------------------------------------------------------------------

ArcGrid make_arc_grid(const std::vector<std::vector<int>>& rows) {
    ArcGrid g;
    g.rows = int(rows.size());
    g.cols = rows.empty() ? 0 : int(rows[0].size());
    if (g.rows > 0 && g.cols == 0) fail("grid row 0 is empty");
    for (int r = 0; r < g.rows; r++) {
        if (int(rows[size_t(r)].size()) != g.cols)
            fail("grid row {} has {} cells, expected {}", r, rows[size_t(r)].size(), g.cols);
        for (int c = 0; c < g.cols; c++) {
            int v = rows[size_t(r)][size_t(c)];
            if (v < 0 || v > 9) fail("grid row {} cell {} is {}, expected a colour 0..9", r, c, v);
            g.cells.push_back(uint8_t(v));
        }
    }
    return g;
}

std::string arc_grid_key(const ArcGrid& g) {
    std::string k;
    k.reserve(2 + g.cells.size());
    k += char(uint8_t(g.rows));
    k += char(uint8_t(g.cols));
    k.append(g.cells.begin(), g.cells.end());
    return k;
}

std::string arc_grid_json(const ArcGrid& g) {
    std::string s = "[";
    for (int r = 0; r < g.rows; r++) {
        s += r ? ",[" : "[";
        for (int c = 0; c < g.cols; c++) {
            if (c) s += ',';
            s += char('0' + g.at(r, c));
        }
        s += ']';
    }
    return s + "]";
}

}  // namespace trm
