// Loading and saving models in either format:
//  - native: safetensors, official state_dict keys without `_orig_mod.model.`, config JSON in __metadata__["trm_config"];
//  - official: the `step_N` files pretrain.py writes with torch.save, configured from the all_config.yaml beside them
//    (plus dataset.json or explicit overrides for seq_len / vocab_size / num_puzzle_identifiers).
#pragma once
#include <map>
#include <string>

#include "core/tensor.hpp"
#include "core/weights.hpp"

namespace trm {

struct LoadOptions {
    std::string config_yaml;   // official: all_config.yaml (default: beside the checkpoint)
    std::string dataset_json;  // official: dataset.json (default: beside the checkpoint, if present)
    int seq_len = -1, vocab_size = -1, num_puzzle_identifiers = -1;  // overrides for dataset-derived fields
};

enum class ModelFormat { Safetensors, TorchZip, Unknown };
ModelFormat detect_model_format(const std::string& path);

Model load_model(const std::string& path, const LoadOptions& opt = {});
Model load_native_model(const std::string& path);
Model load_official_checkpoint(const std::string& path, const LoadOptions& opt = {});

// Builds a model from named tensors, validating every expected name and shape first. `prefix` is stripped from the
// file's names ("" for native files, kOfficialPrefix for official checkpoints). Unknown extra tensors are refused.
Model model_from_tensors(const Config& cfg, const TensorFile& file, const std::string& label, const std::string& prefix);

TensorFile model_to_tensors(const Model& m);  // float32 tensors + metadata trm_config
// extra: more metadata (string -> string) stored beside trm_config, e.g. {"training": "<JSON>"}.
void save_model(const std::string& path, const Model& m, const std::map<std::string, std::string>& extra = {});

}  // namespace trm
