// Default model lookup: `models/<domain>.safetensors` in the places a build or an install puts them.
#pragma once
#include <string>
#include <vector>

#include "core/weights.hpp"
#include "puzzles/domain.hpp"

namespace trm::cli {

// Candidate paths of the default model of `d`, in search order:
//   <dir of the binary>/models, <dir of the binary>/../share/trm/models,
//   the source tree's models/ (TRM_SOURCE_MODELS_DIR), the install's models dir (TRM_INSTALL_MODELS_DIR).
std::vector<std::string> default_model_paths(const Domain& d);

// `flag` when not empty (it must exist), else the first existing default path. Throws Error with a hint
// (`train one with trm train <domain> ...`) when there is none.
std::string resolve_model_path(const std::string& flag, const Domain& d);

// Loads the model at `path` and checks that it fits the domain (check_model_domain).
Model load_domain_model(const std::string& path, const Domain& d);

}  // namespace trm::cli
