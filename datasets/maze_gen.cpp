#include "datasets/maze_gen.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace trm {

namespace {

// Breadth-first distances (in moves) from `src` over non-wall cells; -1 where unreachable. Returns the last
// cell reached, one of the farthest.
int bfs_distances(const std::vector<char>& g, int rows, int cols, int src, std::vector<int>& dist,
                  std::vector<int>& queue) {
    dist.assign(g.size(), -1);
    queue.clear();
    queue.push_back(src);
    dist[src] = 0;
    for (size_t head = 0; head < queue.size(); head++) {
        int k = queue[head], r = k / cols, c = k % cols;
        const int nb[4] = {r > 0 ? k - cols : -1, c > 0 ? k - 1 : -1, c + 1 < cols ? k + 1 : -1,
                           r + 1 < rows ? k + cols : -1};
        for (int kk : nb) {
            if (kk < 0 || dist[kk] >= 0 || g[kk] == '#') continue;
            dist[kk] = dist[k] + 1;
            queue.push_back(kk);
        }
    }
    return queue.back();
}

// Carves a perfect maze on the lattice (randomized depth-first search), then opens each remaining inner wall
// between two lattice cells with probability loop_fraction.
void carve(std::vector<char>& g, int rows, int cols, double loop_fraction, Rng& rng) {
    g.assign(size_t(rows) * cols, '#');
    const int ro = rows % 2 == 0 ? int(rng.below(2)) : 0, co = cols % 2 == 0 ? int(rng.below(2)) : 0;
    const int nr = (rows + 1) / 2, nc = (cols + 1) / 2;
    auto at = [&](int i, int j) { return size_t(ro + 2 * i) * cols + (co + 2 * j); };

    std::vector<char> visited(size_t(nr) * nc, 0);
    std::vector<int> stack;
    int start = int(rng.below(uint64_t(nr) * nc));
    visited[start] = 1;
    g[at(start / nc, start % nc)] = ' ';
    stack.push_back(start);
    const int di[4] = {-1, 0, 0, 1}, dj[4] = {0, -1, 1, 0};
    while (!stack.empty()) {
        int cur = stack.back(), i = cur / nc, j = cur % nc;
        int options[4], n = 0;
        for (int d = 0; d < 4; d++) {
            int ii = i + di[d], jj = j + dj[d];
            if (ii >= 0 && ii < nr && jj >= 0 && jj < nc && !visited[ii * nc + jj]) options[n++] = d;
        }
        if (n == 0) { stack.pop_back(); continue; }
        int d = options[rng.below(uint64_t(n))], ii = i + di[d], jj = j + dj[d];
        visited[ii * nc + jj] = 1;
        g[at(ii, jj)] = ' ';
        g[size_t(ro + 2 * i + di[d]) * cols + (co + 2 * j + dj[d])] = ' ';  // the wall between
        stack.push_back(ii * nc + jj);
    }

    if (loop_fraction <= 0) return;
    for (int i = 0; i < nr; i++)
        for (int j = 0; j < nc; j++) {
            size_t k = at(i, j);
            if (j + 1 < nc && g[k + 1] == '#' && rng.uniform() < loop_fraction) g[k + 1] = ' ';
            if (i + 1 < nr && g[k + cols] == '#' && rng.uniform() < loop_fraction) g[k + cols] = ' ';
        }
}

}  // namespace

int maze_gen_max_path(int rows, int cols) { return 2 * ((rows + 1) / 2) * ((cols + 1) / 2) - 1; }

Maze generate_maze(const MazeGenOptions& o, uint64_t seed) {
    if (o.rows < 5 || o.cols < 5) fail("maze size {}x{} is too small: rows and cols must be at least 5", o.rows, o.cols);
    if (size_t(o.rows) * size_t(o.cols) > kMazeMaxCells)
        fail("maze size {}x{} is too large: at most {} cells", o.rows, o.cols, kMazeMaxCells);
    if (!(o.loop_fraction >= 0 && o.loop_fraction <= 1)) fail("loop_fraction {} is not in [0, 1]", o.loop_fraction);
    if (o.max_attempts < 1) fail("max_attempts {} must be at least 1", o.max_attempts);
    const int max_path = maze_gen_max_path(o.rows, o.cols);
    if (o.min_path > max_path)
        fail("min_path {} is unreachable for a {}x{} maze: its shortest paths have at most {} cells", o.min_path,
             o.rows, o.cols, max_path);
    const int min_moves = std::max(o.min_path, 2) - 1;

    Rng rng(seed);
    std::vector<char> g;
    std::vector<int> dist, queue, far;
    for (int attempt = 0; attempt < o.max_attempts; attempt++) {
        carve(g, o.rows, o.cols, o.loop_fraction, rng);
        // S: a random open cell, or, when nothing is far enough from it, the farthest cell from it.
        std::vector<int> open;
        for (size_t k = 0; k < g.size(); k++) if (g[k] != '#') open.push_back(int(k));
        int s = open[rng.below(open.size())];
        for (int pass = 0; pass < 2; pass++) {
            int farthest = bfs_distances(g, o.rows, o.cols, s, dist, queue);
            far.clear();
            for (int k : queue) if (dist[k] >= min_moves) far.push_back(k);
            if (!far.empty()) break;
            s = farthest;
        }
        if (far.empty()) continue;
        int goal = far[rng.below(far.size())];
        if (rng.below(2)) std::swap(s, goal);
        g[s] = 'S';
        g[goal] = 'G';

        Maze m;
        m.rows = o.rows;
        m.cols = o.cols;
        m.cells = g;
        m.where = fmt::format("generated {}x{} seed {}", o.rows, o.cols, seed);
        m.answer = maze_solve(m);
        TRM_CHECK(!m.answer.empty());
        return m;
    }
    fail("no {}x{} maze with a shortest path of at least {} cells in {} attempts (loop_fraction {}); lower min_path "
         "or loop_fraction",
         o.rows, o.cols, o.min_path, o.max_attempts, o.loop_fraction);
}

}  // namespace trm
