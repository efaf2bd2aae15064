#include "core/config.hpp"

#include <climits>
#include <cmath>
#include <type_traits>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "core/error.hpp"
#include "core/names.hpp"
#include "core/file_io.hpp"

namespace trm {

using nlohmann::json;

constexpr NameTable<PosEncoding, 4> kPosEncodingNames{{{PosEncoding::Rope, "rope"}, {PosEncoding::Rope2d, "rope2d"},
                                                       {PosEncoding::Learned, "learned"}, {PosEncoding::None, "none"}}};

const char* pos_encoding_name(PosEncoding p) { return name_of(kPosEncodingNames, p); }

PosEncoding parse_pos_encoding(const std::string& s, const std::string& label) {
    PosEncoding p = PosEncoding::None;
    if (s.empty() || from_name(kPosEncodingNames, s, &p)) return p;
    fail("{}: pos_encodings '{}' is not one of rope, rope2d, learned, none", label, s);
}

int Config::grid_side() const {
    int side = int(std::lround(std::sqrt(double(seq_len))));
    return side > 0 && side * side == seq_len ? side : -1;
}

int swiglu_inner(float expansion, int in) {
    double x = double(expansion) * in * 2.0 / 3.0;
    double r = std::nearbyint(x);  // default rounding mode: half to even, as Python's round()
    long v = long(r);
    return int(((v + 255) / 256) * 256);
}

void Config::validate() const {
    auto bad = [](const std::string& what) { throw Error("model config: " + what); };
    if (hidden_size <= 0 || hidden_size > 16384) bad(fmt::format("hidden_size {} out of range", hidden_size));
    if (num_heads <= 0 || hidden_size % num_heads) bad(fmt::format("hidden_size {} is not divisible by num_heads {}", hidden_size, num_heads));
    if (pos_encodings == PosEncoding::Rope && head_dim() % 2) bad("rope needs an even head_dim");
    if (!(expansion > 0) || expansion > 64) bad(fmt::format("expansion {} out of range", expansion));
    if (L_layers <= 0 || L_layers > 64) bad(fmt::format("L_layers {} out of range", L_layers));
    if (H_cycles <= 0 || H_cycles > 64 || L_cycles <= 0 || L_cycles > 64) bad("H_cycles and L_cycles must be in 1..64");
    if (halt_max_steps <= 0 || halt_max_steps > 1024) bad(fmt::format("halt_max_steps {} out of range", halt_max_steps));
    if (!std::isfinite(halt_threshold)) bad("halt_threshold must be a finite logit");
    if (puzzle_emb_ndim < 0 || puzzle_emb_len < 0) bad("puzzle_emb_ndim and puzzle_emb_len must be >= 0");
    if (puzzle_emb_ndim > P() * hidden_size) bad("puzzle_emb_ndim is larger than puzzle_emb_len * hidden_size");
    if (seq_len <= 0 || seq_len > 65536) bad(fmt::format("seq_len {} out of range", seq_len));
    if (pos_encodings == PosEncoding::Rope2d && head_dim() % 4) bad("rope2d needs a head_dim divisible by 4");
    if (pos_encodings == PosEncoding::Rope2d && grid_side() < 0)
        bad(fmt::format("rope2d needs a square grid, seq_len {} is not a square", seq_len));
    if (vocab_size <= 1 || vocab_size > 65536) bad(fmt::format("vocab_size {} out of range", vocab_size));
    if (num_puzzle_identifiers <= 0 || num_puzzle_identifiers > (1 << 26)) bad(fmt::format("num_puzzle_identifiers {} out of range", num_puzzle_identifiers));
    if (!(rms_norm_eps > 0)) bad("rms_norm_eps must be > 0");
    if (!identifiers.empty() && int(identifiers.size()) != num_puzzle_identifiers)
        bad(fmt::format("{} identifier names for {} puzzle identifiers", identifiers.size(), num_puzzle_identifiers));
}

// A JSON integer that fits an int. nlohmann's get<int> casts any number (16.9 -> 16, 2^32 + 16 -> 16, and 1e30 is
// undefined behaviour), so integer fields are read through this.
int json_int(const json& v, const char* key, const std::string& label) {
    if (v.is_number_integer()) {
        if (v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t(INT_MAX)
                                   : v.get<int64_t>() >= INT_MIN && v.get<int64_t>() <= INT_MAX)
            return int(v.get<int64_t>());
    } else if (v.is_number_float()) {
        const double d = v.get<double>();
        if (std::isfinite(d) && d == std::floor(d) && d >= INT_MIN && d <= INT_MAX) return int(d);  // 512.0
    }
    fail("{}: config field '{}' must be an integer, found {}", label, key, v.dump());
}

json config_to_json(const Config& c) {
    return json{
        {"hidden_size", c.hidden_size}, {"expansion", c.expansion}, {"num_heads", c.num_heads},
        {"L_layers", c.L_layers}, {"H_layers", 0}, {"H_cycles", c.H_cycles}, {"L_cycles", c.L_cycles},
        {"halt_max_steps", c.halt_max_steps}, {"halt_exploration_prob", c.halt_exploration_prob},
        {"puzzle_emb_ndim", c.puzzle_emb_ndim}, {"puzzle_emb_len", c.puzzle_emb_len}, {"mlp_t", c.mlp_t},
        {"pos_encodings", pos_encoding_name(c.pos_encodings)}, {"rms_norm_eps", c.rms_norm_eps},
        {"rope_theta", c.rope_theta}, {"no_ACT_continue", c.no_ACT_continue}, {"forward_dtype", c.forward_dtype},
        {"seq_len", c.seq_len}, {"vocab_size", c.vocab_size}, {"num_puzzle_identifiers", c.num_puzzle_identifiers},
        {"domain", c.domain}, {"token_map", c.token_map}, {"identifiers", c.identifiers},
        {"halt_threshold", c.halt_threshold},
    };
}

Config config_from_json(const json& j, const std::string& label) {
    if (!j.is_object()) fail("{}: model config is not a JSON object", label);
    Config c;
    try {
        auto get = [&](const char* k, auto& field) {
            if (!j.contains(k) || j[k].is_null()) return;
            if constexpr (std::is_same_v<std::decay_t<decltype(field)>, int>) field = json_int(j[k], k, label);
            else j.at(k).get_to(field);
        };
        get("hidden_size", c.hidden_size); get("expansion", c.expansion); get("num_heads", c.num_heads);
        get("L_layers", c.L_layers); get("H_cycles", c.H_cycles); get("L_cycles", c.L_cycles);
        get("halt_max_steps", c.halt_max_steps); get("halt_exploration_prob", c.halt_exploration_prob);
        get("puzzle_emb_ndim", c.puzzle_emb_ndim); get("puzzle_emb_len", c.puzzle_emb_len); get("mlp_t", c.mlp_t);
        get("rms_norm_eps", c.rms_norm_eps); get("rope_theta", c.rope_theta); get("no_ACT_continue", c.no_ACT_continue);
        get("forward_dtype", c.forward_dtype); get("seq_len", c.seq_len); get("vocab_size", c.vocab_size);
        get("num_puzzle_identifiers", c.num_puzzle_identifiers); get("domain", c.domain);
        get("token_map", c.token_map); get("identifiers", c.identifiers); get("halt_threshold", c.halt_threshold);
        std::string pos = "rope";
        get("pos_encodings", pos);
        c.pos_encodings = parse_pos_encoding(pos, label);
    } catch (const json::exception& e) {
        fail("{}: bad model config: {}", label, e.what());
    }
    return c;
}

Config config_from_official(const std::string& yaml_path, const std::string& dataset_json_path) {
    Config c;
    YAML::Node root;
    try {
        root = YAML::Load(read_file_text(yaml_path, 16u << 20));
    } catch (const YAML::Exception& e) {
        fail("{}:{}: not valid YAML: {}", yaml_path, e.mark.line + 1, e.msg);
    }
    if (!root.IsMap()) fail("{}: expected a YAML mapping with an 'arch:' section (is this a TRM all_config.yaml?)", yaml_path);
    YAML::Node arch = root["arch"];
    if (!arch || !arch.IsMap()) fail("{}: no 'arch:' section (is this a TRM all_config.yaml?)", yaml_path);
    try {
        if (auto name = arch["name"]; name && name.as<std::string>().find("trm@") == std::string::npos &&
                                       name.as<std::string>().find("TinyRecursive") == std::string::npos)
            fail("{}: arch.name '{}' is not a TRM model", yaml_path, name.as<std::string>());
        auto get = [&](const char* k, auto& field) {
            if (auto n = arch[k]; n && !n.IsNull()) field = n.as<std::decay_t<decltype(field)>>();
        };
        get("hidden_size", c.hidden_size); get("expansion", c.expansion); get("num_heads", c.num_heads);
        get("L_layers", c.L_layers); get("H_cycles", c.H_cycles); get("L_cycles", c.L_cycles);
        get("halt_max_steps", c.halt_max_steps); get("halt_exploration_prob", c.halt_exploration_prob);
        get("puzzle_emb_ndim", c.puzzle_emb_ndim); get("puzzle_emb_len", c.puzzle_emb_len); get("mlp_t", c.mlp_t);
        get("rms_norm_eps", c.rms_norm_eps); get("rope_theta", c.rope_theta); get("no_ACT_continue", c.no_ACT_continue);
        get("forward_dtype", c.forward_dtype);
        std::string pos = "rope";
        get("pos_encodings", pos);
        c.pos_encodings = parse_pos_encoding(pos, yaml_path);
    } catch (const YAML::Exception& e) {
        fail("{}:{}: bad arch field: {}", yaml_path, e.mark.line + 1, e.msg);
    } catch (const std::exception& e) {
        if (dynamic_cast<const Error*>(&e)) throw;
        fail("{}: bad arch section: {}", yaml_path, e.what());
    }
    c.seq_len = c.vocab_size = c.num_puzzle_identifiers = -1;
    if (!dataset_json_path.empty()) {
        json d;
        try {
            d = json::parse(read_file_text(dataset_json_path, 16u << 20));
            c.seq_len = json_int(d.at("seq_len"), "seq_len", dataset_json_path);
            c.vocab_size = json_int(d.at("vocab_size"), "vocab_size", dataset_json_path);
            c.num_puzzle_identifiers = json_int(d.at("num_puzzle_identifiers"), "num_puzzle_identifiers", dataset_json_path);
        } catch (const json::exception& e) {
            fail("{}: bad dataset.json: {}", dataset_json_path, e.what());
        }
    }
    return c;
}

}  // namespace trm
