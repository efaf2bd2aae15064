// libFuzzer harness: the pickle of official checkpoints, zipped with valid CRCs (parse_torch_checkpoint,
// load_model). The entry point and its contract are in fuzz/fuzz_entry.hpp.
#include "fuzz/fuzz_entry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    trm::fuzz::torch_pickle(data, size);
    return 0;
}
