// Model parity with the official PyTorch code: every tensor of tests/data/official-trm/*/forward.safetensors
// at every ACT step, for models loaded from the official step_100 checkpoint + all_config.yaml, and after a
// round trip through our native format.
#include <doctest/doctest.h>
#include <filesystem>
#include <fmt/core.h>

#include "core/act.hpp"
#include "core/model_io.hpp"
#include "core/cpu.hpp"
#include "core/parallel.hpp"
#include "core/safetensors.hpp"

using namespace trm;
namespace fs = std::filesystem;

static const char* kFixtures = "tests/data/official-trm/";
static const char* kVariants[] = {"sudoku_mlp", "sudoku_att", "maze_learned", "arc_att"};

// Max |a - b| over a tensor; prints it by name (llm.c's check_tensor).
static double max_abs_diff(const Tensor& a, const Tensor& b, const std::string& name) {
    REQUIRE_MESSAGE(a.shape == b.shape, name << ": shape " << shape_str(a.shape) << " vs " << shape_str(b.shape));
    auto x = a.to_f64(), y = b.to_f64();
    double m = 0;
    for (size_t i = 0; i < x.size(); i++) m = std::max(m, std::abs(x[i] - y[i]));
    return m;
}

static void check_forward(const Model& m, const std::string& variant) {
    TensorFile ref = read_safetensors(std::string(kFixtures) + variant + "/forward.safetensors");
    auto tokens64 = ref.at("inputs", variant).to_i64();
    auto ids64 = ref.at("puzzle_identifiers", variant).to_i64();
    std::vector<int32_t> tokens(tokens64.begin(), tokens64.end()), ids(ids64.begin(), ids64.end());
    TensorFile got = debug_forward(m, tokens, ids, 4);
    // Tolerance 5e-5 absolute: the official float32 run differs from float64 by <= 6e-6 (fixture README);
    // a float32 re-implementation with another summation order lands within ~10x that.
    const double tol = 5e-5;
    double worst = 0;
    for (auto& [name, t] : got.tensors) {
        if (!ref.has(name)) continue;
        double d = max_abs_diff(t, ref.tensors.at(name), name);
        worst = std::max(worst, d);
        CHECK_MESSAGE(d <= tol, variant << " " << name << ": max abs diff " << d);
    }
    for (int s = 1; s <= 4; s++) CHECK(got.has(fmt::format("step{}.logits", s)));
    MESSAGE(variant << ": worst max abs diff " << worst);
}

TEST_CASE("forward matches the official fixtures (official checkpoint)") {
    if (!fs::exists(kFixtures)) { FAIL("fixtures missing: run tests from the source root"); }
    for (auto v : kVariants) {
        SUBCASE(v) {
            Model m = load_model(std::string(kFixtures) + v + "/step_100");
            check_forward(m, v);
        }
    }
}

TEST_CASE("native format round trip keeps parity") {
    for (auto v : kVariants) {
        SUBCASE(v) {
            Model m = load_model(std::string(kFixtures) + v + "/step_100");
            auto path = (fs::temp_directory_path() / fmt::format("trm_parity_{}.safetensors", v)).string();
            save_model(path, m);
            Model n = load_model(path);
            CHECK(n.arena == m.arena);
            check_forward(n, v);
            fs::remove(path);
        }
    }
}

// One puzzle at a time, the threads share each puzzle's work (core/parallel.hpp's Team: columns of mlp_t and
// of the products, rows of the norms); every row must still match its slice of the fixture.
TEST_CASE("forward of one puzzle at a time (threads sharing the puzzle) matches the official fixtures") {
    set_threads(2);  // a team of 2 even on a 1-core machine
    for (auto v : kVariants) {
        SUBCASE(v) {
            Model m = load_model(std::string(kFixtures) + v + "/step_100");
            TensorFile ref = read_safetensors(std::string(kFixtures) + v + "/forward.safetensors");
            auto tokens64 = ref.at("inputs", v).to_i64();
            auto ids64 = ref.at("puzzle_identifiers", v).to_i64();
            const size_t B = ids64.size(), S = tokens64.size() / B;
            double worst = 0;
            int compared = 0;
            for (size_t b = 0; b < B; b++) {
                std::vector<int32_t> tokens(tokens64.begin() + b * S, tokens64.begin() + (b + 1) * S);
                TensorFile got = debug_forward(m, tokens, {int32_t(ids64[b])}, 4);
                for (auto& [name, t] : got.tensors) {
                    if (!ref.has(name) || name == "inputs" || name == "puzzle_identifiers") continue;
                    auto want = ref.tensors.at(name).to_f64(), have = t.to_f64();
                    const size_t n = want.size() / B;
                    REQUIRE_MESSAGE(have.size() == n, v << " " << name);
                    double d = 0;
                    for (size_t i = 0; i < n; i++) d = std::max(d, std::abs(have[i] - want[b * n + i]));
                    CHECK_MESSAGE(d <= 5e-5, v << " row " << b << " " << name << ": max abs diff " << d);
                    worst = std::max(worst, d);
                    compared++;
                }
            }
            CHECK(compared >= int(B) * 4 * 3);
            MESSAGE(std::string(v) << ": one puzzle at a time, worst max abs diff " << worst);
        }
    }
    set_threads(0);
}

// The official code's default is forward_dtype bfloat16. trm's bf16 products (bf16 operands, fp32 accumulation,
// everything else fp32) must stay inside the error envelope of the official bf16 run itself (fixture README): at
// every ACT step, max |trm_bf16 - official_fp32| <= 1.5 x max |official_bf16 - official_fp32| + 1e-3, and argmax
// agreement with fp32 no worse than the official bf16 run's minus 1%.
static double argmax_agreement(const Tensor& a, const Tensor& b) {
    auto x = a.to_f64(), y = b.to_f64();
    const size_t V = size_t(a.shape.back()), n = x.size() / V;
    size_t same = 0;
    for (size_t r = 0; r < n; r++) {
        size_t ia = 0, ib = 0;
        for (size_t v = 1; v < V; v++) {
            if (x[r * V + v] > x[r * V + ia]) ia = v;
            if (y[r * V + v] > y[r * V + ib]) ib = v;
        }
        same += ia == ib;
    }
    return double(same) / double(n);
}

TEST_CASE("bf16 forward stays inside the official bf16 run's error envelope") {
    if (active_isa() < Isa::Avx512Bf16) {
        MESSAGE("skipped: no bf16 products among this run's kernels (AVX512_BF16, or TRM_ISA caps them)");
        return;
    }
    set_precision(Precision::Bf16);
    for (auto v : kVariants) {
        SUBCASE(v) {
            Model m = load_model(std::string(kFixtures) + v + "/step_100");
            TensorFile f32 = read_safetensors(std::string(kFixtures) + v + "/forward.safetensors");
            TensorFile b16 = read_safetensors(std::string(kFixtures) + v + "/forward_bf16.safetensors");
            auto tokens64 = f32.at("inputs", v).to_i64();
            auto ids64 = f32.at("puzzle_identifiers", v).to_i64();
            std::vector<int32_t> tokens(tokens64.begin(), tokens64.end()), ids(ids64.begin(), ids64.end());
            TensorFile got = debug_forward(m, tokens, ids, 4);
            for (int st = 1; st <= 4; st++) {
                const std::string name = fmt::format("step{}.logits", st);
                const Tensor &ref = f32.tensors.at(name), &theirs = b16.tensors.at(name), &ours = got.tensors.at(name);
                const double envelope = max_abs_diff(theirs, ref, name), mine = max_abs_diff(ours, ref, name);
                const double agree_theirs = argmax_agreement(theirs, ref), agree_mine = argmax_agreement(ours, ref);
                MESSAGE(std::string(v) << " " << name << ": max |trm bf16 - fp32| " << mine << ", official bf16 " << envelope
                          << "; argmax agreement " << agree_mine << " vs " << agree_theirs);
                CHECK(mine <= 1.5 * envelope + 1e-3);
                CHECK(agree_mine >= agree_theirs - 0.01);
                CHECK(mine > 1e-4);  // the products really ran in bf16 (fp32 parity is ~1e-6)
            }
        }
    }
    set_precision(Precision::Fp32);
}

// One official training step: losses within 1e-5 relative, every gradient within 1e-4 of its tensor's max |g|.
TEST_CASE("train step matches the official fixtures (losses and every gradient)") {
    for (auto v : kVariants) {
        SUBCASE(v) {
            Model m = load_model(std::string(kFixtures) + v + "/step_100");
            TensorFile ref = read_safetensors(std::string(kFixtures) + v + "/train_step.safetensors");
            auto i32 = [&](const char* name) {
                auto x = ref.at(name, v).to_i64();
                return std::vector<int32_t>(x.begin(), x.end());
            };
            TensorFile got = debug_train_step(m, i32("inputs"), i32("puzzle_identifiers"), i32("labels"));
            for (auto name : {"loss", "lm_loss", "q_halt_loss"}) {
                double a = got.at(name, "ours").to_f64()[0], b = ref.at(name, v).to_f64()[0];
                CHECK_MESSAGE(std::abs(a - b) <= 1e-5 * std::abs(b), v << " " << name << ": " << a << " vs " << b);
            }
            for (auto name : {"seq_is_correct", "halted", "steps"})
                CHECK_MESSAGE(got.at(name, "ours").to_i64() == ref.at(name, v).to_i64(), v << " " << name);
            int grads = 0;
            for (auto& [name, t] : ref.tensors) {
                if (name.rfind("grad.", 0) != 0) continue;
                grads++;
                REQUIRE_MESSAGE(got.has(name), v << ": we produce no " << name);
                auto a = got.tensors.at(name).to_f64(), b = t.to_f64();
                REQUIRE(a.size() == b.size());
                double mx = 0, d = 0;
                for (size_t i = 0; i < a.size(); i++) { mx = std::max(mx, std::abs(b[i])); d = std::max(d, std::abs(a[i] - b[i])); }
                CHECK_MESSAGE(d <= 1e-4 * std::max(mx, 1e-12), v << " " << name << ": max diff " << d << " (max |g| " << mx << ")");
            }
            CHECK(grads >= 10);
        }
    }
}
