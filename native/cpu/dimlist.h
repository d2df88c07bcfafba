// Dimension lists with K parallel stride sets (e.g. input and output strides of the same index
// space), used by the axis kernels to drop unit dims, reorder and merge dims, and walk them.
#pragma once
#include <napi.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "tensor.h"

namespace dl4ts {

// Maps axis in [-rank, rank) to [0, rank); throws naming the op otherwise.
inline int normalizeAxis(Napi::Env env, const char* op, int64_t axis, int rank) {
  if (axis < -rank || axis >= rank) {
    throwError(env, op, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  return (int)(axis < 0 ? axis + rank : axis);
}

template <int K>
struct DimList {
  int n = 0;
  int64_t shape[MAX_RANK] = {};
  int64_t st[K][MAX_RANK] = {};

  void push(int64_t size, const int64_t (&strides)[K]) {
    shape[n] = size;
    for (int k = 0; k < K; ++k) st[k][n] = strides[k];
    ++n;
  }
  int64_t numel() const {
    int64_t e = 1;
    for (int i = 0; i < n; ++i) e *= shape[i];
    return e;
  }
  void erase(int i) {
    for (int j = i; j + 1 < n; ++j) {
      shape[j] = shape[j + 1];
      for (int k = 0; k < K; ++k) st[k][j] = st[k][j + 1];
    }
    --n;
  }
  void dropOnes() {
    for (int i = n - 1; i >= 0; --i)
      if (shape[i] == 1) erase(i);
  }
  // Merges dim i into i+1 where every stride set agrees that they form one run (keeps row-major
  // order of the index space, so linear indices are unchanged).
  void coalesce() {
    for (int i = n - 2; i >= 0; --i) {
      bool ok = true;
      for (int k = 0; k < K && ok; ++k) ok = st[k][i] == st[k][i + 1] * shape[i + 1];
      if (ok) {
        shape[i + 1] *= shape[i];
        erase(i);
      }
    }
  }
  // Stable sort so that stride set k decreases from outer to inner (stride 0 counts as largest:
  // broadcast dims go outermost, never innermost).
  void sortByStride(int k) {
    auto key = [&](int i) { return st[k][i] == 0 ? INT64_MAX : st[k][i]; };
    for (int i = 1; i < n; ++i) {
      for (int j = i; j > 0 && key(j - 1) < key(j); --j) {
        std::swap(shape[j - 1], shape[j]);
        for (int kk = 0; kk < K; ++kk) std::swap(st[kk][j - 1], st[kk][j]);
      }
    }
  }
  // Offsets of the row-major linear index in each stride set.
  void offsets(int64_t linear, int64_t (&off)[K]) const {
    for (int k = 0; k < K; ++k) off[k] = 0;
    for (int d = n - 1; d >= 0 && linear; --d) {
      const int64_t i = linear % shape[d];
      linear /= shape[d];
      for (int k = 0; k < K; ++k) off[k] += i * st[k][d];
    }
  }
};

// Row-major walk over a DimList keeping K offsets; next() costs one add per stride set.
template <int K>
struct DimCursor {
  const DimList<K>* d = nullptr;
  int64_t idx[MAX_RANK];
  int64_t off[K];
  void seek(const DimList<K>& dl, int64_t linear) {
    d = &dl;
    for (int k = 0; k < K; ++k) off[k] = 0;
    for (int i = dl.n - 1; i >= 0; --i) {
      idx[i] = linear % dl.shape[i];
      linear /= dl.shape[i];
      for (int k = 0; k < K; ++k) off[k] += idx[i] * dl.st[k][i];
    }
  }
  inline void next() {
    for (int i = d->n - 1; i >= 0; --i) {
      for (int k = 0; k < K; ++k) off[k] += d->st[k][i];
      if (++idx[i] < d->shape[i]) return;
      for (int k = 0; k < K; ++k) off[k] -= idx[i] * d->st[k][i];
      idx[i] = 0;
    }
  }
};

// Compute type of floating kernels: float for FLOAT/HALF/BFLOAT16, double otherwise.
template <class CT>
inline CT loadAs(const char* p, int32_t d);
template <>
inline float loadAs<float>(const char* p, int32_t d) {
  switch (d) {
    case FLOAT: return *(const float*)p;
    case HALF: return halfToFloat(*(const uint16_t*)p);
    case BFLOAT16: return bf16ToFloat(*(const uint16_t*)p);
    default: return (float)loadAsDouble(p, d);
  }
}
template <>
inline double loadAs<double>(const char* p, int32_t d) { return loadAsDouble(p, d); }
template <>
inline int64_t loadAs<int64_t>(const char* p, int32_t d) {
  return d == INT64 ? *(const int64_t*)p : (int64_t)loadAsDouble(p, d);
}

template <class CT>
inline void storeAs(char* p, int32_t d, CT v) {
  switch (d) {
    case FLOAT: *(float*)p = (float)v; break;
    case DOUBLE: *(double*)p = (double)v; break;
    case HALF: *(uint16_t*)p = floatToHalf((float)v); break;
    case BFLOAT16: *(uint16_t*)p = floatToBf16((float)v); break;
    default: storeFromDouble(p, d, (double)v);
  }
}

}  // namespace dl4ts
