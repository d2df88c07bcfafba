// Conversions between strided rows of any dtype and contiguous compute blocks (float, double,
// int64), with SIMD paths for contiguous HALF/BFLOAT16 (F16C / bit shifts, 16 or 8 lanes). Stores
// follow storeFromDouble (dtype.h): floats round to nearest even, integers truncate and saturate,
// NaN stores 0 into integers, BOOL stores v != 0.
//
// Not a normal header: included by ew_isa_*.cc inside an instruction-set namespace after simd.h.

template <int DT>
struct Elem;
template <> struct Elem<DOUBLE> { using type = double; };
template <> struct Elem<FLOAT> { using type = float; };
template <> struct Elem<HALF> { using type = uint16_t; };
template <> struct Elem<BFLOAT16> { using type = uint16_t; };
template <> struct Elem<INT32> { using type = int32_t; };
template <> struct Elem<INT64> { using type = int64_t; };
template <> struct Elem<UINT8> { using type = uint8_t; };
template <> struct Elem<BOOL> { using type = uint8_t; };

constexpr int64_t kConvChunk = 256;  // strided 16-bit rows are gathered in chunks, then converted

// ---- float32 domain ------------------------------------------------------------------------
template <int DT>
inline void halfLikeToFloat(const uint16_t* p, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + VW <= n; i += VW) (DT == HALF ? loadHalf(p + i) : loadBf16(p + i)).store(dst + i);
  for (; i < n; ++i) dst[i] = DT == HALF ? halfToFloat(p[i]) : bf16ToFloat(p[i]);
}
template <int DT>
inline void floatToHalfLike(const float* src, uint16_t* p, int64_t n) {
  int64_t i = 0;
  for (; i + VW <= n; i += VW) {
    if (DT == HALF) storeHalf(p + i, Vf::load(src + i));
    else storeBf16(p + i, Vf::load(src + i));
  }
  for (; i < n; ++i) p[i] = DT == HALF ? floatToHalf(src[i]) : floatToBf16(src[i]);
}

// Contiguous float -> 16-bit with non-temporal stores from a vector-aligned point (large outputs).
// No fence here: it is called once per block, and a fence waits for the stores to drain.
template <int DT>
inline void floatToHalfLikeStream(const float* src, uint16_t* p, int64_t n) {
  constexpr uintptr_t kAlign = sizeof(uint16_t) * VW;
  const uintptr_t misalign = (uintptr_t)p & (kAlign - 1);
  int64_t i = (misalign & 1) ? n : std::min<int64_t>(n, (int64_t)((kAlign - misalign) & (kAlign - 1)) / 2);
  floatToHalfLike<DT>(src, p, i);
  for (; i + VW <= n; i += VW) {
    if (DT == HALF) streamHalf(p + i, Vf::load(src + i));
    else streamBf16(p + i, Vf::load(src + i));
  }
  floatToHalfLike<DT>(src + i, p + i, n - i);  // the caller fences (EwKernels::fence)
}

template <int DT>
void loadF(const char* src, int64_t s, float* dst, int64_t n) {
  using E = typename Elem<DT>::type;
  const E* p = (const E*)src;
  if constexpr (DT == HALF || DT == BFLOAT16) {
    if (s == 1) return halfLikeToFloat<DT>(p, dst, n);
    uint16_t tmp[kConvChunk];
    for (int64_t c = 0; c < n; c += kConvChunk) {
      int64_t m = n - c < kConvChunk ? n - c : kConvChunk;
      for (int64_t i = 0; i < m; ++i) tmp[i] = p[(c + i) * s];
      halfLikeToFloat<DT>(tmp, dst + c, m);
    }
  } else if constexpr (DT == FLOAT) {
    if (s == 1) std::memcpy(dst, p, (size_t)n * sizeof(float));
    else for (int64_t i = 0; i < n; ++i) dst[i] = p[i * s];
  } else if constexpr (DT == BOOL) {
    for (int64_t i = 0; i < n; ++i) dst[i] = p[i * s] ? 1.0f : 0.0f;
  } else if constexpr (DT == INT64) {
    for (int64_t i = 0; i < n; ++i) dst[i] = (float)(double)p[i * s];  // as storeFromDouble would
  } else {  // DOUBLE, INT32, UINT8
    if (s == 1) for (int64_t i = 0; i < n; ++i) dst[i] = (float)p[i];
    else for (int64_t i = 0; i < n; ++i) dst[i] = (float)p[i * s];
  }
}

template <int DT>
void storeF(const float* src, char* dst, int64_t s, int64_t n) {
  using E = typename Elem<DT>::type;
  E* p = (E*)dst;
  if constexpr (DT == HALF || DT == BFLOAT16) {
    if (s == 1) return floatToHalfLike<DT>(src, p, n);
    uint16_t tmp[kConvChunk];
    for (int64_t c = 0; c < n; c += kConvChunk) {
      int64_t m = n - c < kConvChunk ? n - c : kConvChunk;
      floatToHalfLike<DT>(src + c, tmp, m);
      for (int64_t i = 0; i < m; ++i) p[(c + i) * s] = tmp[i];
    }
  } else if constexpr (DT == FLOAT) {
    if (s == 1) std::memcpy(p, src, (size_t)n * sizeof(float));
    else for (int64_t i = 0; i < n; ++i) p[i * s] = src[i];
  } else if constexpr (DT == DOUBLE) {
    if (s == 1) for (int64_t i = 0; i < n; ++i) p[i] = src[i];
    else for (int64_t i = 0; i < n; ++i) p[i * s] = src[i];
  } else if constexpr (DT == BOOL) {
    for (int64_t i = 0; i < n; ++i) p[i * s] = src[i] != 0.0f ? 1 : 0;
  } else {
    for (int64_t i = 0; i < n; ++i) storeFromDouble((char*)(p + i * s), DT, (double)src[i]);
  }
}

// storeF, streaming contiguous 16-bit outputs (used for large outputs written from a staging block:
// casts and mixed-layout ops; direct FLOAT/HALF/BFLOAT16 kernels stream by themselves).
template <int DT>
void storeFStream(const float* src, char* dst, int64_t s, int64_t n) {
  if constexpr (DT == HALF || DT == BFLOAT16) {
    if (s == 1) return floatToHalfLikeStream<DT>(src, (uint16_t*)dst, n);
  }
  storeF<DT>(src, dst, s, n);
}

// ---- double domain -------------------------------------------------------------------------
template <int DT>
void loadD(const char* src, int64_t s, double* dst, int64_t n) {
  using E = typename Elem<DT>::type;
  const E* p = (const E*)src;
  if constexpr (DT == HALF || DT == BFLOAT16) {
    float tmp[kConvChunk];
    for (int64_t c = 0; c < n; c += kConvChunk) {
      int64_t m = n - c < kConvChunk ? n - c : kConvChunk;
      loadF<DT>(src + c * s * 2, s, tmp, m);
      for (int64_t i = 0; i < m; ++i) dst[c + i] = tmp[i];
    }
  } else if constexpr (DT == BOOL) {
    for (int64_t i = 0; i < n; ++i) dst[i] = p[i * s] ? 1.0 : 0.0;
  } else {
    if (s == 1) for (int64_t i = 0; i < n; ++i) dst[i] = (double)p[i];
    else for (int64_t i = 0; i < n; ++i) dst[i] = (double)p[i * s];
  }
}

template <int DT>
void storeD(const double* src, char* dst, int64_t s, int64_t n) {
  using E = typename Elem<DT>::type;
  E* p = (E*)dst;
  if constexpr (DT == HALF || DT == BFLOAT16) {
    float tmp[kConvChunk];  // double -> float -> 16 bits, as storeFromDouble does
    for (int64_t c = 0; c < n; c += kConvChunk) {
      int64_t m = n - c < kConvChunk ? n - c : kConvChunk;
      for (int64_t i = 0; i < m; ++i) tmp[i] = (float)src[c + i];
      storeF<DT>(tmp, dst + c * s * 2, s, m);
    }
  } else if constexpr (DT == DOUBLE || DT == FLOAT) {
    if (s == 1) for (int64_t i = 0; i < n; ++i) p[i] = (E)src[i];
    else for (int64_t i = 0; i < n; ++i) p[i * s] = (E)src[i];
  } else {
    for (int64_t i = 0; i < n; ++i) storeFromDouble((char*)(p + i * s), DT, src[i]);
  }
}

// ---- int64 domain (integer dtypes; float dtypes convert like storeFromDouble into INT64) ----
template <int DT>
void loadI(const char* src, int64_t s, int64_t* dst, int64_t n) {
  using E = typename Elem<DT>::type;
  const E* p = (const E*)src;
  if constexpr (DT == BOOL) {
    for (int64_t i = 0; i < n; ++i) dst[i] = p[i * s] ? 1 : 0;
  } else if constexpr (DT == INT32 || DT == INT64 || DT == UINT8) {
    if (s == 1) for (int64_t i = 0; i < n; ++i) dst[i] = (int64_t)p[i];
    else for (int64_t i = 0; i < n; ++i) dst[i] = (int64_t)p[i * s];
  } else {
    for (int64_t i = 0; i < n; ++i) storeFromDouble((char*)(dst + i), INT64, loadAsDouble((const char*)(p + i * s), DT));
  }
}

inline int64_t clampI(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

template <int DT>
void storeI(const int64_t* src, char* dst, int64_t s, int64_t n) {
  using E = typename Elem<DT>::type;
  E* p = (E*)dst;
  if constexpr (DT == INT64) {
    if (s == 1) std::memcpy(p, src, (size_t)n * sizeof(int64_t));
    else for (int64_t i = 0; i < n; ++i) p[i * s] = src[i];
  } else if constexpr (DT == INT32) {
    if (s == 1) for (int64_t i = 0; i < n; ++i) p[i] = (int32_t)clampI(src[i], INT32_MIN, INT32_MAX);
    else for (int64_t i = 0; i < n; ++i) p[i * s] = (int32_t)clampI(src[i], INT32_MIN, INT32_MAX);
  } else if constexpr (DT == UINT8) {
    for (int64_t i = 0; i < n; ++i) p[i * s] = (uint8_t)clampI(src[i], 0, 255);
  } else if constexpr (DT == BOOL) {
    for (int64_t i = 0; i < n; ++i) p[i * s] = src[i] != 0 ? 1 : 0;
  } else {
    for (int64_t i = 0; i < n; ++i) storeFromDouble((char*)(p + i * s), DT, (double)src[i]);
  }
}

// ---- raw moves -----------------------------------------------------------------------------
template <class E>
void copyK(const char* src, int64_t ss, char* dst, int64_t ds, int64_t n) {
  const E* s = (const E*)src;
  E* d = (E*)dst;
  if (ss == 1 && ds == 1) {
    std::memmove(d, s, (size_t)n * sizeof(E));
  } else if (ss == 0) {
    E v = s[0];
    for (int64_t i = 0; i < n; ++i) d[i * ds] = v;
  } else {
    for (int64_t i = 0; i < n; ++i) d[i * ds] = s[i * ss];
  }
}

template <class E>
void whereK(const uint8_t* c, int64_t cs, const char* a, int64_t as, const char* b, int64_t bs, char* out,
            int64_t os, int64_t n) {
  const E* pa = (const E*)a;
  const E* pb = (const E*)b;
  E* o = (E*)out;
  if (cs == 1 && as == 1 && bs == 1 && os == 1) {
#pragma GCC ivdep
    for (int64_t i = 0; i < n; ++i) o[i] = c[i] ? pa[i] : pb[i];
  } else {
    for (int64_t i = 0; i < n; ++i) o[i * os] = c[i * cs] ? pa[i * as] : pb[i * bs];
  }
}
