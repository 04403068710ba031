#include "kernels/emu/device_memory.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "kernels/common/error.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define KILN_ASAN 1
#else
#define KILN_ASAN 0
#endif

namespace kiln::simt {

namespace {
constexpr unsigned char canary = 0xA5;
std::mutex allocations_mutex;
size_t memory_limit = 0;  // 0: none
size_t bytes_in_use = 0;
std::map<unsigned char*, size_t>& allocations() {  // start -> size (without guard)
    static auto* live = new std::map<unsigned char*, size_t>();
    return *live;
}
}  // namespace

void arm_guard(unsigned char* guard_start) {
    std::memset(guard_start, canary, guard_bytes);
#if KILN_ASAN
    ASAN_POISON_MEMORY_REGION(guard_start, guard_bytes);
#endif
}

void disarm_guard(unsigned char* guard_start) {
#if KILN_ASAN
    ASAN_UNPOISON_MEMORY_REGION(guard_start, guard_bytes);
#else
    (void)guard_start;
#endif
}

bool guard_intact(const unsigned char* guard_start) {
#if KILN_ASAN
    (void)guard_start;
    return true;  // poisoned: ASan has already reported any access
#else
    for (size_t i = 0; i < guard_bytes; ++i)
        if (guard_start[i] != canary) return false;
    return true;
#endif
}

void* device_try_allocate(size_t bytes) {
    {  // reserve first, so that two threads cannot both pass the cap
        std::lock_guard lock(allocations_mutex);
        if (memory_limit && bytes > memory_limit - std::min(memory_limit, bytes_in_use)) return nullptr;
        bytes_in_use += bytes;
    }
    auto* start = static_cast<unsigned char*>(std::malloc(bytes + guard_bytes));
    std::lock_guard lock(allocations_mutex);
    if (!start) {
        bytes_in_use -= bytes;
        return nullptr;
    }
    arm_guard(start + bytes);
    allocations()[start] = bytes;
    return start;
}

void* device_allocate(size_t bytes) {
    void* start = device_try_allocate(bytes);
    if (!start) {
        const size_t used = device_bytes_in_use(), limit = device_memory_limit();
        fail("emu: out of device memory: asked for ", bytes, " bytes with ", used, " in use",
             limit ? kiln::str(" (cap ", limit, " bytes)") : std::string(),
             "; use a smaller batch size, or --batch-size auto to find one that fits");
    }
    return start;
}

void set_device_memory_limit(size_t bytes) {
    std::lock_guard lock(allocations_mutex);
    memory_limit = bytes;
}

size_t device_memory_limit() {
    std::lock_guard lock(allocations_mutex);
    return memory_limit;
}

size_t device_bytes_in_use() {
    std::lock_guard lock(allocations_mutex);
    return bytes_in_use;
}

void device_free(void* pointer) {
    if (!pointer) return;
    auto* start = static_cast<unsigned char*>(pointer);
    {
        std::lock_guard lock(allocations_mutex);
        auto it = allocations().find(start);
        if (it == allocations().end()) return;
        disarm_guard(start + it->second);
        bytes_in_use -= it->second;
        allocations().erase(it);
    }
    std::free(start);
}

void check_guards(const char* kernel_name) {
    std::lock_guard lock(allocations_mutex);
    for (const auto& [start, bytes] : allocations()) {
        if (guard_intact(start + bytes)) continue;
        arm_guard(start + bytes);  // report once, then keep watching
        fail("emu: kernel ", kernel_name, " wrote past the end of a ", bytes,
             "-byte device buffer (the guard after it was overwritten)");
    }
}

}  // namespace kiln::simt
