// API.md "Elementwise": unary(op, x, out, alpha, beta), binary(op, a, b, out, alpha, beta),
// where(cond, a, b, out).
//
// Every argument is parsed and validated (op name, views against their buffers, shapes, dtypes,
// scalar parameters, writable output) before any memory is touched. Then a compute domain is picked
// (float32 for FLOAT/HALF/BFLOAT16, double for DOUBLE and inexact integer ops, int64 for exact
// integer ops), and the kernels of the best instruction set this CPU has (ew_isa_*.cc; override
// with DL4TS_CPU_ISA=avx512|avx2|scalar) run over the rows of the coalesced views (ew_iter.h):
// straight on the data when an operand is contiguous in the compute type, else through a small
// converted block on the stack.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "ew_iter.h"
#include "ew_ops.h"
#include "registry.h"
#include "tensor.h"

namespace dl4ts {

const EwKernels& ewKernels() {
  static const EwKernels* k = [] {
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    const char* force = std::getenv("DL4TS_CPU_ISA");
    std::string want = force ? force : "";
    if (want == "scalar") return &ewKernelsScalar();
    if (want == "avx2" && avx2) return &ewKernelsAvx2();
    if (avx512) return &ewKernelsAvx512();
    if (avx2) return &ewKernelsAvx2();
    return &ewKernelsScalar();
  }();
  return *k;
}

namespace {

constexpr int64_t kBlock = 1024;         // elements per converted block (stack buffers)
// Minimum elements per thread-pool chunk, so that a chunk is worth a worker wake-up (~10 us):
// memory-bound arithmetic ~0.15 ns/element, vector transcendentals ~0.3-1 ns, libm per element
// (sin, cos, pow, mod, double transcendentals) several ns.
constexpr int64_t kGrainCheap = 65536;
constexpr int64_t kGrainCostly = 16384;
constexpr int64_t kGrainLibm = 2048;
// Outputs at least this large are written with non-temporal stores when contiguous FLOAT, HALF or
// BFLOAT16 (they would not stay in cache anyway; skipping the read for ownership saves a quarter of
// an add's traffic).
const int64_t kStreamBytes = [] {
  const char* e = std::getenv("DL4TS_CPU_STREAM_BYTES");
  return e ? (int64_t)std::atoll(e) : (int64_t)16 << 20;
}();

struct OpInfo {
  const char* name;
  bool alpha, beta;
};
const OpInfo kUnary[] = {
#define DL4TS_X(e, n, a, b) {n, a != 0, b != 0},
    DL4TS_UNARY_OPS(DL4TS_X)
#undef DL4TS_X
};
const OpInfo kBinary[] = {
#define DL4TS_X(e, n, a, b) {n, a != 0, b != 0},
    DL4TS_BINARY_OPS(DL4TS_X)
#undef DL4TS_X
};

int64_t unaryGrain(int op, bool dbl) {
  switch (op) {
    case U_Sin: case U_Cos: case U_Pow:
      return kGrainLibm;
    case U_Exp: case U_Log: case U_Log1p: case U_Expm1: case U_Tanh: case U_Sigmoid: case U_Elu: case U_Selu:
    case U_Gelu: case U_Swish: case U_Softplus:
      return dbl ? kGrainLibm : kGrainCostly;
    default:
      return kGrainCheap;
  }
}
int64_t binaryGrain(int op, bool dbl) {
  switch (op) {
    case B_Pow: case B_Mod:
      return kGrainLibm;
    case B_EluGrad: case B_SeluGrad: case B_GeluGrad: case B_SwishGrad: case B_SoftplusGrad:
      return dbl ? kGrainLibm : kGrainCostly;
    default:
      return kGrainCheap;
  }
}

const EwKernels& kernels() { return ewKernels(); }

bool isFloat32Family(int32_t d) { return d == FLOAT || d == HALF || d == BFLOAT16; }
bool isInteger(int32_t d) { return d >= INT32; }
int sizeIndex(size_t bytes) { return bytes == 1 ? 0 : bytes == 2 ? 1 : bytes == 4 ? 2 : 3; }

std::string opList(const OpInfo* ops, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? ", " : "") + std::string(ops[i].name);
  return s;
}

int lookupOp(const Napi::CallbackInfo& info, const char* fn, const OpInfo* ops, int n) {
  if (info.Length() < 1 || !info[0].IsString()) {
    throwError(info.Env(), fn, "the first argument must be the op name; valid ops: " + opList(ops, n));
  }
  char name[40];  // longer than any op name: a longer string is truncated and matches nothing
  size_t len = 0;
  napi_get_value_string_utf8(info.Env(), info[0], name, sizeof name, &len);
  for (int i = 0; i < n; ++i) {
    if (std::strlen(ops[i].name) == len && std::memcmp(name, ops[i].name, len) == 0) return i;
  }
  const std::string given = info[0].As<Napi::String>().Utf8Value();
  throwError(info.Env(), fn, "unknown op '" + given + "'; valid ops: " + opList(ops, n));
}

// alpha/beta are required (numbers) for the ops that use them and ignored otherwise.
EwParams parseParams(const Napi::CallbackInfo& info, size_t index, const OpInfo& op) {
  EwParams p;
  if (op.alpha) p.alpha = parseNumber(info, index, op.name, "alpha");
  if (op.beta) p.beta = parseNumber(info, index + 1, op.name, "beta");
  p.alphaF = (float)p.alpha;
  p.betaF = (float)p.beta;
  return p;
}

bool exactInteger(double v) { return std::isfinite(v) && v == std::trunc(v) && std::fabs(v) <= 9007199254740992.0; }

void requireWritable(Napi::Env env, const char* op, const Tensor& out) {
  if (out.numel() == 0) return;  // nothing is written; zero-size layouts may have any strides
  for (int d = 0; d < out.rank; ++d) {
    if (out.shape[d] > 1 && out.strides[d] == 0) {
      throwError(env, op, "output " + out.describe() + " has stride 0 in dimension " + std::to_string(d) +
                              " (a broadcast view cannot be written)");
    }
  }
}

void requireSameDtype(Napi::Env env, const char* op, const Tensor& a, const char* an, const Tensor& b, const char* bn) {
  if (a.dtype != b.dtype) {
    throwError(env, op, std::string("'") + bn + "' has dtype " + dtypeName(b.dtype) + ", expected " +
                            dtypeName(a.dtype) + " (the dtype of '" + an + "'); " + an + " " + a.describe() + ", " +
                            bn + " " + b.describe());
  }
}

// ---- compute-domain plumbing ---------------------------------------------------------------
template <class C>
struct Dom;
template <>
struct Dom<float> {
  static constexpr int32_t native = FLOAT;
  static LoadKF load(const EwKernels& k, int d) { return k.loadF[d]; }
  static StoreKF store(const EwKernels& k, int d) { return k.storeF[d]; }
  static StoreKF storeStream(const EwKernels& k, int d) { return k.storeFStream[d]; }
  static UnaryKF unary(const EwKernels& k, int op) { return k.unaryF[op]; }
  static BinaryKF binary(const EwKernels& k, int op) { return k.binaryF[op]; }
};
template <>
struct Dom<double> {
  static constexpr int32_t native = DOUBLE;
  static LoadKD load(const EwKernels& k, int d) { return k.loadD[d]; }
  static StoreKD store(const EwKernels& k, int d) { return k.storeD[d]; }
  static StoreKD storeStream(const EwKernels& k, int d) { return k.storeD[d]; }
  static UnaryKD unary(const EwKernels& k, int op) { return k.unaryD[op]; }
  static BinaryKD binary(const EwKernels& k, int op) { return k.binaryD[op]; }
};
template <>
struct Dom<int64_t> {
  static constexpr int32_t native = INT64;
  static LoadKI load(const EwKernels& k, int d) { return k.loadI[d]; }
  static StoreKI store(const EwKernels& k, int d) { return k.storeI[d]; }
  static StoreKI storeStream(const EwKernels& k, int d) { return k.storeI[d]; }
  static UnaryKI unary(const EwKernels& k, int op) { return k.unaryI[op]; }
  static BinaryKI binary(const EwKernels& k, int op) { return k.binaryI[op]; }
};

// Operand 0 of the plan is the output, operand 1 the input.
template <class C>
void runUnary(const EwKernels& K, const EwPlan& plan, int op, const EwParams& prm, int32_t xdt, int32_t odt,
              int64_t grain) {
  const auto f = Dom<C>::unary(K, op);
  const auto ld = Dom<C>::load(K, xdt);
  const int64_t xsz = (int64_t)dtypeSize(xdt), osz = (int64_t)dtypeSize(odt);
  EwParams direct = prm;
  direct.stream = plan.numel * osz >= kStreamBytes;
  const auto st = direct.stream ? Dom<C>::storeStream(K, odt) : Dom<C>::store(K, odt);
  const UnaryK16 f16 = Dom<C>::native != FLOAT || xdt != odt ? nullptr
                      : xdt == HALF ? K.unaryH[op] : xdt == BFLOAT16 ? K.unaryB[op] : nullptr;
  forEachRow(plan, grain, [&](char* const* p, const int64_t* s, int64_t n) {
    const bool xDirect = xdt == Dom<C>::native && s[1] == 1;
    const bool oDirect = odt == Dom<C>::native && s[0] == 1;
    if (xDirect && oDirect) return f((const C*)p[1], (C*)p[0], n, direct);
    if (f16 && s[0] == 1 && s[1] == 1) return f16((const uint16_t*)p[1], (uint16_t*)p[0], n, direct);
    alignas(64) C tx[kBlock], to[kBlock];
    for (int64_t i = 0; i < n; i += kBlock) {
      const int64_t m = std::min(kBlock, n - i);
      const C* x = xDirect ? (const C*)p[1] + i : tx;
      if (!xDirect) ld(p[1] + i * s[1] * xsz, s[1], tx, m);
      C* o = oDirect ? (C*)p[0] + i : to;
      f(x, o, m, prm);
      if (!oDirect) st(to, p[0] + i * s[0] * osz, s[0], m);
    }
  }, [&] {
    if (direct.stream) K.fence();  // non-temporal stores of this thread's rows
  });
}

// Operands: 0 output, 1 a, 2 b (a and b share a dtype).
template <class C>
void runBinary(const EwKernels& K, const EwPlan& plan, int op, const EwParams& prm, int32_t idt, int32_t odt,
               int64_t grain) {
  const auto f = Dom<C>::binary(K, op);
  const auto ld = Dom<C>::load(K, idt);
  const int64_t isz = (int64_t)dtypeSize(idt), osz = (int64_t)dtypeSize(odt);
  EwParams direct = prm;
  direct.stream = plan.numel * osz >= kStreamBytes;
  const auto st = direct.stream ? Dom<C>::storeStream(K, odt) : Dom<C>::store(K, odt);
  const BinaryK16 f16 = Dom<C>::native != FLOAT || idt != odt ? nullptr
                       : idt == HALF ? K.binaryH[op] : idt == BFLOAT16 ? K.binaryB[op] : nullptr;
  forEachRow(plan, grain, [&](char* const* p, const int64_t* s, int64_t n) {
    const bool aDirect = idt == Dom<C>::native && s[1] == 1;
    const bool bDirect = idt == Dom<C>::native && s[2] == 1;
    const bool oDirect = odt == Dom<C>::native && s[0] == 1;
    if (aDirect && bDirect && oDirect) return f((const C*)p[1], (const C*)p[2], (C*)p[0], n, direct);
    if (f16 && s[0] == 1 && s[1] == 1 && s[2] == 1) {
      return f16((const uint16_t*)p[1], (const uint16_t*)p[2], (uint16_t*)p[0], n, direct);
    }
    alignas(64) C ta[kBlock], tb[kBlock], to[kBlock];
    for (int64_t i = 0; i < n; i += kBlock) {
      const int64_t m = std::min(kBlock, n - i);
      const C* a = aDirect ? (const C*)p[1] + i : ta;
      const C* b = bDirect ? (const C*)p[2] + i : tb;
      if (!aDirect) ld(p[1] + i * s[1] * isz, s[1], ta, m);
      if (!bDirect) ld(p[2] + i * s[2] * isz, s[2], tb, m);
      C* o = oDirect ? (C*)p[0] + i : to;
      f(a, b, o, m, prm);
      if (!oDirect) st(to, p[0] + i * s[0] * osz, s[0], m);
    }
  }, [&] {
    if (direct.stream) K.fence();  // non-temporal stores of this thread's rows
  });
}

// identity between different dtypes: load into the compute type, store into the output's.
template <class C>
void runCast(const EwKernels& K, const EwPlan& plan, int32_t xdt, int32_t odt) {
  const auto ld = Dom<C>::load(K, xdt);
  const int64_t xsz = (int64_t)dtypeSize(xdt), osz = (int64_t)dtypeSize(odt);
  const bool stream = plan.numel * osz >= kStreamBytes;
  const auto st = stream ? Dom<C>::storeStream(K, odt) : Dom<C>::store(K, odt);
  forEachRow(plan, kGrainCheap, [&](char* const* p, const int64_t* s, int64_t n) {
    if (xdt == Dom<C>::native && s[1] == 1) return st((const C*)p[1], p[0], s[0], n);
    if (odt == Dom<C>::native && s[0] == 1) return ld(p[1], s[1], (C*)p[0], n);
    alignas(64) C t[kBlock];
    for (int64_t i = 0; i < n; i += kBlock) {
      const int64_t m = std::min(kBlock, n - i);
      ld(p[1] + i * s[1] * xsz, s[1], t, m);
      st(t, p[0] + i * s[0] * osz, s[0], m);
    }
  }, [&] {
    if (stream) K.fence();
  });
}

void runCopy(const EwKernels& K, const EwPlan& plan, size_t itemSize) {
  const CopyK copy = K.copy[sizeIndex(itemSize)];
  forEachRow(plan, kGrainCheap, [&](char* const* p, const int64_t* s, int64_t n) { copy(p[1], s[1], p[0], s[0], n); });
}

void identity(const EwKernels& K, const EwPlan& plan, int32_t xdt, int32_t odt) {
  if (xdt == odt) return runCopy(K, plan, dtypeSize(xdt));
  const bool fx = isFloat32Family(xdt) || xdt == DOUBLE, fo = isFloat32Family(odt) || odt == DOUBLE;
  if (isInteger(xdt) && isInteger(odt)) return runCast<int64_t>(K, plan, xdt, odt);
  // Via float32 whenever both sides are floating (DOUBLE -> HALF rounds to float first, exactly as
  // storeFromDouble does); via double when an integer type is involved.
  if (fx && fo) return runCast<float>(K, plan, xdt, odt);
  return runCast<double>(K, plan, xdt, odt);
}

// ---- exports -------------------------------------------------------------------------------

Napi::Value Unary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int op = lookupOp(info, "unary", kUnary, UNARY_COUNT);
  const char* name = kUnary[op].name;
  Tensor x = parseTensor(info, 1, name, "x");
  Tensor out = parseTensor(info, 2, name, "out");
  EwParams prm = parseParams(info, 3, kUnary[op]);
  requireSameShape(env, name, x, out);
  if (op == U_Not) {
    requireDtype(env, name, out, "out", out.dtype == BOOL, "BOOL");
  } else if (op != U_Identity) {
    requireSameDtype(env, name, x, "x", out, "out");
  }
  requireWritable(env, name, out);

  const Tensor* ts[2] = {&out, op == U_Fill ? &out : &x};  // fill reads nothing of x but its shape
  const EwPlan plan = makePlan(ts, 2);
  if (plan.numel == 0) return env.Undefined();
  const EwKernels& K = kernels();
  if (op == U_Identity) {
    identity(K, plan, x.dtype, out.dtype);
    return env.Undefined();
  }
  if (op == U_Pow) {  // exact shortcuts
    if (prm.alpha == 2.0) op = U_Square;
    else if (prm.alpha == -1.0) op = U_Reciprocal;
    else if (prm.alpha == 1.0) return identity(K, plan, x.dtype, out.dtype), env.Undefined();
  }
  const int32_t xdt = ts[1]->dtype;
  const int64_t grain = unaryGrain(op, !isFloat32Family(xdt));
  if (isFloat32Family(xdt)) {
    runUnary<float>(K, plan, op, prm, xdt, out.dtype, grain);
  } else if (xdt == DOUBLE) {
    runUnary<double>(K, plan, op, prm, xdt, out.dtype, grain);
  } else {
    const bool exact = unaryIntExact(op) && (!kUnary[op].alpha || exactInteger(prm.alpha)) &&
                       (!kUnary[op].beta || exactInteger(prm.beta));
    if (exact) {
      prm.alphaI = (int64_t)prm.alpha;
      prm.betaI = (int64_t)prm.beta;
      prm.narrow = xdt != INT64;
      runUnary<int64_t>(K, plan, op, prm, xdt, out.dtype, grain);
    } else {
      runUnary<double>(K, plan, op, prm, xdt, out.dtype, grain);
    }
  }
  return env.Undefined();
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int op = lookupOp(info, "binary", kBinary, BINARY_COUNT);
  const char* name = kBinary[op].name;
  Tensor a = parseTensor(info, 1, name, "a");
  Tensor b = parseTensor(info, 2, name, "b");
  Tensor out = parseTensor(info, 3, name, "out");
  EwParams prm = parseParams(info, 4, kBinary[op]);
  requireSameShape(env, name, a, b);
  requireSameShape(env, name, a, out);
  requireSameDtype(env, name, a, "a", b, "b");
  if (binaryBoolOut(op)) {
    requireDtype(env, name, out, "out", out.dtype == BOOL, "BOOL");
  } else {
    requireSameDtype(env, name, a, "a", out, "out");
  }
  requireWritable(env, name, out);

  const Tensor* ts[3] = {&out, &a, &b};
  const EwPlan plan = makePlan(ts, 3);
  if (plan.numel == 0) return env.Undefined();
  const EwKernels& K = kernels();
  const int64_t grain = binaryGrain(op, !isFloat32Family(a.dtype));
  if (isFloat32Family(a.dtype)) runBinary<float>(K, plan, op, prm, a.dtype, out.dtype, grain);
  else if (a.dtype == DOUBLE || !binaryIntExact(op)) runBinary<double>(K, plan, op, prm, a.dtype, out.dtype, grain);
  else {
    prm.narrow = a.dtype != INT64;
    runBinary<int64_t>(K, plan, op, prm, a.dtype, out.dtype, grain);
  }
  return env.Undefined();
}

Napi::Value Where(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* name = "where";
  Tensor cond = parseTensor(info, 0, name, "cond");
  Tensor a = parseTensor(info, 1, name, "a");
  Tensor b = parseTensor(info, 2, name, "b");
  Tensor out = parseTensor(info, 3, name, "out");
  requireDtype(env, name, cond, "cond", cond.dtype == BOOL, "BOOL");
  requireSameShape(env, name, cond, a);
  requireSameShape(env, name, cond, b);
  requireSameShape(env, name, cond, out);
  requireSameDtype(env, name, a, "a", b, "b");
  requireSameDtype(env, name, a, "a", out, "out");
  requireWritable(env, name, out);

  const Tensor* ts[4] = {&out, &cond, &a, &b};
  const EwPlan plan = makePlan(ts, 4);
  if (plan.numel == 0) return env.Undefined();
  const WhereK w = kernels().where[sizeIndex(out.itemSize())];
  forEachRow(plan, kGrainCheap, [&](char* const* p, const int64_t* s, int64_t n) {
    w((const uint8_t*)p[1], s[1], p[2], s[2], p[3], s[3], p[0], s[0], n);
  });
  return env.Undefined();
}

}  // namespace

DL4TS_EXPORT("unary", Unary);
DL4TS_EXPORT("binary", Binary);
DL4TS_EXPORT("where", Where);

}  // namespace dl4ts
