#pragma once
// parallel_for: runs fn(i) for i in [0, n) on `threads` std::threads (0: the
// machine's core count), handing out indices one at a time. The first
// exception thrown by fn is rethrown in the caller after every thread stops.
// Results must not depend on which thread runs which index (the data/ code
// seeds everything per index).
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln::data {

inline int default_thread_count() { return int(std::max(1u, std::thread::hardware_concurrency())); }

template <typename Fn>
void parallel_for(size_t n, int threads, Fn&& fn) {
    if (threads <= 0) threads = default_thread_count();
    const size_t count = std::min(n, static_cast<size_t>(threads));
    if (count <= 1) {
        for (size_t i = 0; i < n; ++i) fn(i);
        return;
    }
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto work = [&] {
        for (size_t i = next++; i < n && !failed; i = next++) {
            try {
                fn(i);
            } catch (...) {
                std::lock_guard lock(error_mutex);
                if (!error) error = std::current_exception();
                failed = true;
            }
        }
    };
    std::vector<std::thread> pool;
    for (size_t t = 1; t < count; ++t) pool.emplace_back(work);
    work();
    for (std::thread& thread : pool) thread.join();
    if (error) std::rethrow_exception(error);
}

}  // namespace kiln::data
