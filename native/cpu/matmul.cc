// The `matmul` export: validates the views and hands them to the GEMM engine (gemm.h).
//   matmul(a: T[..., M, K], b: T[..., K, N], out: T[..., M, N], alpha, beta)
//   out = alpha * a @ b + beta * out, batched over the (equal) leading dimensions.
#include <cstdlib>
#include <cstring>
#include <string>

#include "gemm.h"
#include "registry.h"
#include "tensor.h"

namespace dl4ts {

namespace {

const char* const OP = "matmul";

// Copies a view into a fresh contiguous allocation (used when an input shares memory with out).
char* copyContiguous(const Tensor& t, Tensor& copy) {
  const size_t item = t.itemSize();
  const int64_t n = t.numel();
  char* mem = (char*)std::malloc((size_t)n * item + 64);
  if (!mem) return nullptr;
  StridedCursor cur;
  cur.seek(t, 0);
  for (int64_t i = 0; i < n; ++i, cur.next()) std::memcpy(mem + i * item, t.data + cur.off * (int64_t)item, item);
  copy = t;
  copy.data = mem;
  int64_t s = 1;
  for (int d = t.rank - 1; d >= 0; --d) {
    copy.strides[d] = s;
    s *= t.shape[d];
  }
  return mem;
}

struct FreeOnExit {
  char* p = nullptr;
  ~FreeOnExit() { std::free(p); }
};

}  // namespace

static Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Tensor a = parseTensor(info, 0, OP, "a");
  Tensor b = parseTensor(info, 1, OP, "b");
  Tensor out = parseTensor(info, 2, OP, "out");
  const double alpha = parseNumber(info, 3, OP, "alpha");
  const double beta = parseNumber(info, 4, OP, "beta");

  const std::string shapes = "a " + a.describe() + ", b " + b.describe() + ", out " + out.describe();
  if (!isFloating(a.dtype) || a.dtype != b.dtype || a.dtype != out.dtype) {
    throwError(env, OP, "a, b and out must share one floating dtype (DOUBLE, FLOAT, HALF or BFLOAT16); got " + shapes);
  }
  if (a.rank < 2 || b.rank != a.rank || out.rank != a.rank) {
    throwError(env, OP, "a [..., M, K], b [..., K, N] and out [..., M, N] must have one rank >= 2; got " + shapes);
  }
  const int r = a.rank;
  for (int d = 0; d < r - 2; ++d) {
    if (a.shape[d] != b.shape[d] || a.shape[d] != out.shape[d]) {
      throwError(env, OP, "batch dimension " + std::to_string(d) + " differs (broadcast with stride 0 first); got " + shapes);
    }
  }
  const int64_t M = a.shape[r - 2], K = a.shape[r - 1], N = b.shape[r - 1];
  if (b.shape[r - 2] != K) {
    throwError(env, OP, "inner dimensions differ: a has K = " + std::to_string(K) + ", b has K = " +
                            std::to_string(b.shape[r - 2]) + "; got " + shapes);
  }
  if (out.shape[r - 2] != M || out.shape[r - 1] != N) {
    throwError(env, OP, "out must be [..., " + std::to_string(M) + ", " + std::to_string(N) + "]; got " + shapes);
  }
  for (int d = 0; d < r; ++d) {
    if (out.shape[d] > 1 && out.strides[d] == 0) {
      throwError(env, OP, "out must not be broadcast (stride 0 on dimension " + std::to_string(d) + "); got " + shapes);
    }
  }
  if (out.numel() == 0) return env.Undefined();

  // The engine reads a and b while writing out: an input sharing memory with out is copied first.
  FreeOnExit copyA, copyB;
  const bool nonEmptyK = K > 0;
  if (nonEmptyK && overlaps(a, out)) {
    Tensor c;
    if (!(copyA.p = copyContiguous(a, c))) throwError(env, OP, "out of host memory copying a (it overlaps out)");
    a = c;
  }
  if (nonEmptyK && overlaps(b, out)) {
    Tensor c;
    if (!(copyB.p = copyContiguous(b, c))) throwError(env, OP, "out of host memory copying b (it overlaps out)");
    b = c;
  }

  GemmOperand A{a.data, a.dtype, a.strides[r - 2], a.strides[r - 1]};
  GemmOperand B{b.data, b.dtype, b.strides[r - 2], b.strides[r - 1]};
  GemmOutput C{out.data, out.dtype, out.strides[r - 2], out.strides[r - 1]};
  bool ok;
  if (r == 2) {
    ok = gemm(M, N, K, alpha, A, B, beta, C);
  } else {
    GemmBatch batch;
    batch.rank = r - 2;
    for (int d = 0; d < r - 2; ++d) {
      batch.shape[d] = a.shape[d];
      batch.aStrides[d] = a.strides[d];
      batch.bStrides[d] = b.strides[d];
      batch.cStrides[d] = out.strides[d];
    }
    ok = gemmBatched(batch, M, N, K, alpha, A, B, beta, C);
  }
  if (!ok) throwError(env, OP, "out of host memory for packing buffers (" + shapes + ")");
  return env.Undefined();
}

static Napi::Value GemmIsa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), gemmIsa()); }

DL4TS_EXPORT("matmul", Matmul);
DL4TS_EXPORT("gemmIsa", GemmIsa);

}  // namespace dl4ts
