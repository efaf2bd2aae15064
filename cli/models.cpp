#include "cli/models.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/error.hpp"
#include "core/model_io.hpp"
#include "core/safetensors.hpp"
#include "puzzles/domain.hpp"

namespace trm::cli {

namespace fs = std::filesystem;

static std::string exe_dir() {
    std::error_code ec;
    fs::path p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : p.parent_path().string();
}

std::vector<std::string> default_model_paths(const std::string& name) {
    const std::string file = name + ".safetensors";
    std::vector<std::string> dirs;
    if (auto e = exe_dir(); !e.empty()) {
        dirs.push_back(e + "/models");
        dirs.push_back(e + "/../share/trm/models");
    }
#ifdef TRM_SOURCE_MODELS_DIR
    dirs.push_back(TRM_SOURCE_MODELS_DIR);
#endif
#ifdef TRM_INSTALL_MODELS_DIR
    dirs.push_back(TRM_INSTALL_MODELS_DIR);
#endif
    std::vector<std::string> out;
    for (auto& dir : dirs) {
        std::string p = (fs::path(dir) / file).lexically_normal().string();
        if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
    }
    return out;
}

std::vector<std::string> found_default_models(const Domain& d) {
    std::vector<std::string> found;
    std::error_code ec;
    for (const std::string& name : d.default_models())
        for (auto& p : default_model_paths(name))
            if (fs::is_regular_file(p, ec)) {
                found.push_back(p);
                break;  // the first place that has it
            }
    return found;
}

std::optional<Config> read_model_config(const std::string& path, const Domain& d) {
    try {
        if (detect_model_format(path) != ModelFormat::Safetensors) return std::nullopt;
        const auto meta = read_safetensors_metadata(path);
        auto it = meta.find("trm_config");
        if (it == meta.end()) return std::nullopt;
        Config c = config_from_json(nlohmann::json::parse(it->second), path);
        check_model_domain(c, d, path);
        return c;
    } catch (...) {
        return std::nullopt;
    }
}

std::string first_model_taking(const std::vector<std::string>& found, const Domain& d, std::span<const Item> items) {
    TRM_CHECK(!found.empty());
    if (items.empty()) return found.front();
    for (const auto& p : found) {
        const std::optional<Config> c = read_model_config(p, d);
        if (c && std::all_of(items.begin(), items.end(), [&](const Item& x) { return d.model_takes(*c, x); }))
            return p;
    }
    return found.back();
}

std::string resolve_model_path(const std::string& flag, const Domain& d, std::span<const Item> items) {
    std::error_code ec;
    if (!flag.empty()) {
        if (!fs::exists(flag, ec)) fail("{}: model file not found", flag);
        return flag;
    }
    const std::vector<std::string> found = found_default_models(d);
    if (!found.empty()) return first_model_taking(found, d, items);
    std::string list;
    for (const std::string& name : d.default_models())
        for (auto& p : default_model_paths(name)) list += (list.empty() ? "" : ", ") + p;
    const char* n = d.name();
    throw Error(fmt::format("no {} model found (looked for {})", n, list),
                fmt::format("train one with `trm train {} -o models/{}.safetensors`, or pass --model FILE", n, n));
}

Model load_domain_model(const std::string& path, const Domain& d) {
    Model m = load_model(path);
    check_model_domain(m.cfg(), d, path);
    return m;
}

}  // namespace trm::cli
