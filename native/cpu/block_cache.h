// Host memory for array buffers. Blocks of 4 KiB and more are kept when freed and handed out again
// for the same rounded size: a training step frees and allocates the same sizes every step, and a
// fresh large block comes from mmap (or from malloc's heap after it shrank), which costs a page
// fault per 4 KiB on first touch (hundreds of microseconds per step). The cache holds at most 128 MiB; once full it is emptied and refills with
// the sizes in use. Thread-safe (ParallelWrapper's worker threads share the addon).
#pragma once
#include <cstddef>

namespace dl4ts {

// 64-byte aligned storage for `bytes` (> 0) bytes, contents undefined; nullptr when out of memory.
void* allocBlock(size_t bytes);
// Returns a block from allocBlock(bytes) (the same `bytes`).
void freeBlock(void* p, size_t bytes);

}  // namespace dl4ts
