// libFuzzer harness: Sudoku text and CSV (parse_sudoku_text). The entry point and its contract are in fuzz/fuzz_entry.hpp.
#include "fuzz/fuzz_entry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    trm::fuzz::sudoku_text(data, size);
    return 0;
}
