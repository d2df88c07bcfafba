#include "parallel.h"

#include <algorithm>
#include <atomic>
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

class ThreadPool {
 public:
  explicit ThreadPool(int n) { resize(n); }
  ~ThreadPool() { stop(); }

  int size() const { return (int)workers_.size() + 1; }

  void resize(int n) {
    std::lock_guard<std::mutex> serial(runMutex_);  // never while a parallel region runs
    stop();
    stopping_ = false;
    // New workers must not take the last (finished) region for a new one.
    const uint64_t current = generation_;
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, i, current] { loop(i, current); });
  }

  void run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    std::lock_guard<std::mutex> serial(runMutex_);  // one parallel region at a time per process
    const int64_t maxChunks = std::max<int64_t>(1, n / std::max<int64_t>(grain, 1));
    const int chunks = (int)std::min<int64_t>(size(), maxChunks);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fn_ = &fn;
      n_ = n;
      chunks_ = chunks;
      pending_ = chunks - 1;
      ++generation_;
    }
    cv_.notify_all();
    insidePool = true;
    runChunk(0);
    insidePool = false;
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    fn_ = nullptr;
  }

 private:
  void runChunk(int c) {
    int64_t begin = n_ * c / chunks_, end = n_ * (c + 1) / chunks_;
    if (begin < end) (*fn_)(begin, end);
  }

  void loop(int id, uint64_t seen) {
    insidePool = true;
    for (;;) {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      if (id >= chunks_) continue;
      lock.unlock();
      runChunk(id);
      lock.lock();
      if (--pending_ == 0) done_.notify_one();
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
  int chunks_ = 0, pending_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
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
  pool().run(n, grain, fn);
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
