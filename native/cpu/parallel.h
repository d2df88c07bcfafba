// A persistent thread pool sized to the cores (DL4TS_CPU_THREADS overrides). parallelFor splits
// [0, n) into contiguous chunks of at least `grain` items (at most one per thread); the calling
// thread and the workers claim chunks as they come, so a worker that is late to wake (a busy
// machine, a VM) does not hold the caller up.
// Kernels use it for element-level parallelism (flat ranges) and TAD-level parallelism
// (one range item per tensor along the reduced axes).
#pragma once
#include <cstdint>
#include <functional>

namespace dl4ts {

int threadCount();
void setThreadCount(int n);

// fn(begin, end) is called for disjoint ranges covering [0, n). Runs inline when n <= grain or
// when called from inside a pool task (no nested parallelism).
void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// fn(begin, end) over [0, count) in up to `count` pieces (more than there are threads), taken by
// whichever thread is free: for tasks of uneven cost, or for when a worker may be slow to start.
// Inline under the same conditions as parallelFor.
void parallelTasks(int64_t count, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace dl4ts
