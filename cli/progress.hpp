// Progress of long work on stderr, only when stderr is a terminal:
//   "solving  1,200/10,000  41.3 puzzles/s  ETA 3:33"
// redrawn in place at most 4 times a second and erased when the work ends; nothing at all on a pipe or a file,
// so logs and captured output stay clean.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace trm::cli {

class Progress {
public:
    // total 0: unknown (no ETA). `unit` is plural ("puzzles", "steps").
    Progress(std::string label, std::string unit, int64_t total = 0);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;
    void update(int64_t done);  // throttled; the first draw waits a second, so quick work shows nothing
    void done();                // erases the line (also done by the destructor)
    static bool enabled();      // stderr is a terminal

private:
    using Clock = std::chrono::steady_clock;
    std::string label_, unit_;
    int64_t total_;
    Clock::time_point start_, last_;
    bool on_, shown_ = false;
};

// A callback for work that reports (done, total) steps, e.g. SolveOptions::on_adapt_step: `line` is made at the
// first report (the total is known then) and finished at the last. `line` must outlive the callback.
std::function<void(int done, int total)> steps_progress(std::optional<Progress>& line, std::string label);

// "3:07", "1:02:03"
std::string clock_text(double seconds);

}  // namespace trm::cli
