#include "core/torch_checkpoint.hpp"
