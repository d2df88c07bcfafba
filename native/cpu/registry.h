// Each kernel file registers its exported functions with a static Registrar, so that
// adding a kernel file never touches a shared list (binding.gyp compiles every .cc here).
#pragma once
#include <napi.h>
#include <utility>
#include <vector>

namespace dl4ts {

using ExportFn = Napi::Value (*)(const Napi::CallbackInfo&);

inline std::vector<std::pair<const char*, ExportFn>>& exportRegistry() {
  static std::vector<std::pair<const char*, ExportFn>> fns;
  return fns;
}

struct Registrar {
  Registrar(const char* name, ExportFn fn) { exportRegistry().emplace_back(name, fn); }
};

}  // namespace dl4ts

#define DL4TS_EXPORT(jsName, fn) static ::dl4ts::Registrar dl4ts_reg_##fn(jsName, fn)
