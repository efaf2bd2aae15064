#include "cli/progress.hpp"

#include <cstdio>
#include <fmt/format.h>
#include <unistd.h>

namespace trm::cli {

std::string clock_text(double seconds) {
    const long s = long(seconds + 0.5);
    if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    return fmt::format("{}:{:02}", s / 60, s % 60);
}

bool Progress::enabled() { return isatty(STDERR_FILENO); }

Progress::Progress(std::string label, std::string unit, int64_t total)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), start_(Clock::now()), last_(start_),
      on_(enabled()) {}

Progress::~Progress() { done(); }

void Progress::update(int64_t done) {
    if (!on_) return;
    const auto now = Clock::now();
    const double since_start = std::chrono::duration<double>(now - start_).count();
    if (since_start < 1.0 || std::chrono::duration<double>(now - last_).count() < 0.25) return;
    last_ = now;
    const double rate = done / since_start;
    std::string line = total_ > 0 ? fmt::format("{}  {}/{}", label_, done, total_) : fmt::format("{}  {}", label_, done);
    line += fmt::format("  {:.1f} {}/s", rate, unit_);
    if (total_ > 0 && rate > 0 && done < total_) line += "  ETA " + clock_text(double(total_ - done) / rate);
    std::fprintf(stderr, "\r\x1b[K%s", line.c_str());
    std::fflush(stderr);
    shown_ = true;
}

void Progress::done() {
    if (shown_) std::fprintf(stderr, "\r\x1b[K");
    shown_ = false;
    on_ = false;
}

std::function<void(int, int)> steps_progress(std::optional<Progress>& line, std::string label) {
    return [&line, label = std::move(label)](int done, int total) {
        if (!line) line.emplace(label, "steps", total);
        line->update(done);
        if (done == total) line->done();
    };
}

}  // namespace trm::cli
