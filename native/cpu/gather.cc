// gather(x, indices, out, axis) and its adjoint scatterAdd(target, indices, updates, axis).
//
// Both validate every index before writing anything. gather copies raw elements (any dtype),
// parallel over output runs. scatterAdd parallelises over the non-indexed positions of target
// ("lanes"): each task owns a disjoint set of target lanes and walks all indices in row-major
// order, so duplicate indices accumulate without races and deterministically.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>

#include "dimlist.h"
#include "parallel.h"
#include "registry.h"
#include "tensor.h"

namespace dl4ts {
namespace {

inline int64_t loadIndex(const char* p, int32_t dt) { return dt == INT64 ? *(const int64_t*)p : (int64_t)*(const int32_t*)p; }

std::string shapeStr(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

// Throws (naming the first bad index, its position and the bound) unless every index is in [0, bound).
void checkIndices(Napi::Env env, const char* op, const Tensor& idx, int64_t bound, const char* xname, const Tensor& x, int axis) {
  const int64_t n = idx.numel();
  if (n == 0) return;
  const int64_t isz = (int64_t)idx.itemSize();
  std::atomic<bool> bad{false};
  parallelFor(n, 1 << 16, [&](int64_t b, int64_t e) {
    StridedCursor c;
    c.seek(idx, b);
    for (int64_t i = b; i < e; ++i, c.next()) {
      const uint64_t v = (uint64_t)loadIndex(idx.data + c.off * isz, idx.dtype);
      if (v >= (uint64_t)bound) {  // negative values wrap to huge
        bad = true;
        return;
      }
    }
  });
  if (!bad) return;
  StridedCursor c;
  c.seek(idx, 0);
  for (int64_t i = 0; i < n; ++i, c.next()) {
    const int64_t v = loadIndex(idx.data + c.off * isz, idx.dtype);
    if (v >= 0 && v < bound) continue;
    std::string pos = "[";
    for (int d = 0; d < idx.rank; ++d) pos += (d ? "," : "") + std::to_string(c.idx[d]);
    throwError(env, op,
               "indices" + pos + "] = " + std::to_string(v) + " is out of range: axis " + std::to_string(axis) + " of " + xname + " " +
                   x.describe() + " has size " + std::to_string(bound) +
                   (bound > 0 ? " (valid 0.." + std::to_string(bound - 1) + ")" : " (no valid index)"));
  }
}

// Shape x.shape[:axis] + indices.shape + x.shape[axis+1:].
std::vector<int64_t> gatheredShape(const Tensor& x, const Tensor& idx, int axis) {
  std::vector<int64_t> s(x.shape, x.shape + axis);
  s.insert(s.end(), idx.shape, idx.shape + idx.rank);
  s.insert(s.end(), x.shape + axis + 1, x.shape + x.rank);
  return s;
}

void requireShape(Napi::Env env, const char* op, const Tensor& t, const char* name, const std::vector<int64_t>& want, const std::string& why) {
  bool ok = t.rank == (int)want.size();
  for (int d = 0; ok && d < t.rank; ++d) ok = t.shape[d] == want[d];
  if (!ok) throwError(env, op, std::string("'") + name + "' " + t.describe() + " must have shape " + shapeStr(want) + " (" + why + ")");
}

// Copies n elements of size SZ with element strides xs (source) and os (destination).
template <size_t SZ>
inline void copyRun(char* dst, const char* src, int64_t n, int64_t xs, int64_t os) {
  if (xs == 1 && os == 1) {
    std::memcpy(dst, src, (size_t)n * SZ);
    return;
  }
  for (int64_t k = 0; k < n; ++k) std::memcpy(dst + k * os * (int64_t)SZ, src + k * xs * (int64_t)SZ, SZ);
}
inline void copyRunSz(size_t sz, char* dst, const char* src, int64_t n, int64_t xs, int64_t os) {
  switch (sz) {
    case 8: copyRun<8>(dst, src, n, xs, os); break;
    case 4: copyRun<4>(dst, src, n, xs, os); break;
    case 2: copyRun<2>(dst, src, n, xs, os); break;
    default: copyRun<1>(dst, src, n, xs, os); break;
  }
}

Napi::Value Gather(const Napi::CallbackInfo& info) {
  const char* op = "gather";
  Napi::Env env = info.Env();
  Tensor x = parseTensor(info, 0, op, "x");
  Tensor idx = parseTensor(info, 1, op, "indices");
  Tensor out = parseTensor(info, 2, op, "out");
  const int64_t axisArg = parseInt(info, 3, op, "axis");
  requireDtype(env, op, idx, "indices", idx.dtype == INT32 || idx.dtype == INT64, "INT32 or INT64");
  const int axis = normalizeAxis(env, op, axisArg, x.rank);
  if (out.dtype != x.dtype) {
    throwError(env, op, std::string("'out' has dtype ") + dtypeName(out.dtype) + " but 'x' has " + dtypeName(x.dtype));
  }
  requireShape(env, op, out, "out", gatheredShape(x, idx, axis), "x.shape[:axis] + indices.shape + x.shape[axis+1:]");
  checkIndices(env, op, idx, x.shape[axis], "x", x, axis);
  if (out.numel() == 0) return env.Undefined();

  // Index space of out: outer dims, index dims, inner dims; strides of x (0 on index dims),
  // out, and indices (0 outside the index dims).
  DimList<3> dims;
  for (int d = 0; d < axis; ++d) dims.push(x.shape[d], {x.strides[d], out.strides[d], 0});
  for (int k = 0; k < idx.rank; ++k) dims.push(idx.shape[k], {0, out.strides[axis + k], idx.strides[k]});
  for (int d = axis + 1; d < x.rank; ++d) dims.push(x.shape[d], {x.strides[d], out.strides[d - 1 + idx.rank], 0});
  dims.dropOnes();
  dims.sortByStride(1);  // write out in memory order
  dims.coalesce();
  int64_t inN = 1, inX = 0, inO = 0, inI = 0;
  if (dims.n > 0) {
    inN = dims.shape[dims.n - 1];
    inX = dims.st[0][dims.n - 1];
    inO = dims.st[1][dims.n - 1];
    inI = dims.st[2][dims.n - 1];
    dims.n--;
  }
  const int64_t runs = dims.numel();
  const size_t sz = x.itemSize();
  const int64_t isz = (int64_t)idx.itemSize(), esz = (int64_t)sz;
  const int64_t axStride = x.strides[axis];
  const int64_t grain = std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(1, inN * esz));
  parallelFor(runs, grain, [&](int64_t b, int64_t e) {
    DimCursor<3> c;
    c.seek(dims, b);
    for (int64_t r = b; r < e; ++r, c.next()) {
      char* o = out.data + c.off[1] * esz;
      if (inI == 0) {  // one index for the whole run
        const int64_t v = loadIndex(idx.data + c.off[2] * isz, idx.dtype);
        copyRunSz(sz, o, x.data + (c.off[0] + v * axStride) * esz, inN, inX, inO);
      } else {  // the run walks an index dim (inX == 0)
        for (int64_t k = 0; k < inN; ++k) {
          const int64_t v = loadIndex(idx.data + (c.off[2] + k * inI) * isz, idx.dtype);
          std::memcpy(o + k * inO * esz, x.data + (c.off[0] + v * axStride) * esz, sz);
        }
      }
    }
  });
  return env.Undefined();
}

// target[t] += updates[u] over a run of n lanes (strides ts, us), in the dtype's arithmetic.
inline void addRun(char* t, const char* u, int64_t n, int64_t ts, int64_t us, int32_t dt) {
  switch (dt) {
    case FLOAT: {
      float* a = (float*)t;
      const float* b = (const float*)u;
      if (ts == 1 && us == 1) {
        for (int64_t k = 0; k < n; ++k) a[k] += b[k];
      } else {
        for (int64_t k = 0; k < n; ++k) a[k * ts] += b[k * us];
      }
      return;
    }
    case DOUBLE: {
      double* a = (double*)t;
      const double* b = (const double*)u;
      if (ts == 1 && us == 1) {
        for (int64_t k = 0; k < n; ++k) a[k] += b[k];
      } else {
        for (int64_t k = 0; k < n; ++k) a[k * ts] += b[k * us];
      }
      return;
    }
    case HALF: {
      uint16_t* a = (uint16_t*)t;
      const uint16_t* b = (const uint16_t*)u;
      for (int64_t k = 0; k < n; ++k) a[k * ts] = floatToHalf(halfToFloat(a[k * ts]) + halfToFloat(b[k * us]));
      return;
    }
    case BFLOAT16: {
      uint16_t* a = (uint16_t*)t;
      const uint16_t* b = (const uint16_t*)u;
      for (int64_t k = 0; k < n; ++k) a[k * ts] = floatToBf16(bf16ToFloat(a[k * ts]) + bf16ToFloat(b[k * us]));
      return;
    }
    case INT64: {  // exact, wrapping on overflow
      int64_t* a = (int64_t*)t;
      const int64_t* b = (const int64_t*)u;
      for (int64_t k = 0; k < n; ++k) a[k * ts] = (int64_t)((uint64_t)a[k * ts] + (uint64_t)b[k * us]);
      return;
    }
    default: {  // INT32, UINT8, BOOL: in double, stored with storeFromDouble (saturating; BOOL acts as or)
      const int64_t sz = (int64_t)dtypeSize(dt);
      for (int64_t k = 0; k < n; ++k) {
        char* p = t + k * ts * sz;
        storeFromDouble(p, dt, loadAsDouble(p, dt) + loadAsDouble(u + k * us * sz, dt));
      }
    }
  }
}

Napi::Value ScatterAdd(const Napi::CallbackInfo& info) {
  const char* op = "scatterAdd";
  Napi::Env env = info.Env();
  Tensor target = parseTensor(info, 0, op, "target");
  Tensor idx = parseTensor(info, 1, op, "indices");
  Tensor upd = parseTensor(info, 2, op, "updates");
  const int64_t axisArg = parseInt(info, 3, op, "axis");
  requireDtype(env, op, idx, "indices", idx.dtype == INT32 || idx.dtype == INT64, "INT32 or INT64");
  const int axis = normalizeAxis(env, op, axisArg, target.rank);
  if (upd.dtype != target.dtype) {
    throwError(env, op, std::string("'updates' has dtype ") + dtypeName(upd.dtype) + " but 'target' has " + dtypeName(target.dtype));
  }
  requireShape(env, op, upd, "updates", gatheredShape(target, idx, axis), "target.shape[:axis] + indices.shape + target.shape[axis+1:]");
  checkIndices(env, op, idx, target.shape[axis], "target", target, axis);
  if (upd.numel() == 0) return env.Undefined();

  // Lanes: target positions without the axis (strides of target and updates).
  DimList<2> lanes;
  for (int d = 0; d < axis; ++d) lanes.push(target.shape[d], {target.strides[d], upd.strides[d]});
  for (int d = axis + 1; d < target.rank; ++d) lanes.push(target.shape[d], {target.strides[d], upd.strides[d - 1 + idx.rank]});
  lanes.dropOnes();
  lanes.sortByStride(0);
  lanes.coalesce();
  // Index positions in row-major order (strides of updates and indices).
  DimList<2> jdims;
  for (int k = 0; k < idx.rank; ++k) jdims.push(idx.shape[k], {upd.strides[axis + k], idx.strides[k]});
  const int64_t nj = jdims.numel();
  jdims.dropOnes();

  int64_t inN = 1, inT = 0, inU = 0;
  if (lanes.n > 0) {
    inN = lanes.shape[lanes.n - 1];
    inT = lanes.st[0][lanes.n - 1];
    inU = lanes.st[1][lanes.n - 1];
    lanes.n--;
  }
  const int64_t outerLanes = lanes.numel();
  // Blocks of the innermost lane dim: <= 4096 lanes, and split further so every thread has work.
  const int threads = threadCount();
  int64_t block = std::min<int64_t>(inN, 4096);
  if (outerLanes * ((inN + block - 1) / block) < 2 * threads && inN >= 32) {
    const int64_t per = (2 * threads + outerLanes - 1) / outerLanes;
    block = std::max<int64_t>(16, ((inN + per - 1) / per + 15) / 16 * 16);
  }
  const int64_t nb = (inN + block - 1) / block;
  const int64_t units = outerLanes * nb;
  const int64_t esz = (int64_t)target.itemSize(), isz = (int64_t)idx.itemSize();
  const int64_t axStride = target.strides[axis];
  const int64_t grain = std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(1, block * nj));
  parallelFor(units, grain, [&](int64_t b, int64_t e) {
    for (int64_t u = b; u < e; ++u) {
      int64_t off[2];
      lanes.offsets(u / nb, off);
      const int64_t k0 = (u % nb) * block, n = std::min(block, inN - k0);
      DimCursor<2> jc;
      jc.seek(jdims, 0);
      for (int64_t j = 0; j < nj; ++j, jc.next()) {
        const int64_t v = loadIndex(idx.data + jc.off[1] * isz, idx.dtype);
        addRun(target.data + (off[0] + v * axStride + k0 * inT) * esz, upd.data + (off[1] + jc.off[0] + k0 * inU) * esz, n, inT, inU,
               target.dtype);
      }
    }
  });
  return env.Undefined();
}

}  // namespace

DL4TS_EXPORT("gather", Gather);
DL4TS_EXPORT("scatterAdd", ScatterAdd);

}  // namespace dl4ts
