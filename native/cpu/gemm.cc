// The GEMM driver: instruction-set dispatch, the BLIS loop nest (jc over NC, pc over KC with the
// packed B block, ic over MC with the packed A block, then the ISA macro-kernel), the thread
// split (a 2-D grid of C tiles, one per thread, each running the serial loop nest with its own
// packing buffers: no barriers, no shared writes), the matrix-vector path (N == 1, or M == 1 by
// transposing, when A has a contiguous dimension: no packing), batching, and HALF/BFLOAT16
// outputs through a float32 scratch. Never throws (it runs inside pool tasks); reports allocation
// failure.
#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "dtype.h"
#include "gemm_kernels.h"
#include "parallel.h"

namespace dl4ts {

using namespace gemm_detail;

namespace {

// ---- instruction-set dispatch -----------------------------------------------------------------

enum Isa { ISA_GENERIC = 0, ISA_AVX2 = 1, ISA_AVX512 = 2 };

Isa detectIsa() {
  int cap = ISA_AVX512;
  if (const char* e = std::getenv("DL4TS_GEMM_ISA")) {
    if (!std::strcmp(e, "generic")) cap = ISA_GENERIC;
    else if (!std::strcmp(e, "avx2")) cap = ISA_AVX2;
  }
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (cap >= ISA_AVX512 && avx512KernelsF32() && __builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
    return ISA_AVX512;
  }
  if (cap >= ISA_AVX2 && avx2KernelsF32() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("f16c")) {
    return ISA_AVX2;
  }
#endif
  (void)cap;
  return ISA_GENERIC;
}

Isa isa() {
  static const Isa chosen = detectIsa();
  return chosen;
}

template <typename T>
const KernelSet<T>& kernels();

template <>
const KernelSet<float>& kernels<float>() {
  static const KernelSet<float>* ks = isa() == ISA_AVX512 ? avx512KernelsF32()
                                      : isa() == ISA_AVX2 ? avx2KernelsF32()
                                                          : genericKernelsF32();
  return *ks;
}

template <>
const KernelSet<double>& kernels<double>() {
  static const KernelSet<double>* ks = isa() == ISA_AVX512 ? avx512KernelsF64()
                                       : isa() == ISA_AVX2 ? avx2KernelsF64()
                                                           : genericKernelsF64();
  return *ks;
}

// ---- per-thread packing buffers (kept between calls: no page faults per product) ------------

struct Scratch {
  void* p = nullptr;
  size_t bytes = 0;
  ~Scratch() { std::free(p); }
  void* get(size_t need) {
    if (need > bytes) {
      std::free(p);
      size_t rounded = (need + 4095) & ~(size_t)4095;
      p = std::aligned_alloc(4096, rounded);
      bytes = p ? rounded : 0;
    }
    return p;
  }
};
thread_local Scratch tlsPackA, tlsPackB, tlsVector;

// Below this many multiply-adds per thread, extra threads cost more than they save: waking a
// pool thread costs tens of microseconds on a VM, and each thread packs its own copy of the shared
// operand. Within MLP training steps 64x500x100 products (3.2M MACs, ~50 us on one Zen 5 core) ran
// 30-50% slower on two threads than on one; 2^21 keeps them on one.
constexpr double MIN_MACS_PER_THREAD = 1 << 21;
// The same for matrix-vector products, which run at memory speed (2^18 MACs: 1 MiB of FP32).
constexpr double MIN_GEMV_MACS_PER_THREAD = 1 << 18;

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

struct Operand {
  const char* data;
  int32_t dtype;
  int64_t rs, cs;
  size_t item;
  const char* at(int64_t i, int64_t j) const { return data + (i * rs + j * cs) * (int64_t)item; }
};

template <typename T>
struct Out {
  T* data;
  int64_t rs, cs;
};

// The serial BLIS loop nest on one block of C.
template <typename T>
bool gemmSerial(int64_t M, int64_t N, int64_t K, T alpha, const Operand& A, const Operand& B, T beta, Out<T> C) {
  const KernelSet<T>& ks = kernels<T>();
  // Even block sizes (e.g. K = 300 runs as 2 x 150, not 256 + 44): full-depth micro-kernel calls.
  const int64_t kBlocks = ceilDiv(K, ks.kc);
  const int64_t kcMax = ceilDiv(K, kBlocks);
  const int64_t mcMax = std::min(ks.mc, roundUp(ceilDiv(M, ceilDiv(M, ks.mc)), ks.mr));
  const int64_t ncMax = std::min(ks.nc, roundUp(ceilDiv(N, ceilDiv(N, ks.nc)), ks.nr));
  T* pa = (T*)tlsPackA.get((size_t)(mcMax * kcMax) * sizeof(T));
  T* pb = (T*)tlsPackB.get((size_t)(ncMax * kcMax) * sizeof(T));
  if (!pa || !pb) return false;
  for (int64_t jc = 0; jc < N; jc += ncMax) {
    const int64_t nc = std::min(ncMax, N - jc);
    for (int64_t pc = 0; pc < K; pc += kcMax) {
      const int64_t kc = std::min(kcMax, K - pc);
      ks.packB(B.at(pc, jc), B.dtype, B.cs, B.rs, nc, kc, pb);
      const T betaNow = pc == 0 ? beta : T(1);
      for (int64_t ic = 0; ic < M; ic += mcMax) {
        const int64_t mc = std::min(mcMax, M - ic);
        ks.packA(A.at(ic, pc), A.dtype, A.rs, A.cs, mc, kc, pa);
        ks.macro(mc, nc, kc, alpha, pa, pb, betaNow, C.data + ic * C.rs + jc * C.cs, C.rs, C.cs);
      }
    }
  }
  return true;
}

// The parallel path for products with one small side (M = 64 rows of a minibatch against a weight
// matrix, or K = 64 in a weight gradient): the operand shared by every tile (A when M fits one
// A block, else B when N fits one B block) is packed once by the caller, and C is cut along the
// other side into several chunks per thread, each packing only its own part of the other operand.
// No operand is packed twice, and a worker that wakes late (tens of microseconds on a VM) takes the
// chunks that are left instead of holding the caller up with a half of the work.
constexpr int CHUNKS_PER_THREAD = 4;
// Largest shared packed operand, in elements (beyond it, packing it on one thread costs too much).
constexpr int64_t MAX_SHARED_PACK = 1 << 19;
thread_local Scratch tlsShared;

template <typename T>
bool gemmSharedPack(int64_t M, int64_t N, int64_t K, T alpha, const Operand& A, const Operand& B, T beta, Out<T> C,
                    int threads, bool shareA) {
  const KernelSet<T>& ks = kernels<T>();
  const int64_t kBlocks = ceilDiv(K, ks.kc);
  const int64_t kcMax = ceilDiv(K, kBlocks);
  // Shared operand: every K slice of it, slice b at b * lines * kcMax.
  const int64_t sharedLines = shareA ? roundUp(M, ks.mr) : roundUp(N, ks.nr);
  T* shared = (T*)tlsShared.get((size_t)(sharedLines * kcMax * kBlocks) * sizeof(T));
  if (!shared) return false;
  for (int64_t b = 0, pc = 0; pc < K; pc += kcMax, ++b) {
    const int64_t kc = std::min(kcMax, K - pc);
    T* dst = shared + b * sharedLines * kcMax;
    if (shareA) ks.packA(A.at(0, pc), A.dtype, A.rs, A.cs, M, kc, dst);
    else ks.packB(B.at(pc, 0), B.dtype, B.cs, B.rs, N, kc, dst);
  }
  // Chunks of whole micro-tiles along the other side.
  const int unit = shareA ? ks.nr : ks.mr;
  const int64_t units = ceilDiv(shareA ? N : M, unit);
  const double macs = (double)M * (double)N * (double)K;
  const int64_t chunks = std::max<int64_t>(
      1, std::min<int64_t>({units, (int64_t)threads * CHUNKS_PER_THREAD, (int64_t)(macs / (MIN_MACS_PER_THREAD / 4))}));
  std::atomic<bool> ok{true};
  parallelTasks(chunks, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const int64_t lo = units * c / chunks * unit, hi = std::min(shareA ? N : M, units * (c + 1) / chunks * unit);
      if (lo >= hi) continue;
      if (shareA) {
        // Columns [lo, hi) of C: pack their B panel slice by slice, A is ready.
        const int64_t ncMax = std::min(ks.nc, roundUp(hi - lo, ks.nr));
        T* pb = (T*)tlsPackB.get((size_t)(ncMax * kcMax) * sizeof(T));
        if (!pb) {
          ok = false;
          continue;
        }
        for (int64_t jc = lo; jc < hi; jc += ncMax) {
          const int64_t nc = std::min(ncMax, hi - jc);
          for (int64_t b = 0, pc = 0; pc < K; pc += kcMax, ++b) {
            const int64_t kc = std::min(kcMax, K - pc);
            ks.packB(B.at(pc, jc), B.dtype, B.cs, B.rs, nc, kc, pb);
            ks.macro(M, nc, kc, alpha, shared + b * sharedLines * kcMax, pb, pc == 0 ? beta : T(1),
                     C.data + jc * C.cs, C.rs, C.cs);
          }
        }
      } else {
        // Rows [lo, hi) of C: pack their A block slice by slice, B is ready.
        const int64_t mcMax = std::min(ks.mc, roundUp(hi - lo, ks.mr));
        T* pa = (T*)tlsPackA.get((size_t)(mcMax * kcMax) * sizeof(T));
        if (!pa) {
          ok = false;
          continue;
        }
        for (int64_t ic = lo; ic < hi; ic += mcMax) {
          const int64_t mc = std::min(mcMax, hi - ic);
          for (int64_t b = 0, pc = 0; pc < K; pc += kcMax, ++b) {
            const int64_t kc = std::min(kcMax, K - pc);
            ks.packA(A.at(ic, pc), A.dtype, A.rs, A.cs, mc, kc, pa);
            ks.macro(mc, N, kc, alpha, pa, shared + b * sharedLines * kcMax, pc == 0 ? beta : T(1),
                     C.data + ic * C.rs, C.rs, C.cs);
          }
        }
      }
    }
  });
  return ok;
}

// Splits C into tm x tn tiles (tm * tn <= threads), in whole micro-tiles, minimising the largest
// tile's multiply-adds plus its packing work.
void chooseGrid(int64_t M, int64_t N, int64_t K, int threads, int mr, int nr, int& tm, int& tn) {
  const int64_t mu = ceilDiv(M, mr), nu = ceilDiv(N, nr);
  double best = -1;
  tm = 1;
  tn = 1;
  for (int t = threads; t >= 1 && best < 0; --t) {
    for (int a = 1; a <= t; ++a) {
      if (t % a) continue;
      const int b = t / a;
      if (a > mu || b > nu) continue;
      const double mt = (double)ceilDiv(mu, a) * mr, nt = (double)ceilDiv(nu, b) * nr;
      const double cost = (mt * nt + 16.0 * (mt + nt)) * (double)K;
      if (best < 0 || cost < best) {
        best = cost;
        tm = a;
        tn = b;
      }
    }
  }
}

// Loads element i of a strided vector of any floating dtype as T.
template <typename T>
inline T loadElem(const Operand& v, int64_t i) {
  const char* p = v.data + i * v.rs * (int64_t)v.item;
  switch (v.dtype) {
    case DOUBLE: return (T) * (const double*)p;
    case FLOAT: return (T) * (const float*)p;
    case HALF: return (T)halfToFloat(*(const uint16_t*)p);
    default: return (T)bf16ToFloat(*(const uint16_t*)p);
  }
}

// Matrix-vector product (N == 1) without packing: y = alpha * A @ x + beta * y, with x the
// column B (stride B.rs). Rows of A contiguous: one dot product per row, rows split over the
// threads. Columns contiguous: axpy over the columns; the threads take contiguous ranges of
// columns (contiguous memory) into partial sums that are added at the end.
template <typename T>
bool gemv(int64_t M, int64_t K, T alpha, const Operand& A, const Operand& B, T beta, Out<T> C, bool parallel) {
  const KernelSet<T>& ks = kernels<T>();
  T* x = (T*)tlsVector.get((size_t)K * sizeof(T));
  if (!x) return false;
  for (int64_t p = 0; p < K; ++p) x[p] = loadElem<T>(B, p);
  auto store = [&](int64_t i, T s) {
    T* c = C.data + i * C.rs;
    *c = beta == T(0) ? alpha * s : alpha * s + beta * *c;
  };
  const double macs = (double)M * (double)K;
  int threads = parallel ? threadCount() : 1;
  threads = (int)std::max<double>(1, std::min<double>(threads, macs / MIN_GEMV_MACS_PER_THREAD));

  if (A.cs == 1 || K == 1) {
    const int64_t grain = std::max<int64_t>(1, M / threads);
    auto rows = [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) store(i, ks.dot(K, A.at(i, 0), A.dtype, x));
    };
    if (threads > 1) parallelFor(M, grain, rows);
    else rows(0, M);
    return true;
  }
  // A.rs == 1
  const int chunks = (int)std::min<int64_t>(threads, K);
  T* partial = (T*)std::malloc((size_t)chunks * (size_t)M * sizeof(T));
  if (!partial) return false;
  auto cols = [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      T* acc = partial + t * M;
      for (int64_t i = 0; i < M; ++i) acc[i] = T(0);
      for (int64_t p = K * t / chunks; p < K * (t + 1) / chunks; ++p) ks.axpy(M, x[p], A.at(0, p), A.dtype, acc);
    }
  };
  if (chunks > 1) parallelFor(chunks, 1, cols);
  else cols(0, 1);
  for (int64_t i = 0; i < M; ++i) {
    T s = partial[i];
    for (int t = 1; t < chunks; ++t) s += partial[t * M + i];
    store(i, s);
  }
  std::free(partial);
  return true;
}

template <typename T>
bool gemmTyped(int64_t M, int64_t N, int64_t K, T alpha, Operand A, Operand B, T beta, Out<T> C, bool parallel) {
  // Row-major C suits the vector stores; a column-major C is computed as C^T = B^T @ A^T, and so
  // is a single-row product (to reach the matrix-vector path).
  if ((C.cs != 1 && C.rs == 1 && M > 1) || (M == 1 && N > 1)) {
    std::swap(M, N);
    std::swap(A, B);
    std::swap(A.rs, A.cs);
    std::swap(B.rs, B.cs);
    std::swap(C.rs, C.cs);
  }
  if (N == 1 && (A.cs == 1 || A.rs == 1 || K == 1)) return gemv<T>(M, K, alpha, A, B, beta, C, parallel);
  const KernelSet<T>& ks = kernels<T>();
  const double macs = (double)M * (double)N * (double)K;
  int threads = parallel ? threadCount() : 1;
  threads = (int)std::max<double>(1, std::min<double>(threads, macs / MIN_MACS_PER_THREAD));
  if (threads <= 1) return gemmSerial<T>(M, N, K, alpha, A, B, beta, C);
  const int64_t kPadded = ceilDiv(K, ceilDiv(K, ks.kc)) * ceilDiv(K, ks.kc);
  if (M <= ks.mc && roundUp(M, ks.mr) * kPadded <= MAX_SHARED_PACK) {
    return gemmSharedPack<T>(M, N, K, alpha, A, B, beta, C, threads, true);
  }
  if (N <= ks.nc && roundUp(N, ks.nr) * kPadded <= MAX_SHARED_PACK) {
    return gemmSharedPack<T>(M, N, K, alpha, A, B, beta, C, threads, false);
  }
  int tm, tn;
  chooseGrid(M, N, K, threads, ks.mr, ks.nr, tm, tn);
  const int64_t mu = ceilDiv(M, ks.mr), nu = ceilDiv(N, ks.nr);
  std::atomic<bool> ok{true};
  parallelFor(tm * tn, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t ti = t / tn, tj = t % tn;
      const int64_t m0 = mu * ti / tm * ks.mr, m1 = std::min(M, mu * (ti + 1) / tm * ks.mr);
      const int64_t n0 = nu * tj / tn * ks.nr, n1 = std::min(N, nu * (tj + 1) / tn * ks.nr);
      if (m0 >= m1 || n0 >= n1) continue;
      Operand a = A, b = B;
      a.data = A.at(m0, 0);
      b.data = B.at(0, n0);
      Out<T> c{C.data + m0 * C.rs + n0 * C.cs, C.rs, C.cs};
      if (!gemmSerial<T>(m1 - m0, n1 - n0, K, alpha, a, b, beta, c)) ok = false;
    }
  });
  return ok;
}

// C = beta * C (alpha == 0 or K == 0): never reads A or B; beta == 0 writes zeros without reading.
void scaleOutput(int64_t M, int64_t N, double beta, const GemmOutput& C) {
  const size_t item = dtypeSize(C.dtype);
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      char* p = (char*)C.data + (i * C.rs + j * C.cs) * (int64_t)item;
      storeFromDouble(p, C.dtype, beta == 0 ? 0.0 : beta * loadAsDouble(p, C.dtype));
    }
  }
}

}  // namespace

const char* gemmIsa() { return kernels<float>().isa; }

bool gemm(int64_t M, int64_t N, int64_t K, double alpha, const GemmOperand& A, const GemmOperand& B, double beta,
          const GemmOutput& C, bool parallel) {
  if (M <= 0 || N <= 0) return true;
  if (K <= 0 || alpha == 0) {
    scaleOutput(M, N, beta, C);
    return true;
  }
  Operand a{(const char*)A.data, A.dtype, A.rs, A.cs, dtypeSize(A.dtype)};
  Operand b{(const char*)B.data, B.dtype, B.rs, B.cs, dtypeSize(B.dtype)};
  if (C.dtype == DOUBLE) {
    return gemmTyped<double>(M, N, K, alpha, a, b, beta, Out<double>{(double*)C.data, C.rs, C.cs}, parallel);
  }
  if (C.dtype == FLOAT) {
    return gemmTyped<float>(M, N, K, (float)alpha, a, b, (float)beta, Out<float>{(float*)C.data, C.rs, C.cs},
                            parallel);
  }
  // HALF / BFLOAT16 output: accumulate the whole product in float32, round once.
  float* tmp = (float*)std::malloc((size_t)(M * N) * sizeof(float));
  if (!tmp) return false;
  const bool half = C.dtype == HALF;
  uint16_t* cd = (uint16_t*)C.data;
  if (beta != 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        const uint16_t v = cd[i * C.rs + j * C.cs];
        tmp[i * N + j] = half ? halfToFloat(v) : bf16ToFloat(v);
      }
  }
  const bool ok = gemmTyped<float>(M, N, K, (float)alpha, a, b, (float)beta, Out<float>{tmp, N, 1}, parallel);
  if (ok) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        const float v = tmp[i * N + j];
        cd[i * C.rs + j * C.cs] = half ? floatToHalf(v) : floatToBf16(v);
      }
  }
  std::free(tmp);
  return ok;
}

bool gemmBatched(const GemmBatch& batch, int64_t M, int64_t N, int64_t K, double alpha, const GemmOperand& A,
                 const GemmOperand& B, double beta, const GemmOutput& C) {
  int64_t count = 1;
  for (int d = 0; d < batch.rank; ++d) count *= batch.shape[d];
  if (count <= 0 || M <= 0 || N <= 0) return true;
  const int64_t ai = (int64_t)dtypeSize(A.dtype), bi = (int64_t)dtypeSize(B.dtype), ci = (int64_t)dtypeSize(C.dtype);
  auto item = [&](int64_t index, bool parallel) {
    int64_t ao = 0, bo = 0, co = 0;
    for (int d = batch.rank - 1; d >= 0; --d) {
      const int64_t s = batch.shape[d], k = index % s;
      index /= s;
      ao += k * batch.aStrides[d];
      bo += k * batch.bStrides[d];
      co += k * batch.cStrides[d];
    }
    GemmOperand a = A, b = B;
    GemmOutput c = C;
    a.data = (const char*)A.data + ao * ai;
    b.data = (const char*)B.data + bo * bi;
    c.data = (char*)C.data + co * ci;
    return gemm(M, N, K, alpha, a, b, beta, c, parallel);
  };
  const int threads = threadCount();
  const double macs = (double)M * (double)N * (double)K;
  // One product per task when there are plenty, or they divide evenly, or each is too small to
  // split well; otherwise the products run one after another, each split over the threads.
  const bool overBatch = threads > 1 && count > 1 &&
                         (count >= 4 * (int64_t)threads || (count >= threads && count % threads == 0) ||
                          macs < MIN_MACS_PER_THREAD * threads);
  std::atomic<bool> ok{true};
  if (overBatch) {
    parallelFor(count, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        if (!item(i, false)) ok = false;
    });
  } else {
    for (int64_t i = 0; i < count; ++i)
      if (!item(i, true)) ok = false;
  }
  return ok;
}

}  // namespace dl4ts
