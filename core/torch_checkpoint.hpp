// Reader for torch.save() zip checkpoints (torch >= 1.6 zip serialization; torch 1.x and 2.x layouts):
//
//   <archive>/data.pkl      pickle (protocol 2) of an OrderedDict name -> torch._utils._rebuild_tensor_v2(...)
//   <archive>/data/<key>    raw little-endian storage bytes, one file per storage
//   <archive>/version, byteorder, .data/serialization_id ...  (optional extra records)
//
// The pickle is read by a restricted interpreter: it knows only the opcodes a state_dict uses and only the globals
// collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch.<X>Storage and torch (float32|bfloat16|...) dtypes.
// Anything else (os.system, builtins.eval, REDUCE on an unknown callable...) is refused with an Error naming the
// global or opcode. Loading a checkpoint never executes code.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace trm {

bool is_zip_file(const std::string& path);

// Returns the state_dict tensors under their pickle names (e.g. "_orig_mod.model.inner.H_init"), each made
// contiguous (storage offset and strides applied), in their stored dtype.
TensorFile read_torch_checkpoint(const std::string& path);
TensorFile parse_torch_checkpoint(const uint8_t* data, size_t size, const std::string& label);

}  // namespace trm
