// libFuzzer harness: ARC challenges / solutions JSON (parse_arc_tasks, apply_arc_solutions). The entry point and its contract are in fuzz/fuzz_entry.hpp.
#include "fuzz/fuzz_entry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    trm::fuzz::arc_json(data, size);
    return 0;
}
