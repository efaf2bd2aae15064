#include "core/model_io.hpp"
#include "core/error.hpp"
namespace trm {
Model load_model(const std::string& path, const LoadOptions& opt) { fail("{}: not implemented", path); }
}
