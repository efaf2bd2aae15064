#include "puzzles/maze.hpp"
#include "puzzles/domain.hpp"
#include "puzzles/text_input.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/error.hpp"
#include "puzzles/grid_transform.hpp"

namespace trm {

namespace {

constexpr const char kCharset[] = "# SGo";  // token t (1..5) is kCharset[t - 1]

int32_t token_of(char c) {
    const char* p = std::strchr(kCharset, c);
    TRM_CHECK(c != '\0' && p != nullptr);
    return int32_t(p - kCharset) + 1;
}

// A byte as it should appear in a message: 'x' when printable, else 0xNN.
std::string char_repr(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return fmt::format("'{}'", c);
    return fmt::format("byte 0x{:02x}", unsigned(u));
}

std::string cell_name(int index, int cols) { return fmt::format("r{}c{}", index / cols + 1, index % cols + 1); }

bool is_blank(std::string_view s) {
    for (char c : s) if (c != ' ' && c != '\t') return false;
    return true;
}

// One grid being read: maps input characters to cells, tracks S and G. Positions for messages are the
// caller's (file, line, column).
struct GridBuilder {
    std::vector<char> cells, answer;  // answer: cells with the input's 'o' kept
    int s = -1, g = -1;
    bool has_path = false;
    bool dots = false;  // open cells drawn as '.'

    // Adds input char `c` as the next cell; `cols` is the grid width (for cell names).
    void add(char c, int cols, const std::string& name, long line, size_t column) {
        char cell = c, ans = c;
        switch (c) {
            case '#': case ' ': break;
            case '.': cell = ans = ' '; dots = true; break;
            case 'o': cell = ' '; has_path = true; break;
            case 'S': case 'G': {
                int& seen = c == 'S' ? s : g;
                if (seen >= 0)
                    fail("{}:{}:{}: second {} '{}' (the first is at {})", name, line, column,
                         c == 'S' ? "start" : "goal", c, cell_name(seen, cols));
                seen = int(cells.size());
                break;
            }
            default:
                fail("{}:{}:{}: unknown character {} (a maze uses '#', ' ' or '.', 'S', 'G', 'o')", name, line, column,
                     char_repr(c));
        }
        cells.push_back(cell);
        answer.push_back(ans);
    }

    // Checks S and G and moves the grid into `m`.
    void finish(Maze& m, int rows, int cols, const std::string& name, long line) {
        if (s < 0) fail("{}:{}: maze has no start 'S'", name, line);
        if (g < 0) fail("{}:{}: maze has no goal 'G'", name, line);
        m.rows = rows;
        m.cols = cols;
        m.cells = std::move(cells);
        m.answer.clear();
        if (has_path) m.answer = std::move(answer);
        m.open = dots ? '.' : ' ';
        m.where = fmt::format("{}:{}", name, line);
    }
};

}  // namespace

std::vector<std::string> maze_token_map() { return {"<pad>", "#", " ", "S", "G", "o"}; }

int maze_grid_side(int seq_len) {
    const int side = square_side(seq_len);
    if (side == 0) fail("sequence length {} is not a square maze grid", seq_len);
    return side;
}

int maze_start(const Maze& m) {
    for (size_t k = 0; k < m.cells.size(); k++) if (m.cells[k] == 'S') return int(k);
    fail("{}: maze has no start 'S'", m.where);
}

int maze_goal(const Maze& m) {
    for (size_t k = 0; k < m.cells.size(); k++) if (m.cells[k] == 'G') return int(k);
    fail("{}: maze has no goal 'G'", m.where);
}

// ---------------------------------------------------------------------------------------------------------
// Reading

MazeReader::MazeReader(const std::string& path, MazeFormat format) : name_(path), format_(format) {
    if (path == "-") {
        name_ = "<stdin>";
        in_ = &std::cin;
    } else {
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec)) fail("{}: is a directory, expected a maze file", path);
        auto f = std::make_unique<std::ifstream>(path, std::ios::binary);
        if (!f->is_open()) fail("{}: cannot open: {}", path, std::strerror(errno));
        in_ = f.get();
        owned_ = std::move(f);
    }
}

MazeReader::MazeReader(std::istream& in, std::string name, MazeFormat format)
    : in_(&in), name_(std::move(name)), format_(format) {}

MazeReader::~MazeReader() = default;

bool MazeReader::read_line() {
    if (pending_) { pending_ = false; return true; }
    return read_text_line(*in_, line_, line_no_, eof_, name_, kMazeMaxLineBytes);
}

void MazeReader::detect_format() {
    if (format_ != MazeFormat::Auto) return;
    format_ = MazeFormat::Text;
    while (read_line()) {
        if (line_.empty()) continue;  // lines of spaces may be maze rows: leave them to next_text
        if (line_.starts_with("source,question")) format_ = MazeFormat::Csv;
        pending_ = true;
        return;
    }
}

bool MazeReader::next(Maze& out) {
    detect_format();
    if (format_ == MazeFormat::Csv) return next_csv(out);
    try {
        return next_text(out);
    } catch (const Error&) {
        // a refused maze is dropped whole: the rest of its block goes too, so the next maze starts clean
        if (!pending_ && !eof_ && !is_blank(line_))
            while (read_line() && !is_blank(line_)) {}
        throw;
    }
}

bool MazeReader::next_text(Maze& out) {
    GridBuilder grid;
    int width = -1, rows = 0;
    long first_line = 0;
    // Lines of only spaces before a maze: its first rows when the next row has the same width, else separators.
    long open_rows = 0, open_width = 0, open_first = 0;
    auto add_row = [&](const std::string& row, long line_no) {
        if (size_t(rows + 1) * size_t(width) > kMazeMaxCells)
            fail("{}:{}: maze has more than {} cells", name_, first_line, kMazeMaxCells);
        for (size_t k = 0; k < row.size(); k++) grid.add(row[k], width, name_, line_no, k + 1);
        rows++;
    };
    while (read_line()) {
        bool in_maze = width >= 0;
        bool all_spaces = !line_.empty() && line_.find_first_not_of(' ') == std::string::npos;
        if (in_maze && all_spaces && int(line_.size()) == width) {
            add_row(line_, line_no_);
            continue;
        }
        if (is_blank(line_) || line_.starts_with(';') || line_.starts_with("//")) {
            if (in_maze) break;
            if (all_spaces && long(line_.size()) == open_width && open_rows * open_width < long(kMazeMaxCells)) {
                open_rows++;
            } else if (all_spaces) {
                open_rows = 1, open_width = long(line_.size()), open_first = line_no_;
            } else {
                open_rows = 0, open_width = 0;
            }
            continue;
        }
        if (!in_maze) {
            width = int(line_.size());
            first_line = line_no_;
            if (open_rows > 0 && open_width == width) {
                first_line = open_first;
                std::string open(size_t(width), ' ');
                for (long i = 0; i < open_rows; i++) add_row(open, open_first + i);
            }
        } else if (int(line_.size()) != width) {
            fail("{}:{}: row has {} cells, expected {} as in line {}", name_, line_no_, line_.size(), width, first_line);
        }
        add_row(line_, line_no_);
    }
    if (width < 0) return false;
    grid.finish(out, rows, width, name_, first_line);
    return true;
}

bool MazeReader::next_csv(Maze& out) {
    std::vector<std::string> fields;
    std::vector<size_t> columns;
    while (read_line()) {
        if (is_blank(line_)) continue;
        split_csv(line_, fields, columns, name_, line_no_);
        if (csv_fields_ == 0) {  // the header
            csv_fields_ = int(fields.size());
            for (int i = 0; i < csv_fields_; i++) {
                if (fields[i] == "question") csv_question_ = i;
                if (fields[i] == "answer") csv_answer_ = i;
            }
            if (csv_question_ < 0) fail("{}:{}: CSV header has no 'question' column", name_, line_no_);
            continue;
        }
        if (int(fields.size()) != csv_fields_)
            fail("{}:{}: expected {} fields as in the header, found {}", name_, line_no_, csv_fields_, fields.size());
        const std::string& q = fields[csv_question_];
        int side = square_side((long long)q.size());
        if (side == 0) fail("{}:{}: question has {} characters, not a square grid", name_, line_no_, q.size());
        GridBuilder grid;
        for (size_t k = 0; k < q.size(); k++) grid.add(q[k], side, name_, line_no_, columns[csv_question_] + k);
        std::vector<char> question_path = grid.answer;  // the question's own 'o' cells, if any
        bool question_has_path = grid.has_path;
        grid.finish(out, side, side, name_, line_no_);
        if (question_has_path) out.answer = std::move(question_path);
        if (csv_answer_ < 0 || fields[csv_answer_].empty()) return true;

        const std::string& a = fields[csv_answer_];
        if (a.size() != q.size())
            fail("{}:{}: answer has {} characters, question has {}", name_, line_no_, a.size(), q.size());
        out.answer.assign(a.size(), ' ');
        for (size_t k = 0; k < a.size(); k++) {
            char c = a[k] == '.' ? ' ' : a[k];
            size_t column = columns[csv_answer_] + k;
            if (!std::strchr(kCharset, c) || c == '\0')
                fail("{}:{}:{}: unknown character {} in the answer", name_, line_no_, column, char_repr(a[k]));
            char qc = out.cells[k];
            if (c != qc && !(c == 'o' && qc == ' '))
                fail("{}:{}:{}: answer changes cell {} of the question ('{}' -> '{}')", name_, line_no_, column,
                     cell_name(int(k), side), qc, c);
            out.answer[k] = c;
        }
        return true;
    }
    return false;
}

std::vector<Maze> read_mazes(const std::string& path, MazeFormat format) {
    MazeReader reader(path, format);
    std::vector<Maze> out;
    Maze m;
    while (reader.next(m)) out.push_back(std::move(m));
    return out;
}

std::vector<Maze> parse_mazes(std::string_view text, const std::string& name, MazeFormat format) {
    std::istringstream in{std::string(text)};
    MazeReader reader(in, name, format);
    std::vector<Maze> out;
    Maze m;
    while (reader.next(m)) out.push_back(std::move(m));
    return out;
}

// ---------------------------------------------------------------------------------------------------------
// Writing

std::string maze_to_text(const Maze& m, bool with_answer, char open) {
    const std::vector<char>& g = with_answer && !m.answer.empty() ? m.answer : m.cells;
    std::string s;
    s.reserve(size_t(m.rows) * (m.cols + 1));
    for (int r = 0; r < m.rows; r++) {
        for (int c = 0; c < m.cols; c++) {
            char ch = g[size_t(r) * m.cols + c];
            s.push_back(ch == ' ' ? open : ch);
        }
        s.push_back('\n');
    }
    return s;
}

std::string maze_csv_header() { return "source,question,answer,rating\n"; }

std::string maze_to_csv_line(const Maze& m, std::string_view source) {
    if (m.answer.empty()) fail("{}: maze has no answer to write as CSV", m.where);
    if (m.rows != m.cols) fail("{}: the Maze-Hard CSV holds square mazes only; this one is {}x{}", m.where, m.rows, m.cols);
    std::string s;
    if (source.find_first_of(",\"\n\r") != std::string_view::npos) {
        s.push_back('"');
        for (char c : source) { if (c == '"') s.push_back('"'); s.push_back(c); }
        s.push_back('"');
    } else {
        s.append(source);
    }
    int path = 2;
    for (char c : m.answer) path += c == 'o';
    s.push_back(',');
    s.append(m.cells.begin(), m.cells.end());
    s.push_back(',');
    s.append(m.answer.begin(), m.answer.end());
    s += fmt::format(",{}\n", path);
    return s;
}

// ---------------------------------------------------------------------------------------------------------
// Tokens

namespace {

std::vector<int32_t> encode_grid(const std::vector<char>& g, const Maze& m, int grid_rows, int grid_cols) {
    if (m.rows > grid_rows || m.cols > grid_cols)
        throw Error(fmt::format("{}: maze is {}x{}, larger than the model's {}x{} grid", m.where, m.rows, m.cols,
                                grid_rows, grid_cols),
                    "use a model trained on a larger grid, or a smaller maze");
    TRM_CHECK(g.size() == size_t(m.rows) * m.cols);
    std::vector<int32_t> t(size_t(grid_rows) * grid_cols, kMazeWall);
    for (int r = 0; r < m.rows; r++)
        for (int c = 0; c < m.cols; c++) t[size_t(r) * grid_cols + c] = token_of(g[size_t(r) * m.cols + c]);
    return t;
}

}  // namespace

std::vector<int32_t> encode_maze(const Maze& m, int grid_rows, int grid_cols) {
    return encode_grid(m.cells, m, grid_rows, grid_cols);
}

std::vector<int32_t> encode_maze_answer(const Maze& m, int grid_rows, int grid_cols) {
    if (m.answer.empty()) fail("{}: maze has no answer to encode", m.where);
    return encode_grid(m.answer, m, grid_rows, grid_cols);
}

std::vector<char> decode_maze(std::span<const int32_t> tokens, int grid_rows, int grid_cols, const Maze& m) {
    TRM_CHECK(tokens.size() == size_t(grid_rows) * grid_cols);
    TRM_CHECK(m.rows <= grid_rows && m.cols <= grid_cols);
    std::vector<char> out(size_t(m.rows) * m.cols);
    for (int r = 0; r < m.rows; r++)
        for (int c = 0; c < m.cols; c++) {
            int32_t t = tokens[size_t(r) * grid_cols + c];
            out[size_t(r) * m.cols + c] = t >= 1 && t <= 5 ? kCharset[t - 1] : '?';
        }
    return out;
}

bool maze_has_frame(const Maze& m) {
    if (m.rows < 3 || m.cols < 3) return false;
    for (int r = 0; r < m.rows; r++)
        for (int c = 0; c < m.cols; c++)
            if ((r == 0 || c == 0 || r == m.rows - 1 || c == m.cols - 1) && m.cells[size_t(r) * m.cols + c] != '#')
                return false;
    return true;
}

Maze maze_without_frame(const Maze& m) {
    TRM_CHECK(maze_has_frame(m));
    Maze in;
    in.rows = m.rows - 2;
    in.cols = m.cols - 2;
    in.where = m.where;
    auto crop = [&](const std::vector<char>& v) {
        std::vector<char> out;
        out.reserve(size_t(in.rows) * in.cols);
        for (int r = 1; r + 1 < m.rows; r++)
            out.insert(out.end(), v.begin() + long(r) * m.cols + 1, v.begin() + long(r) * m.cols + m.cols - 1);
        return out;
    };
    in.cells = crop(m.cells);
    if (!m.answer.empty()) in.answer = crop(m.answer);
    return in;
}

std::vector<char> cells_with_frame(std::span<const char> inner, const Maze& framed) {
    TRM_CHECK(inner.size() == size_t(framed.rows - 2) * size_t(framed.cols - 2));
    std::vector<char> out(size_t(framed.rows) * framed.cols, '#');
    for (int r = 1; r + 1 < framed.rows; r++)
        std::copy_n(inner.begin() + long(r - 1) * (framed.cols - 2), framed.cols - 2,
                    out.begin() + long(r) * framed.cols + 1);
    return out;
}

// ---------------------------------------------------------------------------------------------------------
// Solving and verification

std::vector<int> maze_shortest_path(const Maze& m) {
    const int n = m.rows * m.cols, s = maze_start(m), g = maze_goal(m);
    std::vector<int> parent(size_t(n), -1), queue;
    queue.reserve(size_t(n));
    queue.push_back(s);
    parent[s] = s;
    const int dr[4] = {-1, 0, 0, 1}, dc[4] = {0, -1, 1, 0};  // up, left, right, down
    for (size_t head = 0; head < queue.size() && parent[g] < 0; head++) {
        int k = queue[head], r = k / m.cols, c = k % m.cols;
        for (int d = 0; d < 4; d++) {
            int rr = r + dr[d], cc = c + dc[d];
            if (rr < 0 || rr >= m.rows || cc < 0 || cc >= m.cols) continue;
            int kk = rr * m.cols + cc;
            if (parent[kk] >= 0 || m.cells[kk] == '#') continue;
            parent[kk] = k;
            queue.push_back(kk);
        }
    }
    std::vector<int> path;
    if (parent[g] < 0) return path;
    for (int k = g; k != s; k = parent[k]) path.push_back(k);
    path.push_back(s);
    return {path.rbegin(), path.rend()};
}

std::vector<char> maze_solve(const Maze& m) {
    std::vector<int> path = maze_shortest_path(m);
    if (path.empty()) return {};
    std::vector<char> a = m.cells;
    for (size_t i = 1; i + 1 < path.size(); i++) a[path[i]] = 'o';
    return a;
}

const char* maze_verdict_name(MazeVerdict v) {
    switch (v) {
        case MazeVerdict::Optimal: return "optimal";
        case MazeVerdict::Longer: return "valid but longer";
        case MazeVerdict::Broken: return "broken";
    }
    return "?";
}

MazeCheck verify_maze(const Maze& m, std::span<const char> answer) {
    MazeCheck out;
    out.shortest_cells = int(maze_shortest_path(m).size());
    const size_t n = m.cells.size();
    auto broken = [&](std::string detail) { out.detail = std::move(detail); return out; };
    if (answer.size() != n) return broken(fmt::format("answer has {} cells, expected {}", answer.size(), n));

    for (size_t k = 0; k < n; k++) {
        char a = answer[k], mc = m.cells[k];
        if (a == '\0' || !std::strchr(kCharset, a))
            return broken(fmt::format("cell {} holds unknown token {}", cell_name(int(k), m.cols), char_repr(a)));
        if (a == 'o' && mc == '#') return broken(fmt::format("path cell {} is on a wall", cell_name(int(k), m.cols)));
        if (a != mc && !(a == 'o' && mc == ' '))
            return broken(fmt::format("walls or S/G changed at {}", cell_name(int(k), m.cols)));
    }

    const int s = maze_start(m), g = maze_goal(m);
    auto on_path = [&](int r, int c) {
        return r >= 0 && r < m.rows && c >= 0 && c < m.cols && answer[size_t(r) * m.cols + c] != ' ' &&
               answer[size_t(r) * m.cols + c] != '#';
    };
    auto degree = [&](int k) {
        int r = k / m.cols, c = k % m.cols;
        return int(on_path(r - 1, c)) + on_path(r + 1, c) + on_path(r, c - 1) + on_path(r, c + 1);
    };
    for (int end : {s, g}) {
        const char* label = end == s ? "S" : "G";
        int d = degree(end);
        if (d == 0) return broken(fmt::format("no path cell next to {}", label));
        if (d > 1) return broken(fmt::format("path breaks at {} {}: {} neighbours", label, cell_name(end, m.cols), d));
    }
    int path_cells = 2;
    for (size_t k = 0; k < n; k++) {
        if (answer[k] != 'o') continue;
        path_cells++;
        int d = degree(int(k));
        if (d != 2)
            return broken(fmt::format("path breaks at {}: {} neighbour{}", cell_name(int(k), m.cols), d, d == 1 ? "" : "s"));
    }

    // Every path cell has degree 2 and S, G degree 1, so the walk from S ends at G; cells it misses form loops.
    std::vector<char> seen(n, 0);
    int prev = -1, cur = s, walked = 1;
    seen[s] = 1;
    while (cur != g) {
        int r = cur / m.cols, c = cur % m.cols, next = -1;
        const int nb[4][2] = {{r - 1, c}, {r, c - 1}, {r, c + 1}, {r + 1, c}};
        for (auto& p : nb)
            if (on_path(p[0], p[1]) && p[0] * m.cols + p[1] != prev) { next = p[0] * m.cols + p[1]; break; }
        TRM_CHECK(next >= 0 && !seen[next]);
        prev = cur;
        cur = next;
        seen[cur] = 1;
        walked++;
    }
    if (walked != path_cells)
        for (size_t k = 0; k < n; k++)
            if (answer[k] == 'o' && !seen[k])
                return broken(fmt::format("path cell {} is not on the path from S to G", cell_name(int(k), m.cols)));

    TRM_CHECK(out.shortest_cells >= 2 && walked >= out.shortest_cells);
    out.path_cells = walked;
    out.verdict = walked == out.shortest_cells ? MazeVerdict::Optimal : MazeVerdict::Longer;
    return out;
}

std::string describe(const MazeCheck& c) {
    switch (c.verdict) {
        case MazeVerdict::Optimal: return fmt::format("optimal: {} cells", c.path_cells);
        case MazeVerdict::Longer: return fmt::format("valid but longer: {} cells, shortest {}", c.path_cells, c.shortest_cells);
        case MazeVerdict::Broken: return fmt::format("broken: {}", c.detail);
    }
    return "?";
}

// ---------------------------------------------------------------------------------------------------------
// Augmentation

Maze transform_maze(const Maze& m, int tid) {
    Maze t;
    dihedral_shape(tid, m.rows, m.cols, &t.rows, &t.cols);
    t.cells = dihedral_transform(m.cells, m.rows, m.cols, tid);
    if (!m.answer.empty()) t.answer = dihedral_transform(m.answer, m.rows, m.cols, tid);
    t.where = tid == 0 ? m.where : fmt::format("{} (dihedral {})", m.where, tid);
    return t;
}

std::vector<int> maze_views(const Maze& m, int n) {
    Rng rng = content_rng(std::string_view(m.cells.data(), m.cells.size()), uint64_t(m.rows) << 32 | uint32_t(m.cols));
    std::vector<int> order = dihedral_view_order(rng);
    order.resize(size_t(std::clamp(n, 0, kMazeMaxViews)));
    return order;
}

const char* dihedral_name(int tid) {
    static const char* names[kDihedralCount] = {"as given",    "rotate left",       "rotate 180",
                                                "rotate right", "mirror left-right", "mirror up-down",
                                                "transpose",   "anti-transpose"};
    check_dihedral_id(tid);
    return names[tid];
}

// ---- one maze, one answer (MCP arguments) --------------------------------------------------------------------

Maze parse_one_maze(std::string_view text, const std::string& name) {
    std::istringstream in{std::string(text)};
    MazeReader reader(in, name, MazeFormat::Text);
    Maze m, extra;
    if (!reader.next(m)) fail("{}: no maze found (rows of '#' walls, '.' or ' ' open cells, one S, one G)", name);
    if (reader.next(extra)) fail("{}: holds more than one maze (a second starts at {}); pass one", name, extra.where);
    return m;
}

std::vector<char> parse_maze_answer(std::string_view text, const Maze& m, std::string* problem) {
    std::vector<std::string_view> rows;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view row = text.substr(0, nl);
        if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
        rows.push_back(row);
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    while (!rows.empty() && rows.back().empty()) rows.pop_back();
    size_t first = 0;
    while (first < rows.size() && rows[first].empty()) first++;
    rows.erase(rows.begin(), rows.begin() + long(first));
    if (int(rows.size()) != m.rows) {
        *problem = fmt::format("answer has {} rows, the maze {}", rows.size(), m.rows);
        return {};
    }
    std::vector<char> out;
    out.reserve(size_t(m.rows) * size_t(m.cols));
    for (size_t r = 0; r < rows.size(); r++) {
        if (int(rows[r].size()) != m.cols) {
            *problem = fmt::format("answer row {} has {} cells, the maze {} columns (use '.' for open cells)", r + 1,
                                   rows[r].size(), m.cols);
            return {};
        }
        for (char c : rows[r]) out.push_back(c == '.' ? ' ' : c);
    }
    return out;
}

}  // namespace trm
