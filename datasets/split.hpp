// Seeds of held-out data. Training generators draw seeds from kTrainSeedBase upward; evaluation sets use seeds
// from kEvalSeedBase upward, so no evaluation puzzle comes from a training seed.
#pragma once
#include <cstdint>

namespace trm {
constexpr uint64_t kTrainSeedBase = 1;
constexpr uint64_t kEvalSeedBase = 1000000007ull;
}  // namespace trm
