#include "datasets/generated.hpp"

#include <deque>

namespace trm {

namespace {

// Items made `chunk` at a time by make(first_index, n).
template <typename Make>
class Generated final : public ItemReader {
public:
    Generated(int64_t count, Make make) : count_(count), make_(std::move(make)) {}
    bool next(Item& out) override {
        if (made_ >= count_ && ready_.empty()) return false;
        if (ready_.empty()) {
            const int n = int(std::min<int64_t>(kChunk, count_ - made_));
            for (auto& x : make_(made_, n)) ready_.push_back(std::move(x));
            made_ += n;
        }
        out = std::move(ready_.front());
        ready_.pop_front();
        return true;
    }

private:
    static constexpr int kChunk = 64;
    int64_t count_, made_ = 0;
    Make make_;
    std::deque<Item> ready_;
};

template <typename Make>
std::unique_ptr<ItemReader> make_generated(int64_t count, Make make) {
    return std::make_unique<Generated<Make>>(count, std::move(make));
}

}  // namespace

std::unique_ptr<ItemReader> generated_sudoku(SudokuDifficulty d, int64_t count, uint64_t seed) {
    return make_generated(count, [=](int64_t first, int n) {
        std::vector<Item> items;
        for (auto& p : generate_sudoku(n, d, seed, uint64_t(first))) items.push_back(std::move(p));
        return items;
    });
}

std::unique_ptr<ItemReader> generated_mazes(const MazeGenOptions& g, int64_t count, uint64_t seed) {
    return make_generated(count, [=](int64_t first, int n) {
        std::vector<Item> items;
        for (int i = 0; i < n; i++) items.push_back(generate_maze(g, seed + uint64_t(first + i)));
        return items;
    });
}

}  // namespace trm
