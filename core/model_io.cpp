#include "core/model_io.hpp"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/safetensors.hpp"
#include "core/torch_checkpoint.hpp"

namespace trm {

namespace fs = std::filesystem;
using nlohmann::json;

ModelFormat detect_model_format(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) fail("{}: cannot open model file", path);
    unsigned char head[9] = {0};
    size_t n = std::fread(head, 1, 9, f);
    std::fclose(f);
    if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return ModelFormat::TorchZip;
    if (n == 9 && head[8] == '{') return ModelFormat::Safetensors;
    return ModelFormat::Unknown;
}

Model model_from_tensors(const Config& cfg, const TensorFile& file, const std::string& label, const std::string& prefix) {
    // every expected tensor present with the right shape, checked against the layout alone (no arena yet): a tiny
    // file whose config claims a huge model is refused before anything of that size is allocated
    const Layout layout(cfg);
    for (auto& p : layout.table) {
        auto it = file.tensors.find(prefix + p.name);
        if (it == file.tensors.end())
            throw Error(fmt::format("{}: missing tensor '{}{}'", label, prefix, p.name),
                        "the file does not match its config (pos_encodings, mlp_t, L_layers?)");
        const Tensor& t = it->second;
        if (t.shape != p.shape)
            throw Error(fmt::format("{}: tensor '{}{}' has shape {}, expected {}", label, prefix, p.name,
                                    shape_str(t.shape), shape_str(p.shape)),
                        "check hidden_size, expansion, seq_len, vocab_size and num_puzzle_identifiers in the config");
        if (t.dtype != DType::F32 && t.dtype != DType::BF16 && t.dtype != DType::F16 && t.dtype != DType::F64)
            fail("{}: tensor '{}{}' has dtype {}, expected F32 or BF16", label, prefix, p.name, dtype_name(t.dtype));
    }
    for (auto& [name, t] : file.tensors) {
        if (name.rfind(prefix, 0) != 0 || !layout.find(name.substr(prefix.size())))
            fail("{}: unexpected tensor '{}' (not part of a TRM with this config)", label, name);
    }
    Model m(cfg);
    for (auto& p : m.layout.table) {
        auto v = file.tensors.at(prefix + p.name).to_f32();
        for (size_t i = 0; i < v.size(); i++)
            if (!std::isfinite(v[i]))
                fail("{}: tensor '{}{}' holds a non-finite value ({}) at index {}", label, prefix, p.name, v[i], i);
        if (!v.empty()) std::memcpy(m.arena.data() + p.offset, v.data(), v.size() * sizeof(float));
    }
    return m;
}

Model load_native_model(const std::string& path) {
    TensorFile f = read_safetensors(path);
    auto it = f.metadata.find("trm_config");
    if (it == f.metadata.end())
        throw Error(fmt::format("{}: no trm_config in the safetensors metadata", path),
                    "import official checkpoints with `trm import CHECKPOINT -o MODEL.safetensors`");
    json j;
    try {
        j = json::parse(it->second);
    } catch (const json::exception& e) {
        fail("{}: trm_config metadata is not valid JSON: {}", path, e.what());
    }
    Config c = config_from_json(j, path);
    try {
        c.validate();
    } catch (const Error& e) {
        fail("{}: {}", path, e.what());
    }
    return model_from_tensors(c, f, path, "");
}

// Infers seq_len / vocab_size / num_puzzle_identifiers from tensor shapes where they determine them.
static void infer_dataset_fields(Config& c, const TensorFile& f, const std::string& label) {
    auto shape = [&](const std::string& k) -> const std::vector<int64_t>* {
        auto it = f.tensors.find(kOfficialPrefix + k);
        return it == f.tensors.end() ? nullptr : &it->second.shape;
    };
    if (c.vocab_size < 0)
        if (auto s = shape("inner.embed_tokens.embedding_weight"); s && s->size() == 2) c.vocab_size = int((*s)[0]);
    if (c.num_puzzle_identifiers < 0) {
        if (auto s = shape("inner.puzzle_emb.weights"); s && s->size() == 2) c.num_puzzle_identifiers = int((*s)[0]);
        else if (c.puzzle_emb_ndim == 0) c.num_puzzle_identifiers = 1;
    }
    if (c.seq_len < 0) {
        if (auto s = shape("inner.embed_pos.embedding_weight"); s && s->size() == 2) c.seq_len = int((*s)[0]) - c.P();
        else if (auto s2 = shape("inner.L_level.layers.0.mlp_t.down_proj.weight"); s2 && s2->size() == 2)
            c.seq_len = int((*s2)[0]) - c.P();
    }
    if (c.seq_len < 0 || c.vocab_size < 0 || c.num_puzzle_identifiers < 0)
        throw Error(fmt::format("{}: cannot tell seq_len from the tensors of this model", label),
                    "pass --dataset path/to/dataset.json (or --seq-len N)");
}

Model load_official_checkpoint(const std::string& path, const LoadOptions& opt) {
    fs::path dir = fs::path(path).parent_path();
    if (dir.empty()) dir = ".";
    std::string yaml = opt.config_yaml.empty() ? (dir / "all_config.yaml").string() : opt.config_yaml;
    if (!fs::exists(yaml))
        throw Error(fmt::format("{}: no all_config.yaml beside the checkpoint", path),
                    "pass --config path/to/all_config.yaml");
    std::string ds = opt.dataset_json;
    if (ds.empty() && fs::exists(dir / "dataset.json")) ds = (dir / "dataset.json").string();
    Config c = config_from_official(yaml, ds);
    if (opt.seq_len > 0) c.seq_len = opt.seq_len;
    if (opt.vocab_size > 0) c.vocab_size = opt.vocab_size;
    if (opt.num_puzzle_identifiers > 0) c.num_puzzle_identifiers = opt.num_puzzle_identifiers;
    TensorFile f = read_torch_checkpoint(path);
    // Some checkpoints are saved without torch.compile's `_orig_mod.` wrapper: accept `model.` too.
    bool has_prefix = false;
    for (auto& [k, t] : f.tensors) if (k.rfind(kOfficialPrefix, 0) == 0) { has_prefix = true; break; }
    if (!has_prefix) {
        TensorFile g;
        for (auto& [k, t] : f.tensors) {
            std::string name = k.rfind("model.", 0) == 0 ? k.substr(6) : k;
            g.tensors.emplace(std::string(kOfficialPrefix) + name, t);
        }
        f = std::move(g);
    }
    infer_dataset_fields(c, f, path);
    try {
        c.validate();
    } catch (const Error& e) {
        fail("{}: {}", path, e.what());
    }
    return model_from_tensors(c, f, path, kOfficialPrefix);
}

Model load_model(const std::string& path, const LoadOptions& opt) {
    switch (detect_model_format(path)) {
        case ModelFormat::Safetensors: return load_native_model(path);
        case ModelFormat::TorchZip: return load_official_checkpoint(path, opt);
        default:
            throw Error(fmt::format("{}: not a model file (neither safetensors nor a torch.save zip)", path),
                        "models are .safetensors files written by trm, or official step_N checkpoints");
    }
}

TensorFile model_to_tensors(const Model& m) {
    TensorFile f;
    for (auto& p : m.layout.table) f.tensors.emplace(p.name, Tensor::from_f32(p.shape, m.arena.data() + p.offset));
    f.metadata["trm_config"] = config_to_json(m.cfg()).dump();
    f.metadata["format"] = "trm/1";
    return f;
}

void save_model(const std::string& path, const Model& m, const std::map<std::string, std::string>& extra) {
    TensorFile f = model_to_tensors(m);
    for (auto& [k, v] : extra) f.metadata.emplace(k, v);  // never replaces trm_config / format
    write_safetensors(path, f);
}

}  // namespace trm
