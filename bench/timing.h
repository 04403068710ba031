#pragma once
// Timing for the benchmark programs: the median of repeated runs after one
// warm-up, which is robust to the occasional slow run on a shared machine.
#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace kiln::bench {

// Median seconds of `fn`: at least `min_runs` runs, more until `budget`
// seconds are spent (at most 200 runs).
inline double median_seconds(const std::function<void()>& fn, int min_runs = 5, double budget = 0.3) {
    fn();  // warm-up: caches, allocator, lazy initialisation
    std::vector<double> times;
    double total = 0;
    while (int(times.size()) < min_runs || (total < budget && times.size() < 200)) {
        const auto start = std::chrono::steady_clock::now();
        fn();
        const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        times.push_back(t);
        total += t;
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

}  // namespace kiln::bench
