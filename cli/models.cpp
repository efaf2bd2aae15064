#include "cli/models.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/model_io.hpp"
#include "puzzles/domain.hpp"

namespace trm::cli {

namespace fs = std::filesystem;

static std::string exe_dir() {
    std::error_code ec;
    fs::path p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : p.parent_path().string();
}

std::vector<std::string> default_model_paths(const Domain& d) {
    const std::string file = std::string(d.name()) + ".safetensors";
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

std::string resolve_model_path(const std::string& flag, const Domain& d) {
    std::error_code ec;
    if (!flag.empty()) {
        if (!fs::exists(flag, ec)) fail("{}: model file not found", flag);
        return flag;
    }
    auto paths = default_model_paths(d);
    for (auto& p : paths)
        if (fs::is_regular_file(p, ec)) return p;
    std::string looked;
    for (auto& p : paths) looked += (looked.empty() ? "" : ", ") + p;
    const char* n = d.name();
    throw Error(fmt::format("no {} model found (looked for {})", n, looked),
                fmt::format("train one with `trm train {} -o models/{}.safetensors`, or pass --model FILE", n, n));
}

Model load_domain_model(const std::string& path, const Domain& d) {
    Model m = load_model(path);
    check_model_domain(m.cfg(), d, path);
    return m;
}

}  // namespace trm::cli
