#include "datasets/split.hpp"
