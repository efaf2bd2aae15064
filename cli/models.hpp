// Default model lookup: `models/<name>.safetensors` in the places a build or an install puts them, and the pick
// among a kind's shipped models (Domain::default_models) by what the input holds.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/weights.hpp"
#include "puzzles/domain.hpp"

namespace trm::cli {

// Candidate paths of the shipped model `name` (models/<name>.safetensors), in search order:
//   <dir of the binary>/models, <dir of the binary>/../share/trm/models,
//   the source tree's models/ (TRM_SOURCE_MODELS_DIR), the install's models dir (TRM_INSTALL_MODELS_DIR).
std::vector<std::string> default_model_paths(const std::string& name);

// The first existing path of each of d.default_models(), in that order (names found nowhere are left out).
std::vector<std::string> found_default_models(const Domain& d);

// `flag` when not empty (it must exist). Else the kind's default: of the first existing path of each name in
// d.default_models(), the first whose model takes every item of `items` (Domain::model_takes; any when `items` is
// empty), or the last one found when none takes them all (its own error then names the item and the grid).
// Throws Error (with a hint: `trm train <domain> ...`) when there is none.
std::string resolve_model_path(const std::string& flag, const Domain& d, std::span<const Item> items = {});

// Of `found` (existing model files, in preference order), the first whose model takes every item; else the last.
std::string first_model_taking(const std::vector<std::string>& found, const Domain& d, std::span<const Item> items);

// The config of a trm safetensors model from its header (no weights read), checked to fit the kind; nullopt
// when the file is missing, another format, or does not fit.
std::optional<Config> read_model_config(const std::string& path, const Domain& d);

// Loads the model at `path` and checks that it fits the domain (check_model_domain).
Model load_domain_model(const std::string& path, const Domain& d);

}  // namespace trm::cli
