#include "puzzles/sudoku.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "puzzles/grid_transform.hpp"
#include "puzzles/text_input.hpp"

namespace trm {

namespace {

constexpr int kMaxCsvFields = 64;

// Unit u: 0..8 rows, 9..17 columns, 18..26 boxes; k-th cell of the unit in row-major order.
int unit_cell(int u, int k) {
    if (u < 9) return u * 9 + k;
    if (u < 18) return k * 9 + (u - 9);
    int b = u - 18;
    return (b / 3 * 3 + k / 3) * 9 + (b % 3) * 3 + k % 3;
}

std::string unit_name(int u) {
    if (u < 9) return fmt::format("row {}", u + 1);
    if (u < 18) return fmt::format("column {}", u - 8);
    return fmt::format("box {}", u - 17);
}

std::string cell_name(int c) { return fmt::format("r{}c{}", c / 9 + 1, c % 9 + 1); }

std::string show_char(char ch) {
    auto u = uint8_t(ch);
    if (u < 0x20 || u >= 0x7f) return fmt::format("byte 0x{:02x}", u);
    return fmt::format("'{}'", ch);
}

// Cell value of a character: 1..9 digits, 0 blank, -1 separator, -2 anything else.
int cell_value(char ch) {
    if (ch >= '1' && ch <= '9') return ch - '0';
    switch (ch) {
        case '.': case '0': case '_': case '*': return 0;
        case ' ': case '\t': case '|': case '-': case '+': return -1;
        default: return -2;
    }
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

const char* count_word(int n) {
    static const char* kWords[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};
    return n >= 0 && n <= 9 ? kWords[n] : "many";
}

}  // namespace

std::vector<std::string> sudoku_token_map() {
    return {"<pad>", ".", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
}

// ---- reading -----------------------------------------------------------------------------------------------

std::string sudoku_given_clash(const SudokuGrid& g, int* cell) {
    for (int c = 0; c < kSudokuCells; c++) {
        if (g[c] == 0) continue;
        int units[3] = {c / 9, 9 + c % 9, 18 + (c / 27) * 3 + (c % 9) / 3};
        for (int u : units) {
            for (int k = 0; k < 9; k++) {
                int o = unit_cell(u, k);
                if (o != c && g[o] == g[c]) {
                    if (cell) *cell = c;
                    return fmt::format("cell {}: '{}' clashes with {} in {}", cell_name(c), int(g[c]), cell_name(o),
                                       unit_name(u));
                }
            }
        }
    }
    return {};
}

SudokuReader::SudokuReader(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}

void SudokuReader::fail_here(const std::string& what) const { fail("{}:{}: {}", name_, line_no_, what); }

bool SudokuReader::read_line() { return read_text_line(in_, line_, line_no_, eof_, name_, kSudokuMaxLineBytes); }

void SudokuReader::parse_csv_header(std::string_view) {
    std::vector<std::string> fields;
    std::vector<size_t> columns;
    split_csv(line_, fields, columns, name_, line_no_);
    for (int i = 0; i < int(fields.size()); i++) {
        const std::string_view f = trim(fields[size_t(i)]);
        if (f == "source") csv_source_ = i;
        else if (f == "question") csv_question_ = i;
        else if (f == "answer") csv_answer_ = i;
        else if (f == "rating") csv_rating_ = i;
    }
    csv_fields_ = int(fields.size());
    if (csv_fields_ > kMaxCsvFields) fail_here(fmt::format("CSV header has {} columns, at most {} are supported", csv_fields_, kMaxCsvFields));
    if (csv_question_ < 0)
        fail_here(fmt::format("CSV header has no 'question' column (expected {})", kSudokuCsvHeader));
}

void SudokuReader::parse_csv_row(std::string_view, SudokuPuzzle& out) {
    std::vector<std::string> fields;
    std::vector<size_t> columns;
    split_csv(line_, fields, columns, name_, line_no_);
    const int n = int(fields.size());
    if (n != csv_fields_) fail_here(fmt::format("expected {} CSV fields, found {}", csv_fields_, n));

    // 81 cells of one field, no separators; column numbers in messages are those of the line.
    auto grid_of = [&](int field, const char* what, SudokuGrid& g) {
        const std::string_view raw = fields[size_t(field)];
        const std::string_view f = trim(raw);
        const size_t col0 = columns[size_t(field)] - 1 + size_t(f.data() - raw.data());
        int count = 0;
        for (size_t i = 0; i < f.size(); i++) {
            int v = cell_value(f[i]);
            if (v < 0)
                fail_here(fmt::format("{}: unexpected character {} at column {}", what, show_char(f[i]), col0 + i + 1));
            if (count < kSudokuCells) g[count] = uint8_t(v);
            count++;
        }
        if (count != kSudokuCells) fail_here(fmt::format("{}: expected 81 cells, found {}", what, count));
    };

    out = SudokuPuzzle{};
    grid_of(csv_question_, "question", out.cells);
    std::string clash = sudoku_given_clash(out.cells);
    if (!clash.empty()) fail_here(clash);
    if (csv_answer_ >= 0) {
        SudokuGrid a{};
        grid_of(csv_answer_, "answer", a);
        for (int c = 0; c < kSudokuCells; c++) {
            if (a[c] == 0) fail_here(fmt::format("answer: cell {} is blank", cell_name(c)));
            if (out.cells[c] && a[c] != out.cells[c])
                fail_here(fmt::format("answer: cell {} is '{}' but the given is '{}'", cell_name(c), int(a[c]),
                                      int(out.cells[c])));
        }
        SudokuVerdict v = verify_sudoku(out.cells, a);
        if (!v.solved) fail_here("answer is not a valid solution: " + v.summary());
        out.solution = a;
    }
    if (csv_source_ >= 0) out.source = std::string(trim(fields[size_t(csv_source_)]));
    if (csv_rating_ >= 0) {
        std::string_view r = trim(fields[size_t(csv_rating_)]);
        int value = 0;
        auto [p, ec] = std::from_chars(r.data(), r.data() + r.size(), value);
        if (r.empty() || ec != std::errc() || p != r.data() + r.size())
            fail_here(fmt::format("rating '{}' is not an integer", r.substr(0, 20)));
        out.rating = value;
    }
    out.line = int(line_no_);
    out.form = SudokuPuzzle::Form::Csv;
    out.where = fmt::format("{}:{}", name_, line_no_);
}

bool SudokuReader::next(SudokuPuzzle& out) {
    try {
        return next_puzzle(out);
    } catch (const Error&) {
        grid_rows_ = 0;  // a refused grid is dropped whole, so that the next puzzle starts clean
        throw;
    }
}

bool SudokuReader::next_puzzle(SudokuPuzzle& out) {
    auto grid_error = [&]() {  // one 9-cell line is more likely a short puzzle line than a grid
        if (grid_rows_ == 1) fail("{}:{}: expected 81 cells, found 9", name_, grid_lines_[0]);
        fail("{}:{}: grid has {} rows, expected 9", name_, grid_lines_[0], grid_rows_);
    };
    while (read_line()) {
        std::string_view text(line_);
        bool blank = trim(text).empty();
        if (size_t hash = text.find('#'); hash != std::string_view::npos) text = text.substr(0, hash);
        text = trim(text);
        if (text.empty()) {
            if (blank && grid_rows_ > 0) grid_error();  // a blank line ends a grid; comment lines do not
            continue;
        }
        if (mode_ == Mode::Unknown) {
            if (text.find(',') != std::string_view::npos) {
                mode_ = Mode::Csv;
                parse_csv_header(text);
                continue;
            }
            mode_ = Mode::Text;
        }
        if (mode_ == Mode::Csv) {
            parse_csv_row(text, out);
            return true;
        }

        SudokuGrid cells{};
        int count = 0;
        for (size_t i = 0; i < text.size(); i++) {
            int v = cell_value(text[i]);
            if (v == -1) continue;
            if (v == -2) {
                size_t col = size_t(text.data() - line_.data()) + i + 1;
                std::string hint = text[i] == ',' ? " (a CSV file needs the header line " + std::string(kSudokuCsvHeader) + ")" : "";
                fail_here(fmt::format("unexpected character {} at column {}{}", show_char(text[i]), col, hint));
            }
            if (count < kSudokuCells) cells[count] = uint8_t(v);
            count++;
        }
        if (count == 0) continue;  // a separator line such as "------+-------+------"

        if (grid_rows_ == 0 && count == kSudokuCells) {
            std::string clash = sudoku_given_clash(cells);
            if (!clash.empty()) fail_here(clash);
            out = SudokuPuzzle{};
            out.cells = cells;
            out.line = int(line_no_);
            out.where = fmt::format("{}:{}", name_, line_no_);
            return true;
        }
        if (count != 9) {
            if (grid_rows_ == 1) grid_error();
            if (grid_rows_ > 0) fail_here(fmt::format("grid row has {} cells, expected 9", count));
            fail_here(fmt::format("expected 81 cells, found {}", count));
        }
        std::copy(cells.begin(), cells.begin() + 9, grid_.begin() + grid_rows_ * 9);
        grid_lines_[grid_rows_++] = int(line_no_);
        if (grid_rows_ == 9) {
            grid_rows_ = 0;
            int bad = 0;
            std::string clash = sudoku_given_clash(grid_, &bad);
            if (!clash.empty()) fail("{}:{}: {}", name_, grid_lines_[bad / 9], clash);
            out = SudokuPuzzle{};
            out.cells = grid_;
            out.line = grid_lines_[0];
            out.where = fmt::format("{}:{}", name_, grid_lines_[0]);
            out.form = SudokuPuzzle::Form::Grid;
            return true;
        }
    }
    if (grid_rows_ > 0) grid_error();
    return false;
}

std::vector<SudokuPuzzle> parse_sudoku_text(std::string_view text, const std::string& name) {
    std::istringstream in{std::string(text)};
    SudokuReader reader(in, name);
    std::vector<SudokuPuzzle> out;
    SudokuPuzzle p;
    while (reader.next(p)) out.push_back(std::move(p));
    if (out.empty()) fail("{}: no Sudoku puzzle found", name);
    return out;
}

std::vector<SudokuPuzzle> read_sudoku_file(const std::string& path, size_t max_puzzles) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("{}: cannot open: {}", path, std::strerror(errno));
    SudokuReader reader(in, path);
    std::vector<SudokuPuzzle> out;
    SudokuPuzzle p;
    while (reader.next(p)) {
        if (out.size() >= max_puzzles) fail("{}: more than {} puzzles", path, max_puzzles);
        out.push_back(std::move(p));
    }
    if (in.bad()) fail("{}: read error: {}", path, std::strerror(errno));
    if (out.empty()) fail("{}: no Sudoku puzzle found", path);
    return out;
}

// ---- writing ------------------------------------------------------------------------------------------------

std::string sudoku_to_line(const SudokuGrid& g) {
    std::string s(kSudokuCells, '.');
    for (int c = 0; c < kSudokuCells; c++)
        if (g[c] >= 1 && g[c] <= 9) s[c] = char('0' + g[c]);
    return s;
}

std::string sudoku_to_grid_text(const SudokuGrid& g) {
    std::string line = sudoku_to_line(g), s;
    for (int r = 0; r < 9; r++) {
        if (r == 3 || r == 6) s += "------+-------+------\n";
        for (int c = 0; c < 9; c++) {
            if (c == 3 || c == 6) s += "| ";
            s += line[r * 9 + c];
            s += c == 8 ? '\n' : ' ';
        }
    }
    return s;
}

std::string sudoku_to_csv_line(const SudokuPuzzle& p) {
    if (!p.solution) fail("{}: cannot write CSV: the puzzle has no solution", p.where.empty() ? "sudoku" : p.where);
    if (p.source.find_first_of(",\n\r") != std::string::npos)
        fail("{}: cannot write CSV: source '{}' holds ',' or a line break", p.where, p.source);
    return fmt::format("{},{},{},{}", p.source.empty() ? "trm" : p.source, sudoku_to_line(p.cells),
                       sudoku_to_line(*p.solution), p.rating < 0 ? 0 : p.rating);
}

// ---- tokens -------------------------------------------------------------------------------------------------

std::vector<int32_t> sudoku_encode(const SudokuGrid& g) {
    std::vector<int32_t> t(kSudokuCells);
    for (int c = 0; c < kSudokuCells; c++) {
        TRM_CHECK(g[c] <= 9);
        t[c] = int32_t(g[c]) + 1;
    }
    return t;
}

std::vector<int32_t> sudoku_encode_inputs(const SudokuPuzzle& p) { return sudoku_encode(p.cells); }

std::vector<int32_t> sudoku_encode_labels(const SudokuPuzzle& p) {
    if (!p.solution) fail("{}: no solution to encode as labels", p.where.empty() ? "sudoku" : p.where);
    return sudoku_encode(*p.solution);
}

SudokuGrid sudoku_decode(std::span<const int32_t> tokens) {
    if (tokens.size() != size_t(kSudokuCells)) fail("sudoku: expected 81 tokens, found {}", tokens.size());
    SudokuGrid g{};
    for (int c = 0; c < kSudokuCells; c++) {
        int32_t t = tokens[c];
        g[c] = t >= 2 && t <= 10 ? uint8_t(t - 1) : 0;
    }
    return g;
}

// ---- verification -------------------------------------------------------------------------------------------

std::string SudokuClash::text() const {
    return fmt::format("{}: {} {}s", unit, count_word(int(cells.size())), digit);
}

std::string SudokuVerdict::summary() const {
    if (solved) return "solved";
    std::string s;
    auto add = [&](const std::string& part) { s += (s.empty() ? "" : "; ") + part; };
    // a changed given is the first fault to name: the answer is not for this puzzle at all
    if (changed_givens) add(fmt::format("{} changed given{}", changed_givens, changed_givens == 1 ? "" : "s"));
    for (auto& c : clashes) add(c.text());
    if (blank_cells) add(fmt::format("{} blank cell{}", blank_cells, blank_cells == 1 ? "" : "s"));
    return s;
}

SudokuVerdict verify_sudoku(const SudokuGrid& givens, const SudokuGrid& answer) {
    SudokuVerdict v;
    std::array<bool, kSudokuCells> in_clash{};
    for (int c = 0; c < kSudokuCells; c++) {
        if (answer[c] == 0 || answer[c] > 9) v.blank_cells++;
        else if (givens[c] && answer[c] != givens[c]) v.changed_givens++;
    }
    for (int u = 0; u < 27; u++) {
        std::array<std::vector<int>, 10> where;
        for (int k = 0; k < 9; k++) {
            int c = unit_cell(u, k);
            if (answer[c] >= 1 && answer[c] <= 9) where[answer[c]].push_back(c);
        }
        for (int d = 1; d <= 9; d++) {
            if (where[d].size() < 2) continue;
            for (int c : where[d]) in_clash[c] = true;
            v.clashes.push_back({unit_name(u), d, where[d]});
        }
    }
    v.clash_cells = int(std::count(in_clash.begin(), in_clash.end(), true));
    v.solved = v.blank_cells == 0 && v.changed_givens == 0 && v.clashes.empty();
    return v;
}

SudokuVerdict verify_sudoku(const SudokuPuzzle& puzzle, const SudokuGrid& answer) {
    SudokuVerdict v = verify_sudoku(puzzle.cells, answer);
    if (puzzle.solution) {
        v.wrong_cells = 0;
        for (int c = 0; c < kSudokuCells; c++)
            if (answer[c] >= 1 && answer[c] <= 9 && answer[c] != (*puzzle.solution)[c]) v.wrong_cells++;
    }
    return v;
}

// ---- augmentation -------------------------------------------------------------------------------------------

namespace {

void derive_source(SudokuTransform& t) {
    for (int i = 0; i < kSudokuCells; i++) {
        int r = t.row_perm[i / 9], c = t.col_perm[i % 9];
        t.source[i] = uint8_t(t.transpose ? c * 9 + r : r * 9 + c);
    }
}

std::array<uint8_t, 9> band_perm(Rng& rng) {  // concat(3*b + perm3() for b in perm3())
    std::array<uint8_t, 3> bands = {0, 1, 2};
    rng.shuffle(bands.begin(), bands.end());
    std::array<uint8_t, 9> p{};
    for (int k = 0; k < 3; k++) {
        std::array<uint8_t, 3> inner = {0, 1, 2};
        rng.shuffle(inner.begin(), inner.end());
        for (int j = 0; j < 3; j++) p[k * 3 + j] = uint8_t(bands[k] * 3 + inner[j]);
    }
    return p;
}

std::array<uint8_t, 9> inverse9(const std::array<uint8_t, 9>& p) {
    std::array<uint8_t, 9> q{};
    for (int i = 0; i < 9; i++) q[p[i]] = uint8_t(i);
    return q;
}

}  // namespace

SudokuTransform identity_sudoku_transform() {
    SudokuTransform t;
    for (int d = 0; d < 10; d++) t.digit_map[d] = uint8_t(d);
    for (int i = 0; i < 9; i++) t.row_perm[i] = t.col_perm[i] = uint8_t(i);
    derive_source(t);
    return t;
}

SudokuTransform random_sudoku_transform(Rng& rng) {
    // official: digit_map = np.pad(np.random.permutation(np.arange(1, 10)), (1, 0))
    SudokuTransform t;
    std::array<uint8_t, 9> digits = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    rng.shuffle(digits.begin(), digits.end());
    t.digit_map[0] = 0;
    for (int d = 0; d < 9; d++) t.digit_map[d + 1] = digits[d];
    // official: transpose_flag = np.random.rand() < 0.5
    t.transpose = rng.uniform() < 0.5;
    // official: row_perm from bands, then col_perm from stacks
    t.row_perm = band_perm(rng);
    t.col_perm = band_perm(rng);
    derive_source(t);
    return t;
}

SudokuTransform invert_sudoku_transform(const SudokuTransform& t) {
    SudokuTransform inv;
    for (int d = 0; d < 10; d++) inv.digit_map[t.digit_map[d]] = uint8_t(d);
    inv.transpose = t.transpose;
    inv.row_perm = inverse9(t.transpose ? t.col_perm : t.row_perm);
    inv.col_perm = inverse9(t.transpose ? t.row_perm : t.col_perm);
    derive_source(inv);
    return inv;
}

SudokuGrid apply_sudoku_transform(const SudokuTransform& t, const SudokuGrid& g) {
    // official: new_board = x.T (if transpose) .flatten()[mapping]; digit_map[new_board]
    SudokuGrid out{};
    for (int i = 0; i < kSudokuCells; i++) {
        uint8_t v = g[t.source[i]];
        out[i] = v <= 9 ? t.digit_map[v] : 0;
    }
    return out;
}

void shuffle_sudoku(SudokuPuzzle& p, Rng& rng) {
    SudokuTransform t = random_sudoku_transform(rng);
    p.cells = apply_sudoku_transform(t, p.cells);
    if (p.solution) p.solution = apply_sudoku_transform(t, *p.solution);
}

// ---- views --------------------------------------------------------------------------------------------------

static bool is_identity(const SudokuTransform& t) {
    for (int i = 0; i < kSudokuCells; i++)
        if (t.source[i] != i) return false;
    for (int d = 0; d < 10; d++)
        if (t.digit_map[d] != d) return false;
    return true;
}

std::vector<SudokuTransform> sudoku_views(const SudokuGrid& givens, int n) {
    std::vector<SudokuTransform> v;
    if (n <= 0) return v;
    v.push_back(identity_sudoku_transform());
    Rng rng = content_rng(sudoku_to_line(givens));
    while (int(v.size()) < n) {
        SudokuTransform t = random_sudoku_transform(rng);
        if (!is_identity(t)) v.push_back(t);
    }
    return v;
}

std::string describe_sudoku_transform(const SudokuTransform& t) {
    std::vector<std::string> parts;
    if (t.transpose) parts.push_back("transpose");
    auto perm = [&](const char* name, const std::array<uint8_t, 9>& p) {
        bool id = true;
        for (int i = 0; i < 9; i++) id = id && p[i] == i;
        if (id) return;
        std::string s = name;
        for (int i = 0; i < 9; i++) {
            if (i % 3 == 0) s += ' ';
            s += char('1' + p[i]);
        }
        parts.push_back(s);
    };
    perm("rows", t.row_perm);
    perm("cols", t.col_perm);
    // digit relabelling as cycles: "4<->7" for a swap, "1->2->9->1" for longer cycles
    std::string digits;
    std::array<bool, 10> seen{};
    for (int d = 1; d <= 9; d++) {
        if (seen[d] || t.digit_map[d] == d) continue;
        std::vector<int> cyc;
        for (int x = d; !seen[x]; x = t.digit_map[x]) { seen[x] = true; cyc.push_back(x); }
        if (!digits.empty()) digits += ' ';
        if (cyc.size() == 2) digits += fmt::format("{}<->{}", cyc[0], cyc[1]);
        else {
            for (int x : cyc) digits += fmt::format("{}->", x);
            digits += char('0' + cyc[0]);
        }
    }
    if (!digits.empty()) parts.push_back("digits " + digits);
    if (parts.empty()) return "as given";
    std::string s = parts[0];
    for (size_t i = 1; i < parts.size(); i++) s += ", " + parts[i];
    return s;
}

// ---- one puzzle, one answer (MCP arguments) ----------------------------------------------------------------

SudokuPuzzle parse_one_sudoku(std::string_view text, const std::string& name) {
    std::istringstream in{std::string(text)};
    SudokuReader reader(in, name);
    SudokuPuzzle p, extra;
    if (!reader.next(p)) fail("{}: no Sudoku found (81 cells: digits 1-9 and '.' or 0 for blanks)", name);
    if (reader.next(extra)) fail("{}: holds more than one Sudoku (a second starts at {}); pass one", name, extra.where);
    return p;
}

static std::string printable_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f ? std::string(1, c) : fmt::format("\\x{:02x}", u);
}

SudokuGrid parse_sudoku_answer(std::string_view text, const std::string& name) {
    SudokuGrid g{};
    size_t n = 0;
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '|' || c == '-' || c == '+') continue;
        uint8_t v;
        if (c >= '1' && c <= '9') v = uint8_t(c - '0');
        else if (c == '.' || c == '0' || c == '_' || c == '*') v = 0;
        else fail("{}: unexpected character '{}' at cell {} (digits 1-9, '.' or 0 for blanks)", name, printable_char(c), n + 1);
        if (n < g.size()) g[n] = v;
        n++;
    }
    if (n != g.size()) fail("{}: expected 81 cells, found {}", name, n);
    return g;
}

}  // namespace trm
