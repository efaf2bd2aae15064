// libFuzzer harness: official all_config.yaml + dataset.json (config_from_official). The entry point and its contract are in fuzz/fuzz_entry.hpp.
#include "fuzz/fuzz_entry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    trm::fuzz::official_config(data, size);
    return 0;
}
