#pragma once
// The SIMT emulator: runs CUDA kernels (the same kernels/cuda/*.cu sources,
// compiled by the host compiler with kernels/emu/cuda_emu.h) on the CPU, one
// fiber per CUDA thread.
//
// How a launch runs:
// - The launcher checks the real limits (threads per block <= 1024, block and
//   grid dims, dynamic shared memory <= 48 KiB) and fails with a kiln::Error
//   naming the kernel.
// - Blocks run one after another on the launching thread. For each block,
//   static __shared__ variables (a linker section) and the dynamic shared
//   memory are filled with 0xFF (NaN as float, -1 as int) so reading shared
//   memory nobody wrote shows up.
// - Each thread of the block is a boost.context fiber with its own guarded
//   stack. A fiber runs until it reaches __syncthreads, a warp collective
//   (__shfl_*_sync, __ballot_sync, __syncwarp) or its end; then the next one
//   runs, in the order of the current Schedule (forward, reverse or seeded
//   random), so code that forgets a barrier reads different values under
//   different schedules.
// - __syncthreads releases the block once every live thread waits at the same
//   barrier; a warp collective is computed once every lane of its mask has
//   arrived. A thread that exits while others wait, or threads waiting at
//   different barriers, is reported as barrier divergence (not a hang).
// - Exceptions never cross a fiber boundary: they are caught in the fiber and
//   rethrown by the launcher, naming the kernel and the thread.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <source_location>
#include <string>

namespace kiln::simt {

struct Dim3 {
    unsigned x = 1, y = 1, z = 1;
};

enum class Schedule { forward, reverse, random };
const char* schedule_name(Schedule schedule);

// The order in which the fibers of a block are resumed between barriers, for
// the launches that follow on this thread. `seed` drives Schedule::random.
void set_schedule(Schedule schedule, uint64_t seed = 0);
Schedule current_schedule();

// RAII: a schedule for a scope.
class ScheduleGuard {
public:
    explicit ScheduleGuard(Schedule schedule, uint64_t seed = 0);
    ~ScheduleGuard();

private:
    Schedule previous_schedule_;
    uint64_t previous_seed_;
};

// Limits checked at launch (those of every GPU kiln targets, sm_80 and later).
constexpr unsigned max_threads_per_block = 1024;
constexpr unsigned max_block_dim_xy = 1024, max_block_dim_z = 64;
constexpr unsigned max_grid_dim_x = 2147483647u, max_grid_dim_yz = 65535;
constexpr size_t max_dynamic_shared_bytes = 48 * 1024;  // without the opt-in attribute
constexpr unsigned warp_size = 32;

// Runs `thread_body` for every thread of the grid. `kernel_name` names the
// kernel in errors.
void launch(const char* kernel_name, Dim3 grid, Dim3 block, size_t dynamic_shared_bytes,
            const std::function<void()>& thread_body);

// ---- what the CUDA built-ins of cuda_emu.h call, inside a kernel ----
Dim3& thread_index();
Dim3& block_index();
Dim3& block_dim();
Dim3& grid_dim();
unsigned char* dynamic_shared_memory();
void syncthreads(const std::source_location& site);

enum class WarpOp { sync, shfl, shfl_up, shfl_down, shfl_xor, ballot, any, all };
// One warp collective: every lane of `mask` deposits `value` (raw bits) and
// an argument (source lane, delta or lane mask; width for shuffles), and gets
// back the collective's result (raw bits).
uint64_t warp_collective(WarpOp op, unsigned mask, uint64_t value, int argument, int width,
                         const std::source_location& site);

// Launches so far in this process (for tests and the kernel walkthrough).
uint64_t launch_count();

// ---- streams ----
// A launch runs to completion before launch() returns, which is one valid
// schedule of any CUDA stream, so an emu stream orders nothing: it is a label
// that counts the launches made while it was current on the launching thread.
// kiln::Stream (engine/stream.h) owns them and StreamGuard sets the current
// one, as on cuda; the count lets tests check that launches follow the guard.
struct Stream {
    std::atomic<uint64_t> launches{0};
};
Stream& default_stream();
// This thread's current stream: the default stream until set.
Stream& current_stream();
void set_current_stream(Stream* stream);  // null: the default stream

// The CUDA thread running now, for debuggers: gdb can test it in a breakpoint
// condition without calling a function on a fiber's stack, e.g.
//   break my_kernel if kiln::simt::debug_thread.thread.x == 5
struct DebugThread {
    Dim3 thread, block;
};
extern DebugThread debug_thread;

}  // namespace kiln::simt
