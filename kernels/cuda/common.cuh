// Shared by every dl4ts CUDA kernel. Compiled by NVRTC (no host headers): only builtins here.
#pragma once
typedef long long i64;
typedef unsigned long long u64;
typedef unsigned int u32;

#define MAX_RANK 8

// A strided view as the launcher passes it by value (src/backend/cuda/launch.ts): extents and
// strides in elements; unused trailing entries are shape 1, stride 0.
struct TensorDesc {
  i64 shape[MAX_RANK];
  i64 strides[MAX_RANK];
  int rank;
};

// Offset in elements of the row-major element `linear` of a view.
__device__ __forceinline__ i64 offsetOf(const TensorDesc& d, i64 linear) {
  i64 off = 0;
  for (int k = d.rank - 1; k >= 0; --k) {
    i64 s = d.shape[k];
    off += (linear % s) * d.strides[k];
    linear /= s;
  }
  return off;
}

// 16-bit floats are stored as raw bits and computed in float32; stores round to nearest even.
__device__ __forceinline__ float halfToFloat(unsigned short h) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
  return f;
}
__device__ __forceinline__ unsigned short floatToHalf(float f) {
  unsigned short h;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
  return h;
}
__device__ __forceinline__ float bf16ToFloat(unsigned short b) { return __uint_as_float(((u32)b) << 16); }
__device__ __forceinline__ unsigned short floatToBf16(float f) {
  u32 x = __float_as_uint(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((x >> 16) | 0x40u);
  x += 0x7fffu + ((x >> 16) & 1u);
  return (unsigned short)(x >> 16);
}

// Element types: S is the stored type, C the type arithmetic runs in.
struct DT_DOUBLE {
  typedef double S; typedef double C;
  static __device__ __forceinline__ C load(S v) { return v; }
  static __device__ __forceinline__ S store(double v) { return v; }
};
struct DT_FLOAT {
  typedef float S; typedef float C;
  static __device__ __forceinline__ C load(S v) { return v; }
  static __device__ __forceinline__ S store(double v) { return (float)v; }
  static __device__ __forceinline__ S storef(float v) { return v; }
};
struct DT_HALF {
  typedef unsigned short S; typedef float C;
  static __device__ __forceinline__ C load(S v) { return halfToFloat(v); }
  static __device__ __forceinline__ S store(double v) { return floatToHalf((float)v); }
  static __device__ __forceinline__ S storef(float v) { return floatToHalf(v); }
};
struct DT_BFLOAT16 {
  typedef unsigned short S; typedef float C;
  static __device__ __forceinline__ C load(S v) { return bf16ToFloat(v); }
  static __device__ __forceinline__ S store(double v) { return floatToBf16((float)v); }
  static __device__ __forceinline__ S storef(float v) { return floatToBf16(v); }
};
// Integer stores truncate toward zero and saturate (NaN stores 0), as the CPU backend does.
struct DT_INT32 {
  typedef int S; typedef double C;
  static __device__ __forceinline__ C load(S v) { return v; }
  static __device__ __forceinline__ S store(double v) { return v != v ? 0 : v >= 2147483647.0 ? 2147483647 : v <= -2147483648.0 ? (-2147483647 - 1) : (int)v; }
};
struct DT_INT64 {
  typedef i64 S; typedef double C;
  static __device__ __forceinline__ C load(S v) { return (double)v; }
  static __device__ __forceinline__ S store(double v) { return v != v ? 0 : v >= 9.2233720368547758e18 ? 9223372036854775807LL : v <= -9.2233720368547758e18 ? (-9223372036854775807LL - 1) : (i64)v; }
};
struct DT_UINT8 {
  typedef unsigned char S; typedef double C;
  static __device__ __forceinline__ C load(S v) { return v; }
  static __device__ __forceinline__ S store(double v) { return v != v ? 0 : v >= 255.0 ? 255 : v <= 0.0 ? 0 : (unsigned char)v; }
};
struct DT_BOOL {
  typedef unsigned char S; typedef float C;
  static __device__ __forceinline__ C load(S v) { return v ? 1.0f : 0.0f; }
  static __device__ __forceinline__ S store(double v) { return v != 0.0 ? 1 : 0; }
};

// Grid-stride loop over [0, n).
#define GRID_STRIDE(i, n) for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64)gridDim.x * blockDim.x)
