// torch.save() checkpoint reader (core/torch_checkpoint.hpp):
//   - the four official-TRM fixtures' step_100 files against golden summaries written by Python's own pickle
//     (tests/data/torch/make_expected.py), value by value through sums, weighted sums and first elements;
//   - tiny.pt (tests/data/torch/make_hostile.py): strided / offset / scalar / expanded / empty / shared-storage /
//     parameter tensors in F32, BF16, F16, I64; the same state_dict in torch 2.x layout, protocol 4 and deflate;
//   - every file in tests/data/torch/hostile/ is refused with an Error naming the reason;
//   - truncations, byte flips and pickle mutations never crash and throw nothing but trm::Error.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/rng.hpp"
#include "core/torch_checkpoint.hpp"

namespace fs = std::filesystem;
using namespace trm;

static const std::string kData = std::string(TRM_SOURCE_DIR) + "/tests/data/torch/";
static const std::string kFixtures = std::string(TRM_SOURCE_DIR) + "/tests/data/official-trm/";

static std::string compact_shape(const std::vector<int64_t>& s) {  // "[11,64]", as make_expected.py writes
    std::string out = "[";
    for (size_t i = 0; i < s.size(); i++) {
        if (i) out += ',';
        out += std::to_string(s[i]);
    }
    return out + "]";
}

// Returns the Error message, or "" if parsing succeeded; anything but trm::Error fails the test.
static std::string parse_error(const std::vector<uint8_t>& bytes, const std::string& label) {
    try {
        parse_torch_checkpoint(bytes.data(), bytes.size(), label);
        return "";
    } catch (const Error& e) {
        std::string msg = e.what();
        CHECK_MESSAGE(msg.find('\n') == std::string::npos, "multi-line error: " << msg);
        CHECK_MESSAGE(msg.rfind(label + ": ", 0) == 0, "error does not start with the file label: " << msg);
        return msg.empty() ? "(empty message)" : msg;
    } catch (const std::exception& e) {
        FAIL_CHECK(label << ": escaped a non-trm exception: " << e.what());
        return "non-trm exception";
    }
}

TEST_CASE("official fixtures: names, dtypes, shapes and values match Python's pickle") {
    for (const char* variant : {"sudoku_mlp", "sudoku_att", "maze_learned", "arc_att"}) {
        INFO("variant " << std::string(variant));
        const std::string path = kFixtures + variant + "/step_100";
        REQUIRE_MESSAGE(fs::exists(path), "fixture missing: " << path);
        REQUIRE(is_zip_file(path));
        const TensorFile tf = read_torch_checkpoint(path);

        std::ifstream golden(kData + "expected_" + variant + ".txt");
        REQUIRE(golden.good());
        size_t lines = 0;
        std::string line;
        while (std::getline(golden, line)) {
            std::istringstream ss(line);
            std::string name, dtype, shape;
            int64_t numel;
            double sum, wsum;
            REQUIRE(bool(ss >> name >> dtype >> shape >> numel >> sum >> wsum));
            std::vector<double> first;
            for (double v; ss >> v;) first.push_back(v);
            INFO("tensor " << name);
            REQUIRE(tf.has(name));
            const Tensor& t = tf.tensors.at(name);
            CHECK(dtype_name(t.dtype) == dtype);
            CHECK(compact_shape(t.shape) == shape);
            REQUIRE(t.numel() == numel);
            REQUIRE(t.bytes.size() == size_t(numel) * dtype_size(t.dtype));
            const std::vector<double> v = t.to_f64();
            double s = 0, ws = 0;  // same order as Python: identical doubles expected; 1e-12 leaves room for libm-free noise
            for (size_t i = 0; i < v.size(); i++) { s += v[i]; ws += double((i % 7) + 1) * v[i]; }
            CHECK(s == doctest::Approx(sum).epsilon(1e-12));
            CHECK(ws == doctest::Approx(wsum).epsilon(1e-12));
            for (size_t i = 0; i < first.size(); i++) CHECK(v[i] == first[i]);  // exact: repr round-trips
            lines++;
        }
        CHECK(lines == tf.tensors.size());

        // The contract the model loader relies on: H_init/L_init bf16 [hidden], everything else float32.
        const int64_t hidden = tf.at("_orig_mod.model.inner.embed_tokens.embedding_weight", path).shape.at(1);
        for (const auto& [name, t] : tf.tensors) {
            INFO("tensor " << name);
            CHECK(name.rfind("_orig_mod.model.inner.", 0) == 0);
            const bool init = name.ends_with(".H_init") || name.ends_with(".L_init");
            CHECK(t.dtype == (init ? DType::BF16 : DType::F32));
            if (init) CHECK(t.shape == std::vector<int64_t>{hidden});
        }
        CHECK(tf.at("_orig_mod.model.inner.q_head.bias", path).shape == std::vector<int64_t>{2});
    }
}

static void check_tiny(const TensorFile& tf) {
    REQUIRE(tf.tensors.size() == 8);
    CHECK(tf.at("a", "tiny").shape == std::vector<int64_t>{3, 2});
    CHECK(tf.at("a", "tiny").to_f32() == std::vector<float>{2, 5, 3, 6, 4, 7});  // offset 2, stride (1, 3)
    CHECK(tf.at("b", "tiny").dtype == DType::BF16);
    CHECK(tf.at("b", "tiny").to_f32() == std::vector<float>{1, -2, 0.5f, 3});
    CHECK(tf.at("c", "tiny").shape.empty());                                       // 0-dim scalar
    CHECK(tf.at("c", "tiny").to_f32() == std::vector<float>{11});
    CHECK(tf.at("e", "tiny").to_f32() == std::vector<float>{4, 5, 6, 4, 5, 6});    // stride (0, 1)
    CHECK(tf.at("z", "tiny").shape == std::vector<int64_t>{0, 5});
    CHECK(tf.at("z", "tiny").bytes.empty());
    CHECK(tf.at("i", "tiny").dtype == DType::I64);
    CHECK(tf.at("i", "tiny").to_i64() == std::vector<int64_t>{-1, int64_t(1) << 40, 7});
    CHECK(tf.at("h", "tiny").dtype == DType::F16);
    CHECK(tf.at("h", "tiny").to_f32() == std::vector<float>{1.5f, -0.25f});
    CHECK(tf.at("p", "tiny").dtype == DType::BF16);                                // _rebuild_parameter
    CHECK(tf.at("p", "tiny").to_f32() == std::vector<float>{-2, 3});
}

static void check_same(const TensorFile& a, const TensorFile& b) {
    REQUIRE(a.tensors.size() == b.tensors.size());
    for (const auto& [name, t] : a.tensors) {
        INFO("tensor " << name);
        REQUIRE(b.has(name));
        const Tensor& u = b.tensors.at(name);
        CHECK(t.dtype == u.dtype);
        CHECK(t.shape == u.shape);
        CHECK(t.bytes == u.bytes);
    }
}

TEST_CASE("tiny checkpoint: strides, offsets, scalars, expanded, empty, shared storages, parameters") {
    const TensorFile tiny = read_torch_checkpoint(kData + "tiny.pt");
    check_tiny(tiny);
    SUBCASE("torch 2.x layout (archive/, byteorder, .data/serialization_id, protocol 4) loads identically") {
        check_same(tiny, read_torch_checkpoint(kData + "tiny_torch2.pt"));
    }
    SUBCASE("deflate-compressed records load identically") {
        check_same(tiny, read_torch_checkpoint(kData + "tiny_deflate.pt"));
    }
}

TEST_CASE("official arc_att rewritten in torch 2.x layout loads identically") {
    const std::string path = kFixtures + "arc_att/step_100";
    REQUIRE_MESSAGE(fs::exists(path), "fixture missing: " << path);
    check_same(read_torch_checkpoint(path), read_torch_checkpoint(kData + "arc_att_torch2.pt"));
}

TEST_CASE("is_zip_file") {
    CHECK(is_zip_file(kData + "tiny.pt"));
    CHECK_FALSE(is_zip_file(kData + "tiny_p2.pkl"));
    CHECK_FALSE(is_zip_file(kData + "hostile/empty.pt"));
    CHECK_FALSE(is_zip_file(kData + "does-not-exist.pt"));
    CHECK_THROWS_AS(read_torch_checkpoint(kData + "does-not-exist.pt"), Error);
}

// Each hostile file and a piece of the message that must explain why it was refused.
static const std::map<std::string, std::string> kHostile = {
    {"empty.pt", "file is empty"},
    {"garbage.pt", "not a zip archive"},
    {"garbage_pk.pt", "not a valid zip archive"},
    {"legacy_pickle.pt", "bare pickle"},
    {"truncated_zip.pt", "not a valid zip archive"},
    {"no_data_pkl.pt", "no <archive>/data.pkl record"},
    {"two_data_pkl.pt", "2 data.pkl records"},
    {"missing_storage.pt", "has no record 'tiny/data/1'"},
    {"big_endian.pt", "big-endian"},
    {"crc_corrupt.pt", "CRC error"},
    {"global_os_system.pt", "refusing pickle global 'os.system'"},
    {"global_posix_system.pt", "refusing pickle global 'posix.system'"},
    {"global_builtins_eval.pt", "refusing pickle global 'builtins.eval'"},
    {"global_getattr.pt", "refusing pickle global '__builtin__.getattr'"},
    {"global_torch_load.pt", "refusing pickle global 'torch.load'"},
    {"inst_opcode.pt", "refusing pickle opcode INST at byte 18"},
    {"obj_opcode.pt", "refusing pickle opcode OBJ"},
    {"newobj_opcode.pt", "refusing pickle opcode NEWOBJ"},
    {"ext_opcode.pt", "refusing pickle opcode EXT1"},
    {"reduce_on_str.pt", "REDUCE calls a str"},
    {"reduce_storage_type.pt", "torch.FloatStorage may only appear in a storage persistent id"},
    {"ordereddict_args.pt", "collections.OrderedDict called with 1 arguments"},
    {"bad_protocol.pt", "unsupported pickle protocol 9"},
    {"truncated_pickle.pt", "truncated BINUNICODE: needs 1000 bytes, 5 left"},
    {"no_stop.pt", "pickle ends without STOP"},
    {"trailing_after_stop.pt", "4 bytes after STOP"},
    {"memo_missing.pt", "memo entry 7 that was never stored"},
    {"stack_underflow.pt", "TUPLE2 needs 2 values"},
    {"mark_underflow.pt", "TUPLE without a MARK"},
    {"long_int.pt", "does not fit in 64 bits"},
    {"huge_string.pt", "truncated BINUNICODE8"},
    {"huge_memo_index.pt", "memo index 4294967295 beyond the limit"},
    {"deep_tuples.pt", "entry 'x' is a tuple, not a tensor"},
    {"deep_marks.pt", "nested MARKs"},
    {"wrong_top_level.pt", "holds a list, not a state_dict"},
    {"non_tensor_value.pt", "entry 'step' is an int, not a tensor"},
    {"non_str_key.pt", "state_dict key is an int"},
    {"duplicate_key.pt", "entry 'a' appears twice"},
    {"bad_persid.pt", "storage type is a str"},
    {"build_on_tuple.pt", "BUILD of a tuple"},
    {"out_of_bounds.pt", "tensor 'x' (shape [3, 4], stride [4, 1], offset 2) reads outside its storage of 12"},
    {"offset_past_end.pt", "reads outside its storage"},
    {"negative_stride.pt", "negative stride"},
    {"negative_size.pt", "negative size"},
    {"rank_mismatch.pt", "has size [3, 4] but stride [4]"},
    {"too_many_dims.pt", "100 dimensions, more than 64"},
    {"huge_numel.pt", "claims 4611686018427387904 elements"},
    {"storage_size_mismatch.pt", "record 'tiny/data/0' has 48 bytes, but the pickle declares 52 (13 x F32)"},
    {"huge_shape.pt", "too many elements"},
    {"expand_bomb.pt", "more than the 67109056 its 48 bytes of storage allow"},
    {"index_overflow.pt", "reads outside its storage"},
    {"storage_shared_mismatch.pt", "storage '0' is used as 96 bytes (12 x F64) but its record has 48"},
    {"deflate_bomb.pt", "not a plausible compressed record"},
};

TEST_CASE("hostile files are refused with an Error that names the reason") {
    std::set<std::string> on_disk;
    for (const auto& e : fs::directory_iterator(kData + "hostile")) on_disk.insert(e.path().filename().string());
    for (const auto& name : on_disk) CHECK_MESSAGE(kHostile.count(name), "hostile/" << name << " has no expectation");
    for (const auto& [name, reason] : kHostile) {
        INFO("hostile/" << name);
        REQUIRE(on_disk.count(name));
        const std::string path = kData + "hostile/" + name;
        const std::string msg = parse_error(read_file_bytes(path), path);
        INFO("message: " << msg);
        CHECK(msg.find(reason) != std::string::npos);
    }
}

// ---- mutation tests ---------------------------------------------------------------------------------------------

// A minimal stored (uncompressed) zip writer, so mutated pickles can be wrapped with valid CRCs.
static uint32_t crc32(const std::vector<uint8_t>& d) {
    uint32_t c = 0xffffffffu;
    for (uint8_t b : d) {
        c ^= b;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static std::vector<uint8_t> make_zip(const std::vector<std::pair<std::string, std::vector<uint8_t>>>& records) {
    std::vector<uint8_t> out, central;
    auto put = [](std::vector<uint8_t>& v, uint64_t x, int bytes) {
        for (int i = 0; i < bytes; i++) v.push_back(uint8_t(x >> (8 * i)));
    };
    for (const auto& [name, data] : records) {
        const uint32_t crc = crc32(data), offset = uint32_t(out.size());
        put(out, 0x04034b50, 4); put(out, 20, 2); put(out, 0, 2); put(out, 0, 2);   // sig, version, flags, stored
        put(out, 0, 2); put(out, 0x21, 2); put(out, crc, 4);                        // time, date 1980-01-01, crc
        put(out, data.size(), 4); put(out, data.size(), 4);
        put(out, name.size(), 2); put(out, 0, 2);
        out.insert(out.end(), name.begin(), name.end());
        out.insert(out.end(), data.begin(), data.end());
        put(central, 0x02014b50, 4); put(central, 20, 2); put(central, 20, 2); put(central, 0, 2);
        put(central, 0, 2); put(central, 0, 2); put(central, 0x21, 2); put(central, crc, 4);
        put(central, data.size(), 4); put(central, data.size(), 4);
        put(central, name.size(), 2); put(central, 0, 2); put(central, 0, 2);       // name, extra, comment
        put(central, 0, 2); put(central, 0, 2); put(central, 0, 4); put(central, offset, 4);
        central.insert(central.end(), name.begin(), name.end());
    }
    const uint32_t cd_offset = uint32_t(out.size());
    out.insert(out.end(), central.begin(), central.end());
    put(out, 0x06054b50, 4); put(out, 0, 2); put(out, 0, 2);
    put(out, records.size(), 2); put(out, records.size(), 2);
    put(out, central.size(), 4); put(out, cd_offset, 4); put(out, 0, 2);
    return out;
}

// tiny's storages (make_hostile.py TINY_STORAGES), raw little-endian bytes.
static std::vector<std::pair<std::string, std::vector<uint8_t>>> tiny_records(const std::vector<uint8_t>& pkl) {
    auto bytes = [](const void* p, size_t n) {
        const auto* b = static_cast<const uint8_t*>(p);
        return std::vector<uint8_t>(b, b + n);
    };
    float f[12];
    for (int i = 0; i < 12; i++) f[i] = float(i);
    const uint16_t bf[4] = {0x3f80, 0xc000, 0x3f00, 0x4040};  // 1, -2, 0.5, 3
    const int64_t l[3] = {-1, int64_t(1) << 40, 7};
    const uint16_t h[2] = {0x3e00, 0xb400};                    // 1.5, -0.25
    return {{"tiny/data.pkl", pkl}, {"tiny/data/0", bytes(f, sizeof f)}, {"tiny/data/1", bytes(bf, sizeof bf)},
            {"tiny/data/2", bytes(l, sizeof l)}, {"tiny/data/3", bytes(h, sizeof h)},
            {"tiny/version", {'3', '\n'}}};
}

TEST_CASE("the test zip writer reproduces tiny.pt's contents") {
    const auto zip = make_zip(tiny_records(read_file_bytes(kData + "tiny_p2.pkl")));
    check_tiny(parse_torch_checkpoint(zip.data(), zip.size(), "written"));
}

TEST_CASE("truncations and byte flips of whole archives throw only trm::Error") {
    for (const char* file : {"tiny.pt", "tiny_torch2.pt", "tiny_deflate.pt"}) {
        const std::vector<uint8_t> good = read_file_bytes(kData + file);
        size_t refused = 0;
        for (size_t n = 0; n < good.size(); n++) {
            std::vector<uint8_t> cut(good.begin(), good.begin() + std::ptrdiff_t(n));
            if (!parse_error(cut, fmt::format("{}[:{}]", file, n)).empty()) refused++;
        }
        CHECK(refused == good.size());  // no prefix of a zip is a complete checkpoint
        for (size_t i = 0; i < good.size(); i++) {
            std::vector<uint8_t> bad = good;
            bad[i] ^= 0xff;
            parse_error(bad, fmt::format("{}^{}", file, i));
        }
    }
}

TEST_CASE("pickle mutations (valid zip, random bytes changed) throw only trm::Error") {
    // Deterministic: 3000 mutants per pickle, each 1-4 random byte edits (overwrite, insert, delete).
    Rng rng(20251129);
    size_t accepted = 0, total = 0;
    for (const char* file : {"tiny_p2.pkl", "tiny_p4.pkl"}) {
        const std::vector<uint8_t> pkl = read_file_bytes(kData + file);
        {
            const auto zip = make_zip(tiny_records(pkl));
            check_tiny(parse_torch_checkpoint(zip.data(), zip.size(), file));
        }
        for (int m = 0; m < 3000; m++) {
            std::vector<uint8_t> p = pkl;
            for (int e = 0, edits = rng.range(1, 4); e < edits && !p.empty(); e++) {
                const size_t at = size_t(rng.below(p.size()));
                const uint8_t b = uint8_t(rng.below(256));
                switch (rng.below(3)) {
                    case 0: p[at] = b; break;
                    case 1: p.insert(p.begin() + std::ptrdiff_t(at), b); break;
                    default: p.erase(p.begin() + std::ptrdiff_t(at)); break;
                }
            }
            const auto zip = make_zip(tiny_records(p));
            if (parse_error(zip, fmt::format("{}#{}", file, m)).empty()) accepted++;
            total++;
        }
    }
    MESSAGE(accepted << " of " << total << " pickle mutants still parsed as a state_dict");
    CHECK(accepted < total);
}
