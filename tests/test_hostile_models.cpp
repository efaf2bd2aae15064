// Hostile model files and oversized inputs: every one must be refused with a trm::Error whose one-line message
// names the file (and the tensor, where one is at fault), in bounded time and memory. Model files are generated
// here from a valid tiny model (init_weights + model_to_tensors), then damaged; hostile pickles live in
// tests/data/torch/hostile (test_torch_checkpoint.cpp).
//
// Bounded memory is checked in a forked child under RLIMIT_AS (the address space it had + 1 GiB): an allocation
// beyond that throws std::bad_alloc in the child instead of swapping the machine. Skipped under AddressSanitizer,
// which reserves terabytes of shadow address space.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.hpp"
#include "core/model_io.hpp"
#include "core/safetensors.hpp"
#include "core/trainer.hpp"
#include "puzzles/arc.hpp"
#include "puzzles/maze.hpp"
#include "puzzles/sudoku.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define TRM_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TRM_TEST_ASAN 1
#endif
#endif

namespace fs = std::filesystem;
using nlohmann::json;
using namespace trm;

namespace {

// A scratch directory for this process, removed at exit.
const fs::path& scratch() {
    struct Dir {
        fs::path p = fs::temp_directory_path() / ("trm-hostile-" + std::to_string(::getpid()));
        Dir() { fs::create_directories(p); }
        ~Dir() { std::error_code ec; fs::remove_all(p, ec); }
    };
    static Dir d;
    return d.p;
}

std::string write_bytes(const std::string& name, const std::vector<uint8_t>& b) {
    const std::string path = (scratch() / name).string();
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
    return path;
}

// The valid tiny model every hostile file starts from: D 16, 2 heads, 1 attention layer, RoPE, puzzle embedding.
Config tiny_config() {
    Config c;
    c.hidden_size = 16; c.num_heads = 2; c.expansion = 2; c.L_layers = 1; c.H_cycles = 1; c.L_cycles = 1;
    c.halt_max_steps = 2; c.puzzle_emb_ndim = 16; c.puzzle_emb_len = 1; c.mlp_t = false;
    c.pos_encodings = PosEncoding::Rope; c.seq_len = 81; c.vocab_size = 11; c.num_puzzle_identifiers = 2;
    c.domain = "sudoku";
    return c;
}
Model tiny_model() {
    Model m(tiny_config());
    init_weights(m, 7);
    return m;
}
TensorFile tiny_tensors() { return model_to_tensors(tiny_model()); }

// A safetensors file as header JSON + data bytes, so that tests can lie in the header.
struct Raw {
    json header;
    std::vector<uint8_t> data;
};
Raw to_raw(const TensorFile& f) {
    const std::vector<uint8_t> b = serialize_safetensors(f);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | b[size_t(i)];
    return {json::parse(b.begin() + 8, b.begin() + 8 + long(n)), std::vector<uint8_t>(b.begin() + 8 + long(n), b.end())};
}
std::vector<uint8_t> with_length_prefix(uint64_t n, const std::string& header, const std::vector<uint8_t>& data) {
    std::vector<uint8_t> out(8 + header.size() + data.size());
    for (int i = 0; i < 8; i++) out[size_t(i)] = uint8_t(n >> (8 * i));
    std::memcpy(out.data() + 8, header.data(), header.size());
    if (!data.empty()) std::memcpy(out.data() + 8 + header.size(), data.data(), data.size());
    return out;
}
std::vector<uint8_t> from_raw(const Raw& r) {
    const std::string h = r.header.dump();
    return with_length_prefix(h.size(), h, r.data);
}

// load_model's error message, or "" when the file loads.
std::string load_error(const std::string& path) {
    try {
        (void)load_model(path);
        return "";
    } catch (const Error& e) {
        return e.what();
    }
}

// Writes `bytes` as <name>.safetensors and checks that load_model refuses it with a message naming the file and
// holding every `parts` string.
void expect_refused(const std::string& name, const std::vector<uint8_t>& bytes, std::vector<std::string> parts) {
    const std::string path = write_bytes(name + ".safetensors", bytes);
    const auto t0 = std::chrono::steady_clock::now();
    const std::string msg = load_error(path);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO(name, ": ", msg);
    REQUIRE_MESSAGE(!msg.empty(), name, ": hostile file was loaded");
    CHECK(msg.find(path) != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
    for (const auto& p : parts) CHECK_MESSAGE(msg.find(p) != std::string::npos, "missing '", p, "'");
    // fails fast: a guard against a hang or a quadratic parse, not a speed target (the tiny file is refused in
    // milliseconds); wide, since a sanitizer build on a loaded machine took 2.4 s for the deep header
    CHECK(s < 10.0);
}
void expect_refused(const std::string& name, const TensorFile& f, std::vector<std::string> parts) {
    expect_refused(name, serialize_safetensors(f), std::move(parts));
}

constexpr const char* kEmbed = "inner.embed_tokens.embedding_weight";  // [11, 16]
constexpr const char* kHead = "inner.lm_head.weight";                  // [11, 16]

// Outcome of fn() run in a forked child with its address space limited to what it has + 1 GiB.
struct Bounded {
    enum Kind { Refused, OutOfMemory, OtherException, Loaded, Crashed } kind = Crashed;
    std::string message;
    double seconds = 0;
};
// unused in ASan builds, where RLIMIT_AS cannot bound memory
[[maybe_unused]] Bounded run_bounded(const std::function<void()>& fn) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const auto t0 = std::chrono::steady_clock::now();
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(fds[0]);
        long pages = 0;
        if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
            if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
            std::fclose(f);
        }
        const rlim_t limit = rlim_t(pages) * rlim_t(::sysconf(_SC_PAGESIZE)) + (rlim_t(1) << 30);
        struct rlimit rl{limit, limit};
        ::setrlimit(RLIMIT_AS, &rl);
        ::alarm(60);
        int code = Bounded::Loaded;
        std::string msg;
        try {
            fn();
        } catch (const Error& e) {
            code = Bounded::Refused, msg = e.what();
        } catch (const std::bad_alloc&) {
            code = Bounded::OutOfMemory, msg = "std::bad_alloc";
        } catch (const std::exception& e) {
            code = Bounded::OtherException, msg = e.what();
        }
        if (::write(fds[1], msg.data(), msg.size()) < 0) code = Bounded::Crashed;
        ::_exit(code);
    }
    ::close(fds[1]);
    Bounded out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.message.append(buf, size_t(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.kind = WIFEXITED(status) && WEXITSTATUS(status) <= Bounded::Loaded ? Bounded::Kind(WEXITSTATUS(status))
                                                                          : Bounded::Crashed;
    return out;
}

// A safetensors file with no tensors whose trm_config is `cfg`: 300 bytes claiming a model of any size.
std::vector<uint8_t> config_only(const Config& cfg) {
    TensorFile f;
    f.metadata["trm_config"] = config_to_json(cfg).dump();
    return serialize_safetensors(f);
}

}  // namespace

TEST_CASE("the untouched tiny model loads (baseline for every hostile variant)") {
    const Model m = tiny_model();
    const std::string path = write_bytes("valid.safetensors", serialize_safetensors(model_to_tensors(m)));
    const Model back = load_model(path);
    CHECK(back.arena == m.arena);
    CHECK(load_error(write_bytes("valid_raw.safetensors", from_raw(to_raw(model_to_tensors(m))))).empty());
}

TEST_CASE("truncated files are refused, naming the file") {
    const std::vector<uint8_t> full = serialize_safetensors(tiny_tensors());
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | full[size_t(i)];
    const size_t data0 = 8 + size_t(n);
    struct Cut {
        size_t keep;
        const char* expect;
    };
    for (Cut c : {Cut{0, "not a model file"}, Cut{5, "not a model file"}, Cut{9, "truncated"},
                  Cut{8 + size_t(n) / 2, "truncated"}, Cut{data0, "truncated"}, Cut{data0 + 100, "truncated"},
                  Cut{full.size() - 1, "truncated"}}) {
        CAPTURE(c.keep);
        expect_refused("cut_" + std::to_string(c.keep), std::vector<uint8_t>(full.begin(), full.begin() + long(c.keep)),
                       {c.expect});
    }
    // a cut inside the data names the tensor whose bytes are missing
    expect_refused("cut_last_byte", std::vector<uint8_t>(full.begin(), full.end() - 1), {"tensor '", "data_offsets"});
}

TEST_CASE("headers that lie about offsets are refused, naming the tensor") {
    const Raw good = to_raw(tiny_tensors());
    const uint64_t size = good.data.size();
    const uint64_t need = 11 * 16 * 4;
    auto lie = [&](const char* name, json offsets, std::vector<std::string> parts) {
        Raw r = good;
        r.header[kHead]["data_offsets"] = offsets;
        parts.push_back(kHead);
        expect_refused(name, from_raw(r), parts);
    };
    lie("offsets_past_end", {size, size + need}, {"fall outside"});
    lie("offsets_far_past_end", {uint64_t(1) << 50, (uint64_t(1) << 50) + need}, {"fall outside"});
    lie("offsets_reversed", {need, 0}, {"fall outside"});
    lie("offsets_short", {0, need - 4}, {"needs"});
    lie("offsets_negative", {-4, int64_t(need) - 4}, {"bad data_offsets"});
    lie("offsets_float", {0.5, 704.5}, {"bad data_offsets"});
    lie("offsets_three", {0, need, need}, {"bad data_offsets"});
    lie("offsets_string", "0-704", {"bad data_offsets"});
    lie("offsets_u64_max", {std::numeric_limits<uint64_t>::max() - 3, std::numeric_limits<uint64_t>::max()},
        {"fall outside"});
}

// As the reference implementation (safetensors `validate`: InvalidOffset / MetadataIncompleteBuffer), byte ranges
// must be disjoint and cover the data exactly: otherwise one tensor could alias another's bytes and load wrong.
TEST_CASE("headers whose offsets alias another tensor are refused") {
    const Raw good = to_raw(tiny_tensors());
    Raw alias = good;
    alias.header[kHead]["data_offsets"] = good.header[kEmbed]["data_offsets"];  // same shape, same bytes
    expect_refused("offsets_alias", from_raw(alias), {"overlap", kHead, kEmbed});
}

TEST_CASE("data bytes no tensor covers are refused") {
    Raw trailing = to_raw(tiny_tensors());
    trailing.data.resize(trailing.data.size() + 64, 0);
    expect_refused("trailing_bytes", from_raw(trailing), {"belong to no tensor", "trailing"});
    Raw hole = to_raw(tiny_tensors());  // every offset moved 64 bytes on: a hole before the first tensor
    for (auto& [name, v] : hole.header.items())
        if (name != "__metadata__")
            v["data_offsets"] = {v["data_offsets"][0].get<uint64_t>() + 64, v["data_offsets"][1].get<uint64_t>() + 64};
    hole.data.insert(hole.data.begin(), 64, 0);
    expect_refused("hole", from_raw(hole), {"data bytes [0, 64] belong to no tensor"});
}

TEST_CASE("headers that lie about shapes are refused, naming the tensor") {
    auto lie = [&](const char* name, json shape, std::vector<std::string> parts) {
        Raw r = to_raw(tiny_tensors());
        r.header[kEmbed]["shape"] = shape;
        parts.push_back(kEmbed);
        expect_refused(name, from_raw(r), parts);
    };
    lie("shape_transposed", {16, 11}, {"has shape [16, 11], expected [11, 16]"});  // same byte count
    lie("shape_flat", {176}, {"has shape [176], expected [11, 16]"});
    lie("shape_more_elements", {11, 17}, {"needs 748"});
    lie("shape_fewer_elements", {11, 15}, {"needs 660"});
    lie("shape_negative", {-11, -16}, {"bad shape"});
    lie("shape_float", {11.0, 16.5}, {"bad shape"});
    lie("shape_string", "[11, 16]", {"shape is not a list"});
    lie("shape_scalar", json::array(), {"needs 4"});
}

TEST_CASE("weights of the wrong dtype are refused, naming the tensor and dtype") {
    for (const char* dt : {"I64", "I32", "I16", "I8", "U8", "BOOL"}) {
        TensorFile f = tiny_tensors();
        Tensor& t = f.tensors.at(kHead);
        DType d;
        REQUIRE(dtype_from_name(dt, &d));
        t.dtype = d;
        t.bytes.assign(size_t(t.numel()) * dtype_size(d), 1);  // right shape, right byte count, integer type
        expect_refused(std::string("dtype_") + dt, f, {kHead, std::string("dtype ") + dt, "expected F32 or BF16"});
    }
    for (const char* dt : {"F8_E4M3", "float32", "f32", ""}) {
        Raw r = to_raw(tiny_tensors());
        r.header[kHead]["dtype"] = dt;
        expect_refused(std::string("dtype_unknown_") + dt, from_raw(r), {kHead, "unsupported dtype"});
    }
    Raw r = to_raw(tiny_tensors());
    r.header[kHead]["dtype"] = 32;
    expect_refused("dtype_number", from_raw(r), {kHead, "unsupported dtype"});
}

TEST_CASE("NaN and Inf weights are refused, naming the tensor and index") {
    struct Case {
        const char* name;
        const char* tensor;
        float value;
        int index;
        const char* shown;
    };
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    for (Case c : {Case{"nan_head", kHead, nan, 5, "nan"}, Case{"inf_h_init", "inner.H_init", inf, 0, "inf"},
                   Case{"neginf_last", "inner.q_head.bias", -inf, 1, "-inf"},
                   Case{"nan_puzzle_emb", "inner.puzzle_emb.weights", nan, 31, "nan"}}) {
        TensorFile f = tiny_tensors();
        Tensor& t = f.tensors.at(c.tensor);
        std::memcpy(t.bytes.data() + 4 * c.index, &c.value, 4);
        expect_refused(c.name, f, {c.tensor, "non-finite", c.shown, "at index " + std::to_string(c.index)});
    }
    // the same in BF16 storage (0x7fc0 NaN, 0xff80 -Inf)
    for (uint16_t bits : {uint16_t(0x7fc0), uint16_t(0xff80)}) {
        TensorFile f = tiny_tensors();
        Tensor& t = f.tensors.at(kEmbed);
        std::vector<uint8_t> b(size_t(t.numel()) * 2, 0);
        b[2 * 7] = uint8_t(bits), b[2 * 7 + 1] = uint8_t(bits >> 8);
        t.dtype = DType::BF16;
        t.bytes = b;
        expect_refused("bf16_" + std::to_string(bits), f, {kEmbed, "non-finite", "at index 7"});
    }
}

TEST_CASE("sizes claiming terabytes are refused at once") {
    const Raw good = to_raw(tiny_tensors());
    const std::string h = good.header.dump();
    expect_refused("length_1tb", with_length_prefix(uint64_t(1) << 40, h, good.data), {"header length"});
    expect_refused("length_max", with_length_prefix(~uint64_t(0), h, good.data), {"header length"});
    expect_refused("length_past_file", with_length_prefix(h.size() + good.data.size() + 1, h, good.data),
                   {"truncated"});
    auto lie = [&](const char* name, json shape, json offsets, std::vector<std::string> parts) {
        Raw r = good;
        r.header[kHead]["shape"] = shape;
        r.header[kHead]["data_offsets"] = offsets;
        parts.push_back(kHead);
        expect_refused(name, from_raw(r), parts);
    };
    const uint64_t tb4 = uint64_t(4) << 40;  // [2^20, 2^20] F32
    lie("tensor_4tb", {1 << 20, 1 << 20}, {0, tb4}, {"fall outside"});
    lie("tensor_4tb_in_range", {1 << 20, 1 << 20}, {0, 704}, {"needs 4398046511104"});
    lie("tensor_2pow41", {uint64_t(1) << 41}, {0, 704}, {"absurdly large"});
    lie("tensor_overflow", {uint64_t(1) << 30, uint64_t(1) << 30, uint64_t(1) << 30}, {0, 704}, {"absurdly large"});
    lie("tensor_u64_dims", {~uint64_t(0), ~uint64_t(0)}, {0, 704}, {"absurdly large"});
}

TEST_CASE("missing, extra and renamed tensors are refused, naming the tensor") {
    {
        TensorFile f = tiny_tensors();
        f.tensors.erase(kHead);
        expect_refused("missing_head", f, {"missing tensor 'inner.lm_head.weight'"});
    }
    {
        TensorFile f = tiny_tensors();
        f.tensors.erase("inner.L_level.layers.0.mlp.down_proj.weight");
        expect_refused("missing_down", f, {"missing tensor 'inner.L_level.layers.0.mlp.down_proj.weight'"});
    }
    {
        TensorFile f = tiny_tensors();
        f.tensors.emplace("inner.L_level.layers.1.mlp.down_proj.weight", f.tensors.at("inner.L_level.layers.0.mlp.down_proj.weight"));
        expect_refused("extra_layer", f, {"unexpected tensor 'inner.L_level.layers.1.mlp.down_proj.weight'"});
    }
    {
        TensorFile f = tiny_tensors();
        f.tensors.emplace("_orig_mod.model.inner.lm_head.weight", f.tensors.at(kHead));
        expect_refused("extra_prefixed", f, {"unexpected tensor '_orig_mod.model.inner.lm_head.weight'"});
    }
    {
        TensorFile f = tiny_tensors();
        f.tensors.emplace("inner.embed_pos.embedding_weight", Tensor::from_f32({82, 16}, std::vector<float>(82 * 16).data()));
        expect_refused("extra_embed_pos", f, {"unexpected tensor 'inner.embed_pos.embedding_weight'"});
    }
    {
        TensorFile f = tiny_tensors();
        auto t = f.tensors.extract(kHead);
        t.key() = "inner.lm_head.weights";
        f.tensors.insert(std::move(t));
        expect_refused("renamed_head", f, {"missing tensor 'inner.lm_head.weight'"});
    }
}

TEST_CASE("bad trm_config metadata is refused, naming the file") {
    auto with_meta = [&](const char* name, std::map<std::string, std::string> meta, std::vector<std::string> parts) {
        TensorFile f = tiny_tensors();
        f.metadata = std::move(meta);
        expect_refused(name, f, std::move(parts));
    };
    const json good = config_to_json(tiny_config());
    auto edited = [&](const char* key, json v) {
        json j = good;
        j[key] = v;
        return j.dump();
    };
    with_meta("no_config", {{"format", "trm/1"}}, {"no trm_config"});
    with_meta("config_not_json", {{"trm_config", "{hidden_size: 16"}}, {"trm_config metadata is not valid JSON"});
    with_meta("config_array", {{"trm_config", "[16, 2]"}}, {"model config is not a JSON object"});
    with_meta("config_hidden_string", {{"trm_config", edited("hidden_size", "sixteen")}}, {"config field 'hidden_size' must be an integer, found \"sixteen\""});
    with_meta("config_heads_3", {{"trm_config", edited("num_heads", 3)}}, {"not divisible by num_heads 3"});
    with_meta("config_seq_0", {{"trm_config", edited("seq_len", 0)}}, {"seq_len 0 out of range"});
    with_meta("config_pos", {{"trm_config", edited("pos_encodings", "sinusoidal")}}, {"pos_encodings 'sinusoidal'"});
    {
        json j = good;
        j["pos_encodings"] = "rope2d";
        j["seq_len"] = 80;
        with_meta("config_rope2d_not_square", {{"trm_config", j.dump()}}, {"rope2d needs a square grid, seq_len 80"});
    }
    with_meta("config_token_map", {{"trm_config", edited("token_map", 7)}}, {"bad model config"});
    with_meta("config_two_layers", {{"trm_config", edited("L_layers", 2)}},
              {"missing tensor 'inner.L_level.layers.1.self_attn.qkv_proj.weight'"});
    with_meta("config_wider", {{"trm_config", edited("hidden_size", 32)}}, {"has shape [16], expected [32]", "inner.H_init"});
    // __metadata__ itself malformed
    Raw r = to_raw(tiny_tensors());
    r.header["__metadata__"] = json::array();
    expect_refused("metadata_array", from_raw(r), {"__metadata__ is not an object"});
    r.header["__metadata__"] = {{"trm_config", json::object()}};
    expect_refused("metadata_value_object", from_raw(r), {"__metadata__ value 'trm_config' is not a string"});
}

// nlohmann's get_to(int) casts any JSON number (16.9 -> 16, 2^32 + 16 -> 16, 1e30 undefined behaviour, found by
// fuzz_safetensors: fuzz/corpus/safetensors/crash_F3_hidden_size_1e30.safetensors); integer fields go through
// json_int, which requires an exact integer in int range.
TEST_CASE("integer config fields that are fractional or out of int range are refused") {
    for (json v : {json(16.9), json(uint64_t(1) << 32 | 16), json(1e30), json(-1e30), json("16"), json(true)}) {
        TensorFile f = tiny_tensors();
        json j = config_to_json(tiny_config());
        j["hidden_size"] = v;
        f.metadata["trm_config"] = j.dump();
        expect_refused("config_hidden_" + v.dump(), f, {"config field 'hidden_size' must be an integer"});
    }
}

TEST_CASE("a training-state file given as a model is refused") {
    TrainOptions o;
    o.batch_size = 2;
    Trainer t(tiny_model(), o);
    const std::string state = (scratch() / "run.state").string();
    t.save_state(state);
    const std::string msg = load_error(state);
    CHECK(msg.find(state) != std::string::npos);
    CHECK(msg.find("missing tensor 'inner.H_init'") != std::string::npos);
}

TEST_CASE("a training state whose batch_size lies is refused before allocating") {
    TrainOptions o;
    o.batch_size = 2;
    Trainer t(tiny_model(), o);
    const std::string good = (scratch() / "good.state").string();
    t.save_state(good);
    const TensorFile f = read_safetensors(good);
    auto state_error = [&](const std::string& name, json batch) {
        TensorFile g = f;
        json opts = json::parse(g.metadata.at("train_options"));
        opts["batch_size"] = batch;
        g.metadata["train_options"] = opts.dump();
        const std::string path = (scratch() / (name + ".state")).string();
        write_safetensors(path, g);
        try {
            (void)Trainer::load_state(path);
            return std::string();
        } catch (const Error& e) {
            CHECK(std::string(e.what()).find(path) != std::string::npos);
            return std::string(e.what());
        }
    };
    CHECK(state_error("batch_huge", 1 << 30).find("batch_size 1073741824 is outside 1..65536") != std::string::npos);
    CHECK(state_error("batch_zero", 0).find("batch_size 0 is outside") != std::string::npos);
    CHECK(state_error("batch_float", 2.5).find("'batch_size' must be an integer") != std::string::npos);
    CHECK(state_error("batch_other", 3).find("'carry.tokens' holds") != std::string::npos);
    CHECK(state_error("batch_same", 2).empty());
}

TEST_CASE("deeply nested JSON in a header or config does not overflow the stack") {
    std::string deep_object;
    for (int i = 0; i < (1 << 20); i++) deep_object += "{\"a\":";
    deep_object += "1" + std::string(1 << 20, '}');
    expect_refused("deep_header", with_length_prefix(deep_object.size(), deep_object, {}),
                   {"tensor 'a' needs dtype, shape and data_offsets"});
    const std::string deep = std::string(1 << 20, '[') + std::string(1 << 20, ']');
    TensorFile f = tiny_tensors();
    f.metadata["trm_config"] = deep;
    expect_refused("deep_config", f, {"model config is not a JSON object"});
}

// model_from_tensors checks names and shapes against Layout(cfg) (no arena) before it builds the Model, so a
// 300-byte file whose trm_config claims a big model (every field within Config::validate's ranges) is refused with
// "missing tensor" instead of allocating gigabytes to terabytes.
TEST_CASE("a config claiming a huge model fails fast in bounded memory") {
    Config tb = tiny_config();  // ~9 TB of float32
    tb.hidden_size = 16384; tb.num_heads = 128; tb.expansion = 64; tb.L_layers = 64;
    Config gb = tiny_config();  // ~6 GB of float32
    gb.hidden_size = 4096; gb.num_heads = 32; gb.expansion = 4; gb.L_layers = 8;
    for (const Config& c : {tb, gb}) {
        const std::string path = write_bytes("huge_" + std::to_string(c.hidden_size) + ".safetensors", config_only(c));
        CHECK(fs::file_size(path) < 1024);
#ifdef TRM_TEST_ASAN  // RLIMIT_AS cannot bound AddressSanitizer's shadow memory: check the refusal directly
        const std::string msg = load_error(path);
        INFO(path, ": ", msg);
        CHECK(msg.find("missing tensor") != std::string::npos);
#else
        const Bounded b = run_bounded([&] { (void)load_model(path); });
        INFO(path, ": ", b.message);
        CHECK(b.kind == Bounded::Refused);
        CHECK(b.message.find("missing tensor") != std::string::npos);
        CHECK(b.seconds < 5.0);
#endif
    }
}

// ---- resource bounds of the puzzle readers ---------------------------------------------------------------------

// `n` bytes of `c` without a newline, generated as they are read (n may exceed the machine's memory).
struct EndlessLine : std::streambuf {
    char buf[1 << 16];
    uint64_t left;
    EndlessLine(char c, uint64_t n) : left(n) { std::memset(buf, c, sizeof buf); }
    int_type underflow() override {
        if (left == 0) return traits_type::eof();
        const size_t k = size_t(std::min<uint64_t>(left, sizeof buf));
        left -= k;
        setg(buf, buf, buf + k);
        return traits_type::to_int_type(buf[0]);
    }
};

// The reader's error on one line of `n` copies of `c`, read from a stream named "stdin".
template <typename Reader, typename Item>
std::string long_line_error(char c, uint64_t n) {
    EndlessLine sb(c, n);
    std::istream in(&sb);
    Reader r(in, "stdin");
    Item item;
    try {
        r.next(item);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST_CASE("a 10 MB single line on stdin is refused by the Sudoku and maze readers") {
    for (char c : {'1', '.'}) {
        const std::string msg = long_line_error<SudokuReader, SudokuPuzzle>(c, 10u << 20);
        INFO(msg);
        CHECK(msg.rfind("stdin:1: line is longer than 1048576 bytes", 0) == 0);
    }
    for (char c : {'#', ' '}) {
        const std::string msg = long_line_error<MazeReader, Maze>(c, 10u << 20);
        INFO(msg);
        CHECK(msg.rfind("stdin:1: line is longer than 1048576 bytes", 0) == 0);
    }
}

TEST_CASE("an endless line (64 GiB) is refused in bounded memory") {
#ifdef TRM_TEST_ASAN
    MESSAGE("skipped: RLIMIT_AS checks cannot run under AddressSanitizer");
#else
    // a reader that held the whole line would exhaust the child's +1 GiB address space (std::bad_alloc)
    auto refused_fast = [](const std::function<std::string()>& read) {
        const Bounded b = run_bounded([&] {
            const std::string e = read();
            if (!e.empty()) throw Error(e);
        });
        INFO(b.message);
        CHECK(b.kind == Bounded::Refused);
        CHECK(b.seconds < 5.0);
    };
    refused_fast([] { return long_line_error<SudokuReader, SudokuPuzzle>('5', uint64_t(64) << 30); });
    refused_fast([] { return long_line_error<MazeReader, Maze>('#', uint64_t(64) << 30); });
#endif
}

TEST_CASE("a 1 GB ARC file (sparse) is refused before it is read") {
    const std::string path = (scratch() / "huge_arc.json").string();
    { std::ofstream(path) << "{"; }
    fs::resize_file(path, uint64_t(1) << 30);
    const auto t0 = std::chrono::steady_clock::now();
    std::string msg;
    try {
        (void)load_arc_tasks(path);
    } catch (const Error& e) {
        msg = e.what();
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO(msg);
    CHECK(msg.find(path) != std::string::npos);
    CHECK(msg.find("1073741824") != std::string::npos);
    CHECK(s < 1.0);
    fs::remove(path);
}
