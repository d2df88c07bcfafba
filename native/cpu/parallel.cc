#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "registry.h"
#include "tensor.h"

namespace dl4ts {

namespace {

thread_local bool insidePool = false;

// How long the caller polls for the workers to finish their chunks before it sleeps. Idle workers
// do not poll: waking a sleeping thread takes 300 us and more on the 2-vCPU VM this was tuned on,
// but workers that polled while kernel calls kept coming made MLP training steps 50-100% slower
// there whenever other processes wanted the cores (a polling thread spends the share of the CPU the
// caller needs). Late workers cost little instead: the caller takes the chunks nobody has claimed.
constexpr int64_t kSpinNs = 20'000;

inline int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Polls `done` for up to kSpinNs; true if it became true.
template <class F>
bool spinUntil(const F& done) {
  const int64_t until = nowNs() + kSpinNs;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpuRelax();
    }
    if (nowNs() >= until) return false;
  }
}

// One word tags a region's chunk claims with its generation and chunk count, so a thread that
// wakes late (descheduled on a busy machine) can neither claim a chunk of a newer region nor hold up
// this one: whoever is running claims the next chunk, the caller included.
//   bits 32..63 generation, 16..31 chunk count, 0..15 next chunk index
inline uint64_t packClaim(uint64_t gen, uint64_t chunks, uint64_t next) { return (gen << 32) | (chunks << 16) | next; }
inline uint32_t claimGen(uint64_t c) { return (uint32_t)(c >> 32); }
inline int claimChunks(uint64_t c) { return (int)((c >> 16) & 0xffff); }
inline int claimNext(uint64_t c) { return (int)(c & 0xffff); }

class ThreadPool {
 public:
  explicit ThreadPool(int n) { resize(n); }
  ~ThreadPool() { stop(); }

  int size() const { return (int)workers_.size() + 1; }

  void resize(int n) {
    std::lock_guard<std::mutex> serial(runMutex_);  // never while a parallel region runs
    stop();
    stopping_ = false;
    // New workers only react to regions after this one.
    const uint32_t gen = claimGen(claim_.load());
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, gen] { loop(gen); });
  }

  // Runs fn over `chunks` (1..65535) contiguous ranges splitting [0, n).
  void run(int64_t n, int chunks, const std::function<void(int64_t, int64_t)>& fn) {
    std::lock_guard<std::mutex> serial(runMutex_);  // one parallel region at a time per process
    insidePool = true;
    if (chunks <= 1) {  // nothing to share: no hand-off at all
      fn(0, n);
      insidePool = false;
      return;
    }
    fn_ = &fn;
    n_ = n;
    finished_.store(0, std::memory_order_relaxed);
    {
      // Under the mutex, so that a worker between its check of claim_ and its wait cannot miss the notify.
      std::lock_guard<std::mutex> lock(mutex_);
      const uint32_t gen = claimGen(claim_.load(std::memory_order_relaxed)) + 1;
      claim_.store(packClaim(gen, (uint64_t)chunks, 0), std::memory_order_release);
    }
    if (sleepers_.load() > 0) cv_.notify_all();
    work(claimGen(claim_.load(std::memory_order_relaxed)));
    insidePool = false;
    auto allDone = [&] { return finished_.load(std::memory_order_acquire) == chunks; };
    if (!spinUntil(allDone)) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, allDone);
    }
    fn_ = nullptr;
  }

 private:
  // Claims and runs chunks of region `gen` until none is left (or a newer region has started).
  void work(uint32_t gen) {
    uint64_t c = claim_.load(std::memory_order_acquire);
    for (;;) {
      if (claimGen(c) != gen || claimNext(c) >= claimChunks(c)) return;
      if (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      // The region cannot finish before this chunk does, so fn_ and n_ are its own.
      const int chunk = claimNext(c), chunks = claimChunks(c);
      const int64_t begin = n_ * chunk / chunks, end = n_ * (chunk + 1) / chunks;
      if (begin < end) (*fn_)(begin, end);
      if (finished_.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks) {
        { std::lock_guard<std::mutex> lock(mutex_); }  // the caller is either polling or inside wait()
        done_.notify_one();
      }
      c = claim_.load(std::memory_order_acquire);
    }
  }

  void loop(uint32_t seen) {
    insidePool = true;
    for (;;) {
      auto fresh = [&] { return stopping_.load() || claimGen(claim_.load(std::memory_order_acquire)) != seen; };
      if (!fresh()) {
        std::unique_lock<std::mutex> lock(mutex_);
        ++sleepers_;
        cv_.wait(lock, fresh);
        --sleepers_;
      }
      if (stopping_.load()) return;
      seen = claimGen(claim_.load(std::memory_order_acquire));
      work(seen);
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex runMutex_, mutex_;
  std::condition_variable cv_, done_;
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  std::atomic<uint64_t> claim_{0};
  std::atomic<int> finished_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stopping_{false};
};

int defaultThreads() {
  if (const char* env = std::getenv("DL4TS_CPU_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

ThreadPool& pool() {
  static ThreadPool p(defaultThreads());
  return p;
}

}  // namespace

int threadCount() { return pool().size(); }

void setThreadCount(int n) { pool().resize(std::max(1, n)); }

void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (insidePool || n <= grain || pool().size() == 1) {
    fn(0, n);
    return;
  }
  const int64_t maxChunks = std::max<int64_t>(1, n / std::max<int64_t>(grain, 1));
  pool().run(n, (int)std::min<int64_t>(pool().size(), maxChunks), fn);
}

void parallelTasks(int64_t count, const std::function<void(int64_t, int64_t)>& fn) {
  if (count <= 0) return;
  if (insidePool || count == 1 || pool().size() == 1) {
    fn(0, count);
    return;
  }
  pool().run(count, (int)std::min<int64_t>(count, 0xffff), fn);
}

static Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), threadCount()); }

static Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  int64_t n = parseInt(info, 0, "setThreads", "threads");
  if (n < 1 || n > 1024) throwError(info.Env(), "setThreads", "thread count must be in 1..1024");
  setThreadCount((int)n);
  return info.Env().Undefined();
}

DL4TS_EXPORT("getThreads", GetThreads);
DL4TS_EXPORT("setThreads", SetThreads);

}  // namespace dl4ts
