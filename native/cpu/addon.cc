#include "registry.h"

namespace {
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  for (const auto& entry : dl4ts::exportRegistry()) {
    exports.Set(entry.first, Napi::Function::New(env, entry.second, entry.first));
  }
  return exports;
}
}  // namespace

NODE_API_MODULE(dl4ts_cpu, Init)
