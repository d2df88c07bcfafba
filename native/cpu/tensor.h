// Buffers and strided tensor views as they cross from JavaScript. Every kernel parses its
// arguments through these helpers, which check dtype, shape, strides and offset against the
// buffer's capacity before any memory is touched.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dtype.h"

namespace dl4ts {

constexpr int MAX_RANK = 32;
// A tensor argument crosses as its buffer (an External) at argument position k; its geometry is in slot
// k of the calling thread's descriptor array (a Float64Array registered once by setDescriptors):
// [dtype code, offset, rank, shape[MAX_RANK], strides[MAX_RANK]]. Reading numbers from memory instead of
// N-API array elements is what makes a small op's call cheap.
constexpr int DESCRIPTOR_SLOTS = 12;
constexpr int DESCRIPTOR_STRIDE = 3 + 2 * MAX_RANK;

// Native storage behind an NDArray. JavaScript holds it as an External; close() frees it at once,
// the External's finalizer frees it if JavaScript forgot to.
struct Buffer {
  char* data = nullptr;
  size_t bytes = 0;
};

struct Tensor {
  char* data = nullptr;  // points at element `offset`
  int32_t dtype = FLOAT;
  int rank = 0;
  int64_t shape[MAX_RANK] = {};
  int64_t strides[MAX_RANK] = {};  // in elements
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= shape[i];
    return n;
  }
  size_t itemSize() const { return dtypeSize(dtype); }
  bool contiguous() const {
    int64_t expected = 1;
    for (int i = rank - 1; i >= 0; --i) {
      if (shape[i] != 1 && strides[i] != expected) return false;
      expected *= shape[i];
    }
    return true;
  }
  std::string describe() const;
};

[[noreturn]] void throwError(Napi::Env env, const std::string& op, const std::string& msg);

// Parses tensor argument `index` (its buffer, and its descriptor slot) named `name` of operation `op`.
Tensor parseTensor(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name);
Buffer* parseBuffer(const Napi::CallbackInfo& info, size_t index, const char* op);
double parseNumber(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name);
int64_t parseInt(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name);
std::vector<int64_t> parseIntArray(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name);

// Shape checks every kernel repeats.
void requireSameShape(Napi::Env env, const char* op, const Tensor& a, const Tensor& b);
void requireDtype(Napi::Env env, const char* op, const Tensor& t, const char* name, bool ok, const char* expected);

// Whether two views can touch a common byte (their [lowest, highest] address ranges intersect);
// an empty view overlaps nothing. Views of different buffers never overlap.
bool overlaps(const Tensor& a, const Tensor& b);

// Offset (in elements) of the i-th element in row-major order of `t`'s shape.
inline int64_t offsetOf(const Tensor& t, int64_t linear) {
  int64_t off = 0;
  for (int d = t.rank - 1; d >= 0 && linear; --d) {
    int64_t s = t.shape[d];
    off += (linear % s) * t.strides[d];
    linear /= s;
  }
  return off;
}

// Walks a strided tensor in row-major order from a linear start index, keeping a multi-index
// so that each step costs one add (no div/mod per element).
struct StridedCursor {
  const Tensor* t;
  int64_t idx[MAX_RANK];
  int64_t off;
  void seek(const Tensor& tensor, int64_t linear) {
    t = &tensor;
    off = 0;
    for (int d = tensor.rank - 1; d >= 0; --d) {
      int64_t s = tensor.shape[d];
      idx[d] = s ? linear % s : 0;
      off += idx[d] * tensor.strides[d];
      linear = s ? linear / s : 0;
    }
  }
  inline void next() {
    for (int d = t->rank - 1; d >= 0; --d) {
      off += t->strides[d];
      if (++idx[d] < t->shape[d]) return;
      off -= idx[d] * t->strides[d];
      idx[d] = 0;
    }
  }
};

}  // namespace dl4ts
