// libFuzzer harness: safetensors files and native model loading (parse_safetensors, load_model). The entry point and its contract are in fuzz/fuzz_entry.hpp.
#include "fuzz/fuzz_entry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    trm::fuzz::safetensors(data, size);
    return 0;
}
