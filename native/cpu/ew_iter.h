// Row-wise iteration over several strided views of one shape (an elementwise op's output and
// inputs). Size-1 dimensions are dropped and neighbouring dimensions that are contiguous in every
// operand are merged, so that contiguous (and bias-style broadcast) operands give long rows. The
// flat element range is split across the thread pool; each chunk walks its rows with one shared
// multi-index and one offset per operand (one add per operand per row).
#pragma once
#include <algorithm>
#include <cstdint>

#include "parallel.h"
#include "tensor.h"

namespace dl4ts {

constexpr int EW_MAX_OPERANDS = 4;

struct EwPlan {
  int rank = 0;
  int nops = 0;
  int64_t numel = 0;
  int64_t shape[MAX_RANK] = {};
  int64_t strides[EW_MAX_OPERANDS][MAX_RANK] = {};
  char* data[EW_MAX_OPERANDS] = {};
  int64_t itemSize[EW_MAX_OPERANDS] = {};
};

// All tensors must have ts[0]'s shape (checked by the caller).
inline EwPlan makePlan(const Tensor* const* ts, int n) {
  EwPlan p;
  p.nops = n;
  const Tensor& t0 = *ts[0];
  p.numel = t0.numel();
  for (int k = 0; k < n; ++k) {
    p.data[k] = ts[k]->data;
    p.itemSize[k] = (int64_t)ts[k]->itemSize();
  }
  int r = 0;
  for (int d = 0; d < t0.rank; ++d) {
    if (t0.shape[d] == 1) continue;
    bool merge = r > 0;
    for (int k = 0; merge && k < n; ++k) merge = p.strides[k][r - 1] == ts[k]->strides[d] * t0.shape[d];
    if (merge) {
      p.shape[r - 1] *= t0.shape[d];
      for (int k = 0; k < n; ++k) p.strides[k][r - 1] = ts[k]->strides[d];
    } else {
      p.shape[r] = t0.shape[d];
      for (int k = 0; k < n; ++k) p.strides[k][r] = ts[k]->strides[d];
      ++r;
    }
  }
  if (r == 0) {  // a single element
    p.shape[0] = 1;
    for (int k = 0; k < n; ++k) p.strides[k][0] = 1;
    r = 1;
  }
  p.rank = r;
  return p;
}

// fn(char* const* ptrs, const int64_t* strides, int64_t n): one row segment, ptrs[k] the first
// element of operand k, strides[k] its element stride along the row (0 = broadcast).
// done(): called by each thread after its last row (e.g. to fence non-temporal stores).
inline void noEpilogue() {}
template <class Fn, class Done = void (*)()>
void forEachRow(const EwPlan& p, int64_t grain, const Fn& fn, const Done& done = noEpilogue) {
  if (p.numel <= 0) return;
  const int r = p.rank, nops = p.nops;
  const int64_t inner = p.shape[r - 1];
  auto chunk = [&](int64_t begin, int64_t end) {
    int64_t idx[MAX_RANK] = {};
    int64_t off[EW_MAX_OPERANDS] = {};
    int64_t is[EW_MAX_OPERANDS] = {};
    char* ptr[EW_MAX_OPERANDS] = {};
    int64_t row = begin / inner, col = begin % inner;
    for (int d = r - 2; d >= 0; --d) {
      idx[d] = row % p.shape[d];
      row /= p.shape[d];
      for (int k = 0; k < nops; ++k) off[k] += idx[d] * p.strides[k][d];
    }
    for (int k = 0; k < nops; ++k) is[k] = p.strides[k][r - 1];
    for (int64_t pos = begin; pos < end;) {
      const int64_t len = std::min(inner - col, end - pos);
      for (int k = 0; k < nops; ++k) ptr[k] = p.data[k] + (off[k] + col * is[k]) * p.itemSize[k];
      fn(ptr, is, len);
      pos += len;
      col = 0;
      for (int d = r - 2; d >= 0; --d) {  // next row
        for (int k = 0; k < nops; ++k) off[k] += p.strides[k][d];
        if (++idx[d] < p.shape[d]) break;
        for (int k = 0; k < nops; ++k) off[k] -= idx[d] * p.strides[k][d];
        idx[d] = 0;
      }
    }
    done();
  };
  // parallelFor wakes the pool as soon as n > grain even when that gives a single chunk.
  if (p.numel < 2 * grain) chunk(0, p.numel);
  else parallelFor(p.numel, grain, chunk);
}

}  // namespace dl4ts
