#include <malloc.h>

#include "registry.h"

namespace {
// Keep freed array memory in the process for reuse. By default glibc serves large blocks with mmap
// and unmaps them on free, so every new output pays first-touch page faults (measured at ~0.3 GB/s on
// a VM): a training step's temporaries then cost far more than their kernels.
void keepFreedMemory() {
  mallopt(M_MMAP_THRESHOLD, 512 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  static bool configured = (keepFreedMemory(), true);
  (void)configured;
  for (const auto& entry : dl4ts::exportRegistry()) {
    exports.Set(entry.first, Napi::Function::New(env, entry.second, entry.first));
  }
  return exports;
}
}  // namespace

NODE_API_MODULE(dl4ts_cpu, Init)
