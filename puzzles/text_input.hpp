// Reading the puzzle text formats, shared by the kinds' readers: one line at a time with bounded memory, and CSV
// lines split into fields (RFC 4180 quoting). Errors name the file, line and column.
#pragma once
#include <istream>
#include <string>
#include <vector>

namespace trm {

// Reads the next line of `in` into `line` without its "\n" or "\r\n" (and, on line 1, a UTF-8 byte order mark);
// false at the end of the input, after which *eof is set. line_no counts the lines read. Throws Error
// "name:N: line is longer than max_bytes bytes".
bool read_text_line(std::istream& in, std::string& line, long& line_no, bool& eof, const std::string& name,
                    size_t max_bytes);

// Splits one CSV line into fields and the 1-based column where each field's text starts. Throws Error naming
// name:line_no on an unterminated quote or text after a closing quote.
void split_csv(const std::string& line, std::vector<std::string>& fields, std::vector<size_t>& columns,
               const std::string& name, long line_no);

}  // namespace trm
