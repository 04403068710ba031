// The SIMT emulator's scheduler: blocks, fibers, barriers and warp collectives.
// See simt.h for the model.
#include "kernels/emu/simt.h"

#include <algorithm>
#include <atomic>
#include <boost/context/fiber.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>
#include <cstring>
#include <exception>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "kernels/common/error.h"
#include "kernels/emu/device_memory.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define KILN_ASAN 1
#else
#define KILN_ASAN 0
#endif

// Static __shared__ variables live in this linker section (cuda_emu.h); the
// linker defines its bounds. Weak: a program without such variables has none.
extern "C" {
extern unsigned char __start_kiln_simt_shared[] __attribute__((weak));
extern unsigned char __stop_kiln_simt_shared[] __attribute__((weak));
}

namespace kiln::simt {

namespace ctx = boost::context;

namespace {

constexpr size_t fiber_stack_bytes = 256 * 1024;  // kernels are shallow; ASan frames are large
constexpr unsigned char shared_poison = 0xFF;      // NaN as float, -1 as int

// Stacks with a guard page, recycled across blocks (an mmap per thread per block would dominate).
class StackPool {
public:
    ctx::stack_context allocate() {
        if (free_.empty()) return ctx::protected_fixedsize_stack(fiber_stack_bytes).allocate();
        ctx::stack_context stack = free_.back();
        free_.pop_back();
        return stack;
    }
    void deallocate(ctx::stack_context& stack) { free_.push_back(stack); }
    ~StackPool() {
        ctx::protected_fixedsize_stack allocator(fiber_stack_bytes);
        for (ctx::stack_context& stack : free_) allocator.deallocate(stack);
    }

private:
    std::vector<ctx::stack_context> free_;
};


enum class Status { runnable, at_barrier, at_warp_collective, finished };

struct Fiber {
    ctx::fiber context;    // the fiber itself, while it is suspended
    ctx::fiber scheduler;  // the scheduler, while the fiber runs
    Dim3 thread_index;
    unsigned linear = 0;
    Status status = Status::runnable;
    std::source_location site;  // the barrier or collective it waits at
    // warp collective deposit and result
    WarpOp op = WarpOp::sync;
    unsigned mask = 0;
    uint64_t value = 0, result = 0;
    int argument = 0, width = 32;
    std::exception_ptr error;
    bool aborting = false;  // the block failed: unwind this fiber's stack and finish
    const void* stack_bottom = nullptr;  // the fiber's stack, for ASan's switch annotations
    size_t stack_size = 0;
};

// The stack allocator handed to boost: borrows from the pool, and tells the
// fiber where its stack is.
struct PooledStack {
    StackPool* pool;
    Fiber* fiber;
    ctx::stack_context allocate() {
        ctx::stack_context stack = pool->allocate();
        fiber->stack_bottom = static_cast<char*>(stack.sp) - stack.size;
        fiber->stack_size = stack.size;
        return stack;
    }
    void deallocate(ctx::stack_context& stack) { pool->deallocate(stack); }
};

struct Block {
    const char* kernel_name = "";
    Dim3 block_index, block_dim, grid_dim;
    std::vector<unsigned char> dynamic_shared;  // bytes + guard
    size_t dynamic_shared_bytes = 0;
    std::vector<std::unique_ptr<Fiber>> fibers;
};

thread_local Schedule schedule = Schedule::forward;
thread_local uint64_t schedule_seed = 0;
thread_local Block* current_block = nullptr;
thread_local Fiber* current_fiber = nullptr;
#if KILN_ASAN
// ASan's view of the scheduler's stack, learnt when a fiber first starts.
thread_local const void* scheduler_stack_bottom = nullptr;
thread_local size_t scheduler_stack_size = 0;
#endif
std::atomic<uint64_t> launches{0};
thread_local Stream* current_stream_of_thread = nullptr;  // null: the default stream

std::string index_str(Dim3 d) { return str("(", d.x, ", ", d.y, ", ", d.z, ")"); }
std::string site_str(const std::source_location& site) { return str(site.file_name(), ":", site.line()); }

Fiber& fiber_in_kernel(const char* what) {
    KILN_CHECK(current_fiber, "emu: ", what, " called outside a kernel launch");
    return *current_fiber;
}

// Scheduler -> fiber.
void resume(Fiber& fiber) {
    current_fiber = &fiber;
    debug_thread = {fiber.thread_index, current_block ? current_block->block_index : Dim3{}};
#if KILN_ASAN
    void* fake_stack = nullptr;
    __sanitizer_start_switch_fiber(&fake_stack, fiber.stack_bottom, fiber.stack_size);
#endif
    fiber.context = std::move(fiber.context).resume();
#if KILN_ASAN
    __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#endif
    current_fiber = nullptr;
}

// Thrown inside a fiber to unwind it when its block is abandoned. (Destroying a
// suspended boost fiber would unwind it with boost's own exception and a
// context switch ASan is not told about.)
struct FiberAbort {};

// Fiber -> scheduler (the fiber has set its status).
void yield_to_scheduler(Fiber& fiber) {
#if KILN_ASAN
    void* fake_stack = nullptr;
    __sanitizer_start_switch_fiber(&fake_stack, scheduler_stack_bottom, scheduler_stack_size);
#endif
    fiber.scheduler = std::move(fiber.scheduler).resume();
#if KILN_ASAN
    __sanitizer_finish_switch_fiber(fake_stack, &scheduler_stack_bottom, &scheduler_stack_size);
#endif
    if (fiber.aborting) throw FiberAbort{};
}

std::vector<size_t> resume_order(size_t count, std::mt19937_64& random) {
    std::vector<size_t> order(count);
    std::iota(order.begin(), order.end(), size_t(0));
    if (schedule == Schedule::reverse) std::reverse(order.begin(), order.end());
    if (schedule == Schedule::random) std::shuffle(order.begin(), order.end(), random);
    return order;
}

// The lanes of warp `warp` that exist in a block of `count` threads.
unsigned existing_lanes(size_t warp, size_t count) {
    const size_t lanes = std::min<size_t>(warp_size, count - warp * warp_size);
    return lanes == 32 ? 0xFFFFFFFFu : ((1u << lanes) - 1);
}

// Computes each waiting lane's result once the whole mask has arrived.
void complete_collective(std::vector<Fiber*>& lanes /* indexed by lane, null if absent */, unsigned mask) {
    uint64_t ballot = 0;
    bool any = false, all = true;
    for (unsigned lane = 0; lane < warp_size; ++lane) {
        if (!(mask >> lane & 1) || !lanes[lane]) continue;
        const bool predicate = lanes[lane]->value != 0;
        ballot |= uint64_t(predicate) << lane;
        any = any || predicate;
        all = all && predicate;
    }
    for (unsigned lane = 0; lane < warp_size; ++lane) {
        Fiber* fiber = lanes[lane];
        if (!fiber || !(mask >> lane & 1)) continue;
        const int width = fiber->width, segment_start = int(lane) / width * width;
        auto value_of = [&](int source) {  // a source outside the mask or the block returns the caller's own value
            if (source < 0 || source >= int(warp_size) || !(mask >> source & 1) || !lanes[size_t(source)])
                return fiber->value;
            return lanes[size_t(source)]->value;
        };
        switch (fiber->op) {
            case WarpOp::sync: fiber->result = 0; break;
            case WarpOp::shfl: fiber->result = value_of(segment_start + fiber->argument % width); break;
            case WarpOp::shfl_up: {
                const int source = int(lane) - fiber->argument;
                fiber->result = source >= segment_start ? value_of(source) : fiber->value;
                break;
            }
            case WarpOp::shfl_down: {
                const int source = int(lane) + fiber->argument;
                fiber->result = source < segment_start + width ? value_of(source) : fiber->value;
                break;
            }
            case WarpOp::shfl_xor: {
                const int source = int(lane) ^ fiber->argument;
                fiber->result = source < segment_start + width ? value_of(source) : fiber->value;
                break;
            }
            case WarpOp::ballot: fiber->result = ballot; break;
            case WarpOp::any: fiber->result = any; break;
            case WarpOp::all: fiber->result = all; break;
        }
        fiber->status = Status::runnable;
    }
}

std::string thread_list(const std::vector<Fiber*>& fibers) {
    std::string list;
    for (size_t i = 0; i < fibers.size() && i < 4; ++i) list += (i ? ", " : "") + index_str(fibers[i]->thread_index);
    if (fibers.size() > 4) list += str(" and ", fibers.size() - 4, " more");
    return list;
}

[[noreturn]] void divergence(const Block& block, const std::string& what) {
    fail("emu: kernel ", block.kernel_name, ", block ", index_str(block.block_index), ": ", what);
}

// Releases every warp whose collective is complete; returns true if any was.
bool release_warps(Block& block) {
    bool released = false;
    const size_t count = block.fibers.size();
    for (size_t warp = 0; warp * warp_size < count; ++warp) {
        std::vector<Fiber*> lanes(warp_size, nullptr), waiting;
        for (unsigned lane = 0; lane < warp_size && warp * warp_size + lane < count; ++lane) {
            Fiber* fiber = block.fibers[warp * warp_size + lane].get();
            lanes[lane] = fiber;
            if (fiber->status == Status::at_warp_collective) waiting.push_back(fiber);
        }
        if (waiting.empty()) continue;
        const unsigned mask = waiting.front()->mask & existing_lanes(warp, count);
        bool complete = true;
        for (unsigned lane = 0; lane < warp_size; ++lane) {
            if (!(mask >> lane & 1)) continue;
            Fiber* fiber = lanes[lane];
            if (fiber->status == Status::finished)
                divergence(block, str("thread ", index_str(fiber->thread_index), " exited while lanes of its warp wait at ",
                                      site_str(waiting.front()->site), " (a warp collective needs every lane of its mask)"));
            if (fiber->status != Status::at_warp_collective) {
                complete = false;
                continue;
            }
            if (fiber->site.line() != waiting.front()->site.line() || fiber->op != waiting.front()->op)
                divergence(block, str("lanes of warp ", warp, " wait at different warp collectives: ",
                                      site_str(waiting.front()->site), " and ", site_str(fiber->site)));
        }
        if (!complete) continue;
        complete_collective(lanes, mask);
        released = true;
    }
    return released;
}

// Called when no fiber is runnable: releases a complete barrier or diagnoses why none can be.
void release_barrier(Block& block) {
    std::vector<Fiber*> at_barrier, finished, at_collective;
    for (auto& fiber : block.fibers) {
        if (fiber->status == Status::at_barrier) at_barrier.push_back(fiber.get());
        if (fiber->status == Status::finished) finished.push_back(fiber.get());
        if (fiber->status == Status::at_warp_collective) at_collective.push_back(fiber.get());
    }
    if (!at_collective.empty())
        divergence(block, str("threads ", thread_list(at_collective), " wait at a warp collective (",
                              site_str(at_collective.front()->site), ") that other lanes never reach"));
    if (!finished.empty())
        divergence(block, str("barrier divergence: threads ", thread_list(finished),
                              " exited while threads ", thread_list(at_barrier), " wait at __syncthreads() at ",
                              site_str(at_barrier.front()->site)));
    for (Fiber* fiber : at_barrier)
        if (fiber->site.line() != at_barrier.front()->site.line() ||
            std::strcmp(fiber->site.file_name(), at_barrier.front()->site.file_name()) != 0)
            divergence(block, str("barrier divergence: thread ", index_str(fiber->thread_index), " waits at ",
                                  site_str(fiber->site), " but thread ", index_str(at_barrier.front()->thread_index),
                                  " at ", site_str(at_barrier.front()->site)));
    for (Fiber* fiber : at_barrier) fiber->status = Status::runnable;
}

void poison_shared(Block& block) {
    if (__start_kiln_simt_shared && __stop_kiln_simt_shared)
        std::memset(__start_kiln_simt_shared, shared_poison, size_t(__stop_kiln_simt_shared - __start_kiln_simt_shared));
    std::memset(block.dynamic_shared.data(), shared_poison, block.dynamic_shared_bytes);
}

void run_block(Block& block, const std::function<void()>& thread_body, StackPool& stacks, std::mt19937_64& random) {
    const Dim3 dim = block.block_dim;
    const size_t count = size_t(dim.x) * dim.y * dim.z;
    block.fibers.clear();
    for (size_t t = 0; t < count; ++t) {
        auto fiber = std::make_unique<Fiber>();
        fiber->linear = unsigned(t);
        fiber->thread_index = {unsigned(t % dim.x), unsigned(t / dim.x % dim.y), unsigned(t / (size_t(dim.x) * dim.y))};
        Fiber* self = fiber.get();
        fiber->context = ctx::fiber(std::allocator_arg, PooledStack{&stacks, self}, [self, &thread_body](ctx::fiber&& scheduler) {
            self->scheduler = std::move(scheduler);
#if KILN_ASAN
            __sanitizer_finish_switch_fiber(nullptr, &scheduler_stack_bottom, &scheduler_stack_size);
#endif
            try {
                if (!self->aborting) thread_body();
            } catch (const FiberAbort&) {
                // the block was abandoned; this fiber's stack is now unwound
            } catch (...) {
                self->error = std::current_exception();  // never across the fiber boundary
            }
            self->status = Status::finished;
#if KILN_ASAN
            __sanitizer_start_switch_fiber(nullptr, scheduler_stack_bottom, scheduler_stack_size);
#endif
            return std::move(self->scheduler);
        });
        block.fibers.push_back(std::move(fiber));
    }
    poison_shared(block);
    current_block = &block;
    struct LeaveBlock {  // also when an error leaves early: unwind every unfinished fiber
        Block& block;
        ~LeaveBlock() {
            for (auto& fiber : block.fibers) {
                if (fiber->status == Status::finished) continue;
                fiber->aborting = true;
                resume(*fiber);
            }
            current_block = nullptr;
        }
    } leave_block{block};
    while (true) {
        for (size_t index : resume_order(count, random)) {
            Fiber& fiber = *block.fibers[index];
            if (fiber.status != Status::runnable) continue;
            resume(fiber);
            if (fiber.error) {
                try {
                    std::rethrow_exception(fiber.error);
                } catch (const std::exception& error) {
                    fail("emu: kernel ", block.kernel_name, " threw in thread ", index_str(fiber.thread_index),
                         " of block ", index_str(block.block_index), ": ", error.what());
                }
            }
        }
        if (std::all_of(block.fibers.begin(), block.fibers.end(),
                        [](const auto& fiber) { return fiber->status == Status::finished; }))
            break;
        if (release_warps(block)) continue;
        release_barrier(block);
    }
    KILN_CHECK(guard_intact(block.dynamic_shared.data() + block.dynamic_shared_bytes), "emu: kernel ",
               block.kernel_name, ", block ", index_str(block.block_index), " wrote past the end of its ",
               block.dynamic_shared_bytes, " bytes of dynamic shared memory");
}

void check_launch(const char* name, Dim3 grid, Dim3 block, size_t shared) {
    const uint64_t threads = uint64_t(block.x) * block.y * block.z;
    KILN_CHECK(grid.x && grid.y && grid.z && block.x && block.y && block.z, "emu: kernel ", name,
               ": launch with a zero dimension (grid ", index_str(grid), ", block ", index_str(block), ")");
    KILN_CHECK(threads <= max_threads_per_block, "emu: kernel ", name, ": block ", index_str(block), " has ", threads,
               " threads, the limit is ", max_threads_per_block);
    KILN_CHECK(block.x <= max_block_dim_xy && block.y <= max_block_dim_xy && block.z <= max_block_dim_z, "emu: kernel ",
               name, ": block ", index_str(block), " exceeds the block dimension limits (1024, 1024, 64)");
    KILN_CHECK(grid.x <= max_grid_dim_x && grid.y <= max_grid_dim_yz && grid.z <= max_grid_dim_yz, "emu: kernel ", name,
               ": grid ", index_str(grid), " exceeds the grid limits (2^31 - 1, 65535, 65535)");
    KILN_CHECK(shared <= max_dynamic_shared_bytes, "emu: kernel ", name, ": ", shared,
               " bytes of dynamic shared memory, the limit is ", max_dynamic_shared_bytes);
}

}  // namespace

const char* schedule_name(Schedule s) {
    switch (s) {
        case Schedule::forward: return "forward";
        case Schedule::reverse: return "reverse";
        case Schedule::random: return "random";
    }
    return "?";
}

void set_schedule(Schedule s, uint64_t seed) {
    schedule = s;
    schedule_seed = seed;
}
Schedule current_schedule() { return schedule; }

ScheduleGuard::ScheduleGuard(Schedule s, uint64_t seed) : previous_schedule_(schedule), previous_seed_(schedule_seed) {
    set_schedule(s, seed);
}
ScheduleGuard::~ScheduleGuard() { set_schedule(previous_schedule_, previous_seed_); }

void launch(const char* kernel_name, Dim3 grid, Dim3 block_dim, size_t dynamic_shared_bytes,
            const std::function<void()>& thread_body) {
    KILN_CHECK(!current_block, "emu: kernel ", kernel_name, " launched from inside a kernel (dynamic parallelism is not emulated)");
    check_launch(kernel_name, grid, block_dim, dynamic_shared_bytes);
    ++launches;
    ++current_stream().launches;
    static thread_local StackPool stacks;  // fiber stacks are reused across launches: mmap per launch dominated
    std::mt19937_64 random(schedule_seed);
    Block block;
    block.kernel_name = kernel_name;
    block.block_dim = block_dim;
    block.grid_dim = grid;
    block.dynamic_shared_bytes = dynamic_shared_bytes;
    block.dynamic_shared.resize(dynamic_shared_bytes + guard_bytes);
    arm_guard(block.dynamic_shared.data() + dynamic_shared_bytes);
    struct Disarm {  // the vector frees the guard with the block: unpoison it first
        Block& block;
        ~Disarm() { disarm_guard(block.dynamic_shared.data() + block.dynamic_shared_bytes); }
    } disarm{block};
    for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
            for (unsigned x = 0; x < grid.x; ++x) {
                block.block_index = {x, y, z};
                run_block(block, thread_body, stacks, random);
            }
    check_guards(kernel_name);
}

Dim3& thread_index() { return fiber_in_kernel("threadIdx").thread_index; }
Dim3& block_index() {
    KILN_CHECK(current_block, "emu: blockIdx used outside a kernel launch");
    return current_block->block_index;
}
Dim3& block_dim() {
    KILN_CHECK(current_block, "emu: blockDim used outside a kernel launch");
    return current_block->block_dim;
}
Dim3& grid_dim() {
    KILN_CHECK(current_block, "emu: gridDim used outside a kernel launch");
    return current_block->grid_dim;
}
unsigned char* dynamic_shared_memory() {
    KILN_CHECK(current_block, "emu: dynamic shared memory used outside a kernel launch");
    return current_block->dynamic_shared.data();
}

void syncthreads(const std::source_location& site) {
    Fiber& fiber = fiber_in_kernel("__syncthreads");
    fiber.status = Status::at_barrier;
    fiber.site = site;
    yield_to_scheduler(fiber);
}

uint64_t warp_collective(WarpOp op, unsigned mask, uint64_t value, int argument, int width,
                         const std::source_location& site) {
    Fiber& fiber = fiber_in_kernel("a warp collective");
    const unsigned lane = fiber.linear % warp_size;
    KILN_CHECK(mask >> lane & 1, "emu: thread ", index_str(fiber.thread_index), " calls a warp collective at ",
               site_str(site), " with a mask that excludes its own lane ", lane);
    KILN_CHECK(width > 0 && width <= int(warp_size) && (width & (width - 1)) == 0, "emu: warp collective at ",
               site_str(site), ": width ", width, " is not a power of two up to 32");
    fiber.status = Status::at_warp_collective;
    fiber.site = site;
    fiber.op = op;
    fiber.mask = mask;
    fiber.value = value;
    fiber.argument = argument;
    fiber.width = width;
    yield_to_scheduler(fiber);
    return fiber.result;
}

uint64_t launch_count() { return launches.load(); }

Stream& default_stream() {
    static Stream stream;
    return stream;
}
Stream& current_stream() { return current_stream_of_thread ? *current_stream_of_thread : default_stream(); }
void set_current_stream(Stream* stream) { current_stream_of_thread = stream; }

DebugThread debug_thread;

}  // namespace kiln::simt
