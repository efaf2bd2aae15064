#include "puzzles/text_input.hpp"

#include "core/error.hpp"

namespace trm {

bool read_text_line(std::istream& in, std::string& line, long& line_no, bool& eof, const std::string& name,
                    size_t max_bytes) {
    line.clear();
    if (eof) return false;
    std::streambuf* sb = in.rdbuf();
    bool any = false;
    while (true) {
        const int c = sb->sbumpc();
        if (c == std::char_traits<char>::eof()) {
            eof = true;
            if (!any) return false;
            break;
        }
        any = true;
        if (c == '\n') break;
        if (line.size() >= max_bytes) fail("{}:{}: line is longer than {} bytes", name, line_no + 1, max_bytes);
        line.push_back(char(c));
    }
    line_no++;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);  // UTF-8 byte order mark
    return true;
}

void split_csv(const std::string& line, std::vector<std::string>& fields, std::vector<size_t>& columns,
               const std::string& name, long line_no) {
    fields.clear();
    columns.clear();
    size_t i = 0;
    while (true) {
        std::string f;
        if (i < line.size() && line[i] == '"') {
            i++;
            columns.push_back(i + 1);
            while (true) {
                if (i >= line.size()) fail("{}:{}: unterminated quoted CSV field", name, line_no);
                if (line[i] == '"') {
                    if (i + 1 < line.size() && line[i + 1] == '"') { f.push_back('"'); i += 2; continue; }
                    i++;
                    break;
                }
                f.push_back(line[i++]);
            }
            if (i < line.size() && line[i] != ',')
                fail("{}:{}:{}: unexpected character after a quoted CSV field", name, line_no, i + 1);
        } else {
            columns.push_back(i + 1);
            while (i < line.size() && line[i] != ',') f.push_back(line[i++]);
        }
        fields.push_back(std::move(f));
        if (i >= line.size()) break;
        i++;  // the comma
    }
}

}  // namespace trm
