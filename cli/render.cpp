#include "cli/render.hpp"

#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/names.hpp"
#include "puzzles/arc.hpp"
#include "puzzles/sudoku.hpp"

namespace trm::cli {

bool color_mode_from_name(std::string_view s, ColorMode* out) {
    static constexpr NameTable<ColorMode, 3> kNames{
        {{ColorMode::Auto, "auto"}, {ColorMode::Always, "always"}, {ColorMode::Never, "never"}}};
    return from_name(kNames, s, out);
}

Style make_style(ColorMode m, int fd) {
    bool on = false;
    if (m == ColorMode::Always) on = true;
    else if (m == ColorMode::Auto) {
        const char* no = std::getenv("NO_COLOR");
        const char* term = std::getenv("TERM");
        on = isatty(fd) && !(no && *no) && !(term && std::strcmp(term, "dumb") == 0);
    }
    Style s{on, on};
    const char* ct = std::getenv("COLORTERM");
    const char* term = std::getenv("TERM");
    if (ct && (std::strcmp(ct, "truecolor") == 0 || std::strcmp(ct, "24bit") == 0)) s.palette = 16777216;
    else if (term && std::strstr(term, "256")) s.palette = 256;
    return s;
}

// The background SGR of an RGB colour in the terminal's palette: 24-bit, the 6x6x6 cube of the 256 colours,
// or the nearest of the 16 standard ones.
static std::string background(const Style& s, int R, int G, int B) {
    if (s.palette >= 16777216) return fmt::format("\x1b[48;2;{};{};{}m", R, G, B);
    if (s.palette >= 256) {
        auto q = [](int v) { return (v * 5 + 127) / 255; };
        return fmt::format("\x1b[48;5;{}m", 16 + 36 * q(R) + 6 * q(G) + q(B));
    }
    static constexpr int kBasic[16][3] = {{0, 0, 0},     {205, 0, 0},   {0, 205, 0},   {205, 205, 0},
                                          {0, 0, 238},   {205, 0, 205}, {0, 205, 205}, {229, 229, 229},
                                          {127, 127, 127}, {255, 0, 0}, {0, 255, 0},   {255, 255, 0},
                                          {92, 92, 255}, {255, 0, 255}, {0, 255, 255}, {255, 255, 255}};
    int best = 0;
    long best_d = -1;
    for (int i = 0; i < 16; i++) {
        const long d = long(R - kBasic[i][0]) * (R - kBasic[i][0]) + long(G - kBasic[i][1]) * (G - kBasic[i][1]) +
                       long(B - kBasic[i][2]) * (B - kBasic[i][2]);
        if (best_d < 0 || d < best_d) best_d = d, best = i;
    }
    return fmt::format("\x1b[{}m", best < 8 ? 40 + best : 100 + best - 8);
}

std::string paint(const Style& s, std::string_view sgr, std::string_view text) {
    if (!s.color || sgr.empty()) return std::string(text);
    return fmt::format("\x1b[{}m{}\x1b[0m", sgr, text);
}

size_t visible_width(std::string_view s) {
    size_t w = 0;
    for (size_t i = 0; i < s.size(); i++) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == 0x1b && i + 1 < s.size() && s[i + 1] == '[') {  // CSI ... final byte 0x40..0x7e
            i += 2;
            while (i < s.size() && !(s[i] >= 0x40 && s[i] <= 0x7e)) i++;
            continue;
        }
        if ((c & 0xc0) != 0x80) w++;  // count lead bytes only
    }
    return w;
}

std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < text.size()) {
        size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos) nl = text.size();
        out.emplace_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return out;
}

int terminal_columns(int fd) {
    struct winsize ws{};
    if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    if (const char* c = std::getenv("COLUMNS")) {
        const int n = std::atoi(c);
        if (n > 0) return n;
    }
    return 0;
}

std::vector<std::string> wrap_line(const std::string& line, int width, int indent) {
    if (width <= 0 || int(visible_width(line)) <= width) return {line};
    // the line's own leading spaces are kept on its first piece and added to the continuation indent
    const size_t lead = line.find_first_not_of(' ');
    const int cont = lead == std::string::npos || lead == 0 ? indent : int(lead) + 2;
    std::vector<std::string> out;
    std::string cur = line.substr(0, lead == std::string::npos ? 0 : lead);
    size_t pos = lead == std::string::npos ? line.size() : lead;
    bool empty = true;  // no word on cur yet
    while (pos < line.size()) {
        size_t end = line.find(' ', pos);
        if (end == std::string::npos) end = line.size();
        const std::string word = line.substr(pos, end - pos);
        if (!empty && int(visible_width(cur) + 1 + visible_width(word)) > width) {
            out.push_back(cur);
            cur = std::string(size_t(cont), ' ');
            empty = true;
        }
        cur += (empty ? "" : " ") + word;
        empty = false;
        pos = end + 1;
    }
    out.push_back(cur);
    return out;
}

std::vector<std::string> side_by_side(const std::vector<std::string>& left, const std::vector<std::string>& right_in,
                                      int gap, int width) {
    size_t w = 0;
    for (auto& l : left) w = std::max(w, visible_width(l));
    std::vector<std::string> right;
    if (width > 0 && int(w) + gap + kMinRightColumns > width) {  // too narrow: the text goes below the grid
        std::vector<std::string> out = left;
        for (auto& r : right_in)
            for (auto& piece : wrap_line(r, width, 10)) out.push_back(piece);
        return out;
    }
    for (auto& r : right_in)
        for (auto& piece : wrap_line(r, width > 0 ? width - int(w) - gap : 0, 10)) right.push_back(piece);
    std::vector<std::string> out;
    const size_t n = std::max(left.size(), right.size());
    for (size_t i = 0; i < n; i++) {
        std::string line = i < left.size() ? left[i] : std::string();
        if (i < right.size() && !right[i].empty()) {
            line.append(w - visible_width(line) + size_t(gap), ' ');
            line += right[i];
        }
        out.push_back(std::move(line));
    }
    return out;
}

std::string verdict_mark(bool ok, const Style& s) {
    if (s.unicode) return paint(s, ok ? "1;32" : "1;31", ok ? "✓" : "✗");
    return ok ? "OK" : "NO";
}

// ---- Sudoku ---------------------------------------------------------------------------------------------------

static std::vector<std::string> render_sudoku(const DraftGrid& g, const DraftGrid& input, const DraftGrid* prev,
                                              const Style& s) {
    SudokuGrid givens{}, answer{};
    for (int i = 0; i < kSudokuCells; i++) {
        givens[size_t(i)] = i < int(input.cells.size()) ? input.cells[size_t(i)] : 0;
        answer[size_t(i)] = i < int(g.cells.size()) ? g.cells[size_t(i)] : 0;
    }
    std::vector<uint8_t> bad(kSudokuCells, 0);
    for (auto& c : verify_sudoku(givens, answer).clashes)
        for (int cell : c.cells) bad[size_t(cell)] = 1;
    std::vector<uint8_t> changed = prev ? changed_mask(*prev, g) : std::vector<uint8_t>(kSudokuCells, 0);
    changed.resize(kSudokuCells, 1);  // a draft of another size (a foreign model's) is drawn on the 9x9 board
    const bool u = s.unicode;
    auto rule = [&](const char* l, const char* m, const char* r) {
        if (!u) return std::string("+-------+-------+-------+");
        std::string seg = "───────";
        return std::string(l) + seg + m + seg + m + seg + r;
    };
    const std::string bar = u ? "│" : "|";
    std::vector<std::string> out;
    out.push_back(rule("┌", "┬", "┐"));
    for (int r = 0; r < 9; r++) {
        if (r == 3 || r == 6) out.push_back(rule("├", "┼", "┤"));
        std::string line = bar;
        for (int c = 0; c < 9; c++) {
            const int i = r * 9 + c;
            const int d = answer[size_t(i)];
            const std::string digit = d >= 1 && d <= 9 ? std::string(1, char('0' + d)) : ".";
            if (s.color) {
                const char* sgr = givens[size_t(i)] ? "1" : "36";  // givens bold, the model's digits cyan
                if (d == 0) sgr = "2";
                if (bad[size_t(i)]) sgr = "1;31";
                if (changed[size_t(i)]) sgr = bad[size_t(i)] ? "1;31;43" : "1;30;43";
                line += ' ';
                line += paint(s, sgr, digit);
            } else {
                line += (changed[size_t(i)] ? "*" : " ") + digit;
            }
            if (c % 3 == 2) {
                line += ' ';
                line += bar;
            }
        }
        out.push_back(std::move(line));
    }
    out.push_back(rule("└", "┴", "┘"));
    return out;
}

// One line per grid row; cell(value, changed) draws one cell. `changed`: differs from the previous draft.
template <typename Cell>
static std::vector<std::string> render_cells(const DraftGrid& g, const DraftGrid* prev, Cell cell) {
    const std::vector<uint8_t> changed = prev ? changed_mask(*prev, g) : std::vector<uint8_t>(g.cells.size(), 0);
    std::vector<std::string> out;
    for (int r = 0; r < g.rows; r++) {
        std::string line;
        for (int c = 0; c < g.cols; c++) {
            const size_t i = size_t(r) * size_t(g.cols) + size_t(c);
            line += cell(g.cells[i], changed[i] != 0);
        }
        out.push_back(std::move(line));
    }
    return out;
}

// ---- mazes ----------------------------------------------------------------------------------------------------

static std::vector<std::string> render_maze(const DraftGrid& g, const DraftGrid* prev, const Style& s) {
    return render_cells(g, prev, [&](auto value, bool ch_changed) -> std::string {
        const char ch = char(value);
        if (!s.unicode) {
            char o = ch == ' ' ? '.' : ch;
            if (ch_changed && ch == 'o') o = '*';
            else if (ch_changed && ch == ' ') o = '-';
            return std::string(1, o);
        }
        std::string cell;
        const char* sgr = "";
        switch (ch) {
            case '#': cell = "██"; sgr = "90"; break;
            case ' ': cell = ch_changed ? "··" : "  "; sgr = "2"; break;
            case 'S': cell = "S "; sgr = "1;30;42"; break;
            case 'G': cell = "G "; sgr = "1;30;41"; break;
            case 'o': cell = "██"; sgr = "33"; break;
            default: cell = std::string(1, ch) + std::string(1, ch); sgr = "1;35"; break;
        }
        if (ch_changed && ch == 'o') sgr = "93";
        return paint(s, sgr, cell);
    });
}

// ---- ARC ------------------------------------------------------------------------------------------------------

static std::vector<std::string> render_arc(const DraftGrid& g, const DraftGrid* prev, const Style& s) {
    if (g.rows * g.cols == 0) return {"(empty)"};
    return render_cells(g, prev, [&](auto value, bool changed) -> std::string {
        const int v = value < 10 ? int(value) : 0;
        if (!s.color) return fmt::format("{}{}", v, changed ? '*' : ' ');
        const uint32_t rgb = kArcPalette[size_t(v)];
        const int R = int(rgb >> 16), G = int((rgb >> 8) & 0xff), B = int(rgb & 0xff);
        const bool light = R * 299 + G * 587 + B * 114 > 128000;
        return background(s, R, G, B) + (changed ? (light ? "\x1b[30m••" : "\x1b[97m••") : "  ") + "\x1b[0m";
    });
}

std::vector<std::string> render_draft(const Domain& d, const DraftGrid& g, const DraftGrid& input,
                                      const DraftGrid* prev, const Style& s) {
    const std::string_view style = d.grid_style();
    if (style == "sudoku") return render_sudoku(g, input, prev, s);
    if (style == "maze") return render_maze(g, prev, s);
    return render_arc(g, prev, s);
}

std::string change_legend(const Domain& d, const Style& s) {
    const std::string_view style = d.grid_style();
    if (s.color) {  // one line saying what the colours mean
        if (style == "sudoku")
            return paint(s, "1", "given") + " " + paint(s, "36", "model") + " " + paint(s, "1;30;43", "changed") + " " +
                   paint(s, "1;31", "clash");
        if (style == "maze")
            return paint(s, "1;30;42", "S") + " start " + paint(s, "1;30;41", "G") + " goal " + paint(s, "33", "██") +
                   " path " + paint(s, "1;35", "##") + " wall";
        return "•• changed since the previous draft";
    }
    if (style == "maze") return "* new path cell, - changed to open";
    return "* changed since the previous draft";
}

std::string render_named_grids(const Domain& d, const std::vector<NamedGrid>& grids, const Style& s) {
    constexpr size_t kGap = 3;
    std::vector<std::vector<std::string>> drawn;
    std::vector<size_t> width;
    size_t height = 0;
    for (const auto& [title, g] : grids) {
        drawn.push_back(render_draft(d, g, g, nullptr, s));
        size_t w = visible_width(title);
        for (const auto& l : drawn.back()) w = std::max(w, visible_width(l));
        width.push_back(w);
        height = std::max(height, drawn.back().size());
    }
    std::string out;
    for (size_t r = 0; r <= height; r++) {  // row 0: the titles
        std::string line;
        for (size_t i = 0; i < grids.size(); i++) {
            const std::string cell = r == 0 ? grids[i].title : r - 1 < drawn[i].size() ? drawn[i][r - 1] : "";
            if (i) line.append(kGap, ' ');
            line += cell;
            line.append(width[i] - visible_width(cell), ' ');
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
    }
    return out;
}

}  // namespace trm::cli
