#include "block_cache.h"

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace dl4ts {

namespace {

// Smaller blocks come from malloc's heap, which also faults when it has given its top back to the
// system; the smallest are left to malloc's own bins.
constexpr size_t kMinCached = (size_t)4 << 10;
// From here blocks are whole pages (malloc would mmap them anyway).
constexpr size_t kPageRounded = (size_t)64 << 10;
constexpr size_t kCacheCap = (size_t)128 << 20;
// Larger blocks (a whole data set, say) are not worth holding on to.
constexpr size_t kMaxCached = kCacheCap / 4;

size_t capacityOf(size_t bytes) {
  return bytes >= kPageRounded ? (bytes + 4095) & ~(size_t)4095 : (bytes + 63) & ~(size_t)63;
}

bool cacheable(size_t capacity) { return capacity >= kMinCached && capacity <= kMaxCached; }

struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free;  // by capacity
  size_t bytes = 0;

  void* take(size_t capacity) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = free.find(capacity);
    if (it == free.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    bytes -= capacity;
    return p;
  }

  void put(void* p, size_t capacity) {
    std::lock_guard<std::mutex> lock(mutex);
    if (bytes + capacity > kCacheCap) {
      // Full: the sizes in use have changed; start over with them.
      for (auto& entry : free)
        for (void* q : entry.second) std::free(q);
      free.clear();
      bytes = 0;
    }
    free[capacity].push_back(p);
    bytes += capacity;
  }
};

// Never destroyed: buffers may be freed by finalizers during process teardown.
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

}  // namespace

void* allocBlock(size_t bytes) {
  const size_t capacity = capacityOf(bytes);
  if (cacheable(capacity)) {
    if (void* p = cache().take(capacity)) return p;
  }
  return std::aligned_alloc(capacity >= kPageRounded ? 4096 : 64, capacity);
}

void freeBlock(void* p, size_t bytes) {
  const size_t capacity = capacityOf(bytes);
  if (cacheable(capacity)) cache().put(p, capacity);
  else std::free(p);
}

}  // namespace dl4ts
