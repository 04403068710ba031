#pragma once
// Device memory of the emu backend: host memory with exact sizes (so
// AddressSanitizer sees a kernel's out-of-bounds access at its source line)
// followed by a guard region. Under ASan the guard is poisoned, so any access
// to it is reported at once; without ASan it holds a canary pattern that
// check_guards() verifies after every launch, so an out-of-bounds write is
// still caught and named.
#include <cstddef>
#include <string>

namespace kiln::simt {

constexpr size_t guard_bytes = 64;

// Throws kiln::Error when out of memory (or over the cap below), naming the
// size asked, the bytes in use and what to do about it.
void* device_allocate(size_t bytes);
// The same, but null when out of memory or over the cap (a CachingAllocator
// source: it frees its cache and retries once).
void* device_try_allocate(size_t bytes);
void device_free(void* pointer);

// A cap on live emu device memory, to simulate a GPU running out (0: none,
// the default). Allocations that would pass it fail.
void set_device_memory_limit(size_t bytes);
size_t device_memory_limit();
size_t device_bytes_in_use();

// Throws kiln::Error naming `kernel_name` if a live allocation's guard was overwritten.
void check_guards(const char* kernel_name);

// Guard helpers shared with the dynamic shared memory of a block.
void arm_guard(unsigned char* guard_start);
bool guard_intact(const unsigned char* guard_start);
void disarm_guard(unsigned char* guard_start);

}  // namespace kiln::simt
