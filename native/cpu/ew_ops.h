// The elementwise op catalogue (names as the front end spells them), per-call parameters and the
// table of kernels that each instruction-set build (ew_isa_*.cc) fills in. elementwise.cc picks one
// table at run time and drives it over strided views.
//
// Compute domains: F = float32 (FLOAT, HALF, BFLOAT16), D = double (DOUBLE, and integer types for
// inexact ops), I = int64 (integer types where exactness matters: comparisons, min/max, abs, neg,
// add/sub/mul/div/mod... saturating like storeFromDouble would).
#pragma once
#include <cstdint>

namespace dl4ts {

// X(enumerator, "jsName", usesAlpha, usesBeta)
#define DL4TS_UNARY_OPS(X)              \
  X(Identity, "identity", 0, 0)         \
  X(Neg, "neg", 0, 0)                   \
  X(Abs, "abs", 0, 0)                   \
  X(Sign, "sign", 0, 0)                 \
  X(Exp, "exp", 0, 0)                   \
  X(Log, "log", 0, 0)                   \
  X(Log1p, "log1p", 0, 0)               \
  X(Expm1, "expm1", 0, 0)               \
  X(Sqrt, "sqrt", 0, 0)                 \
  X(Rsqrt, "rsqrt", 0, 0)               \
  X(Square, "square", 0, 0)             \
  X(Reciprocal, "reciprocal", 0, 0)     \
  X(Sin, "sin", 0, 0)                   \
  X(Cos, "cos", 0, 0)                   \
  X(Tanh, "tanh", 0, 0)                 \
  X(Sigmoid, "sigmoid", 0, 0)           \
  X(Relu, "relu", 0, 0)                 \
  X(LeakyRelu, "leakyrelu", 1, 0)       \
  X(Elu, "elu", 1, 0)                   \
  X(Selu, "selu", 0, 0)                 \
  X(Gelu, "gelu", 0, 0)                 \
  X(Swish, "swish", 0, 0)               \
  X(Softplus, "softplus", 0, 0)         \
  X(HardTanh, "hardtanh", 1, 1)         \
  X(HardSigmoid, "hardsigmoid", 0, 0)   \
  X(Floor, "floor", 0, 0)               \
  X(Ceil, "ceil", 0, 0)                 \
  X(Round, "round", 0, 0)               \
  X(Not, "not", 0, 0)                   \
  X(Pow, "pow", 1, 0)                   \
  X(Clip, "clip", 1, 1)                 \
  X(AddScalar, "addScalar", 1, 0)       \
  X(MulScalar, "mulScalar", 1, 0)       \
  X(RsubScalar, "rsubScalar", 1, 0)     \
  X(RdivScalar, "rdivScalar", 1, 0)     \
  X(Fill, "fill", 1, 0)

#define DL4TS_BINARY_OPS(X)                     \
  X(Add, "add", 0, 0)                           \
  X(Sub, "sub", 0, 0)                           \
  X(Mul, "mul", 0, 0)                           \
  X(Div, "div", 0, 0)                           \
  X(Pow, "pow", 0, 0)                           \
  X(Max, "max", 0, 0)                           \
  X(Min, "min", 0, 0)                           \
  X(Mod, "mod", 0, 0)                           \
  X(SquaredDifference, "squaredDifference", 0, 0) \
  X(Eq, "eq", 0, 0)                             \
  X(Ne, "ne", 0, 0)                             \
  X(Lt, "lt", 0, 0)                             \
  X(Le, "le", 0, 0)                             \
  X(Gt, "gt", 0, 0)                             \
  X(Ge, "ge", 0, 0)                             \
  X(And, "and", 0, 0)                           \
  X(Or, "or", 0, 0)                             \
  X(Xor, "xor", 0, 0)                           \
  X(ReluGrad, "reluGrad", 0, 0)                 \
  X(LeakyReluGrad, "leakyreluGrad", 1, 0)       \
  X(EluGrad, "eluGrad", 1, 0)                   \
  X(SeluGrad, "seluGrad", 0, 0)                 \
  X(GeluGrad, "geluGrad", 0, 0)                 \
  X(SwishGrad, "swishGrad", 0, 0)               \
  X(SoftplusGrad, "softplusGrad", 0, 0)         \
  X(HardTanhGrad, "hardtanhGrad", 1, 1)         \
  X(HardSigmoidGrad, "hardsigmoidGrad", 0, 0)   \
  X(SigmoidGrad, "sigmoidGrad", 0, 0)           \
  X(TanhGrad, "tanhGrad", 0, 0)

enum UnaryOp : int {
#define DL4TS_X(e, n, a, b) U_##e,
  DL4TS_UNARY_OPS(DL4TS_X)
#undef DL4TS_X
  UNARY_COUNT
};

enum BinaryOp : int {
#define DL4TS_X(e, n, a, b) B_##e,
  DL4TS_BINARY_OPS(DL4TS_X)
#undef DL4TS_X
  BINARY_COUNT
};

// Ops whose integer-typed inputs are computed exactly in int64 (when the scalar parameters they use
// are integers; see elementwise.cc). All other ops compute integer inputs in double.
constexpr bool unaryIntExact(int op) {
  return op == U_Identity || op == U_Neg || op == U_Abs || op == U_Sign || op == U_Square || op == U_Relu ||
         op == U_Floor || op == U_Ceil || op == U_Round || op == U_Not || op == U_Clip || op == U_HardTanh ||
         op == U_AddScalar || op == U_MulScalar || op == U_RsubScalar;
}
constexpr bool binaryIntExact(int op) { return op <= B_Xor && op != B_Pow; }
// Ops whose output is BOOL whatever the input dtype.
constexpr bool binaryBoolOut(int op) { return op >= B_Eq && op <= B_Xor; }

struct EwParams {
  double alpha = 0, beta = 0;
  float alphaF = 0, betaF = 0;
  int64_t alphaI = 0, betaI = 0;  // valid when the int64 domain is used (alpha/beta integral)
  bool stream = false;             // float32 kernels: non-temporal stores (large outputs)
  bool narrow = false;             // int64 kernels: inputs are INT32, UINT8 or BOOL values
};

// Kernels over contiguous compute-type blocks (in-place allowed: out may equal an input).
using UnaryKF = void (*)(const float* x, float* out, int64_t n, const EwParams& p);
using UnaryKD = void (*)(const double* x, double* out, int64_t n, const EwParams& p);
using UnaryKI = void (*)(const int64_t* x, int64_t* out, int64_t n, const EwParams& p);
using BinaryKF = void (*)(const float* a, const float* b, float* out, int64_t n, const EwParams& p);
using BinaryKD = void (*)(const double* a, const double* b, double* out, int64_t n, const EwParams& p);
using BinaryKI = void (*)(const int64_t* a, const int64_t* b, int64_t* out, int64_t n, const EwParams& p);
// Float32-domain kernels reading and writing 16-bit storage (HALF or BFLOAT16 bits) directly.
using UnaryK16 = void (*)(const uint16_t* x, uint16_t* out, int64_t n, const EwParams& p);
using BinaryK16 = void (*)(const uint16_t* a, const uint16_t* b, uint16_t* out, int64_t n, const EwParams& p);
// Conversions between a strided row of some dtype (stride in elements, may be 0) and a contiguous
// compute-type block. Stores follow storeFromDouble's semantics (round to nearest even, integer
// truncation with saturation, NaN -> 0, BOOL = v != 0).
using LoadKF = void (*)(const char* src, int64_t stride, float* dst, int64_t n);
using StoreKF = void (*)(const float* src, char* dst, int64_t stride, int64_t n);
using LoadKD = void (*)(const char* src, int64_t stride, double* dst, int64_t n);
using StoreKD = void (*)(const double* src, char* dst, int64_t stride, int64_t n);
using LoadKI = void (*)(const char* src, int64_t stride, int64_t* dst, int64_t n);
using StoreKI = void (*)(const int64_t* src, char* dst, int64_t stride, int64_t n);
// Raw element moves by element size (index 0..3 = 1, 2, 4, 8 bytes); strides in elements.
using CopyK = void (*)(const char* src, int64_t ss, char* dst, int64_t ds, int64_t n);
using WhereK = void (*)(const uint8_t* c, int64_t cs, const char* a, int64_t as, const char* b, int64_t bs,
                        char* out, int64_t os, int64_t n);

struct EwKernels {
  const char* isa;
  UnaryKF unaryF[UNARY_COUNT];
  UnaryKD unaryD[UNARY_COUNT];
  UnaryKI unaryI[UNARY_COUNT];  // nullptr where !unaryIntExact
  BinaryKF binaryF[BINARY_COUNT];
  BinaryKD binaryD[BINARY_COUNT];
  BinaryKI binaryI[BINARY_COUNT];  // nullptr where !binaryIntExact
  UnaryK16 unaryH[UNARY_COUNT], unaryB[UNARY_COUNT];     // HALF / BFLOAT16 -> same; nullptr for not
  BinaryK16 binaryH[BINARY_COUNT], binaryB[BINARY_COUNT];  // nullptr for BOOL-output ops
  LoadKF loadF[8];
  StoreKF storeF[8];
  StoreKF storeFStream[8];  // storeF with non-temporal stores for contiguous HALF/BFLOAT16
  LoadKD loadD[8];
  StoreKD storeD[8];
  LoadKI loadI[8];
  StoreKI storeI[8];
  void (*fence)();  // orders this thread's non-temporal stores (stream kernels, storeFStream)
  CopyK copy[4];
  WhereK where[4];
};

// One table per instruction set (ew_isa_scalar.cc, ew_isa_avx2.cc, ew_isa_avx512.cc).
const EwKernels& ewKernelsScalar();
const EwKernels& ewKernelsAvx2();
const EwKernels& ewKernelsAvx512();
// The best of them for this CPU, chosen once (DL4TS_CPU_ISA=avx2|scalar may lower it; elementwise.cc).
const EwKernels& ewKernels();

}  // namespace dl4ts
