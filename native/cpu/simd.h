// A small float32 SIMD vector type `Vf` (with mask type `Mf`) for one instruction set, chosen by
// DL4TS_SIMD: 512 (AVX-512F/BW/VL/DQ), 256 (AVX2+FMA+F16C) or 1 (portable scalar, one lane).
//
// Not a normal header: an ew_isa_*.cc file includes it inside its own namespace, after
// <immintrin.h>/<cmath> and after `#pragma GCC target(...)`, so that each instruction set gets its
// own copies (no ODR clash between differently compiled inline functions).
//
// Semantics shared by every width (and by the double overloads in vec_math.h):
//   vmax(a, b) = a > b ? a : b   vmin(a, b) = a < b ? a : b   (NaN in either -> b, like MAXPS)
//   comparisons are IEEE ordered, except != which is unordered (NaN != x is true).

#if DL4TS_SIMD == 512

struct Mf {
  __mmask16 m;
};
struct Vf {
  static constexpr int W = 16;
  __m512 v;
  Vf() = default;
  Vf(__m512 x) : v(x) {}
  Vf(float s) : v(_mm512_set1_ps(s)) {}
  static Vf load(const float* p) { return _mm512_loadu_ps(p); }
  void store(float* p) const { _mm512_storeu_ps(p, v); }
  void stream(float* p) const { _mm512_stream_ps(p, v); }  // p 64-byte aligned
};
inline void streamFence() { _mm_sfence(); }
inline Vf operator+(Vf a, Vf b) { return _mm512_add_ps(a.v, b.v); }
inline Vf operator-(Vf a, Vf b) { return _mm512_sub_ps(a.v, b.v); }
inline Vf operator*(Vf a, Vf b) { return _mm512_mul_ps(a.v, b.v); }
inline Vf operator/(Vf a, Vf b) { return _mm512_div_ps(a.v, b.v); }
inline Vf operator-(Vf a) {
  return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a.v), _mm512_set1_epi32((int)0x80000000u)));
}
inline Vf vfma(Vf a, Vf b, Vf c) { return _mm512_fmadd_ps(a.v, b.v, c.v); }
inline Vf vmax(Vf a, Vf b) { return _mm512_max_ps(a.v, b.v); }
inline Vf vmin(Vf a, Vf b) { return _mm512_min_ps(a.v, b.v); }
inline Vf vabs(Vf a) { return _mm512_abs_ps(a.v); }
inline Vf vsqrt(Vf a) { return _mm512_sqrt_ps(a.v); }
inline Vf vfloor(Vf a) { return _mm512_roundscale_ps(a.v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
inline Vf vceil(Vf a) { return _mm512_roundscale_ps(a.v, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC); }
inline Vf vrint(Vf a) { return _mm512_roundscale_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline Mf operator==(Vf a, Vf b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_EQ_OQ)}; }
inline Mf operator!=(Vf a, Vf b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_NEQ_UQ)}; }
inline Mf operator<(Vf a, Vf b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ)}; }
inline Mf operator<=(Vf a, Vf b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_LE_OQ)}; }
inline Mf operator>(Vf a, Vf b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_GT_OQ)}; }
inline Mf operator>=(Vf a, Vf b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_GE_OQ)}; }
inline Mf visnan(Vf a) { return {_mm512_cmp_ps_mask(a.v, a.v, _CMP_UNORD_Q)}; }
inline Mf operator&(Mf a, Mf b) { return {(__mmask16)(a.m & b.m)}; }
inline Mf operator|(Mf a, Mf b) { return {(__mmask16)(a.m | b.m)}; }
inline Mf operator^(Mf a, Mf b) { return {(__mmask16)(a.m ^ b.m)}; }
inline Vf vsel(Mf m, Vf a, Vf b) { return _mm512_mask_blend_ps(m.m, b.v, a.v); }
// 2^n for integer-valued n in [-126, 127].
inline Vf vpow2i(Vf n) {
  __m512i i = _mm512_cvtps_epi32(n.v);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(i, _mm512_set1_epi32(127)), 23));
}
// For finite x > 0 (subnormals included): x = m * 2^e with m in [1, 2).
inline Vf vfrexp(Vf x, Vf& e) {
  e = _mm512_getexp_ps(x.v);
  return _mm512_getmant_ps(x.v, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero);
}
inline Vf loadHalf(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)p)); }
inline __m256i halfBits(Vf x) { return _mm512_cvtps_ph(x.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline __m256i bf16Bits(Vf x) {  // same rounding as floatToBf16 (subnormals kept, NaN quieted)
  __m512i b = _mm512_castps_si512(x.v);
  __m512i hi = _mm512_srli_epi32(b, 16);
  __m512i r = _mm512_add_epi32(b, _mm512_add_epi32(_mm512_and_si512(hi, _mm512_set1_epi32(1)), _mm512_set1_epi32(0x7fff)));
  r = _mm512_srli_epi32(r, 16);
  r = _mm512_mask_mov_epi32(r, visnan(x).m, _mm512_or_si512(hi, _mm512_set1_epi32(0x40)));
  return _mm512_cvtepi32_epi16(r);
}
inline void storeHalf(uint16_t* p, Vf x) { _mm256_storeu_si256((__m256i*)p, halfBits(x)); }
inline void storeBf16(uint16_t* p, Vf x) { _mm256_storeu_si256((__m256i*)p, bf16Bits(x)); }
inline void streamHalf(uint16_t* p, Vf x) { _mm256_stream_si256((__m256i*)p, halfBits(x)); }  // 32-byte aligned
inline void streamBf16(uint16_t* p, Vf x) { _mm256_stream_si256((__m256i*)p, bf16Bits(x)); }
inline Vf loadBf16(const uint16_t* p) {
  __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}

#elif DL4TS_SIMD == 256

struct Mf {
  __m256 m;
};
struct Vf {
  static constexpr int W = 8;
  __m256 v;
  Vf() = default;
  Vf(__m256 x) : v(x) {}
  Vf(float s) : v(_mm256_set1_ps(s)) {}
  static Vf load(const float* p) { return _mm256_loadu_ps(p); }
  void store(float* p) const { _mm256_storeu_ps(p, v); }
  void stream(float* p) const { _mm256_stream_ps(p, v); }  // p 32-byte aligned
};
inline void streamFence() { _mm_sfence(); }
inline Vf operator+(Vf a, Vf b) { return _mm256_add_ps(a.v, b.v); }
inline Vf operator-(Vf a, Vf b) { return _mm256_sub_ps(a.v, b.v); }
inline Vf operator*(Vf a, Vf b) { return _mm256_mul_ps(a.v, b.v); }
inline Vf operator/(Vf a, Vf b) { return _mm256_div_ps(a.v, b.v); }
inline Vf operator-(Vf a) { return _mm256_xor_ps(a.v, _mm256_set1_ps(-0.0f)); }
inline Vf vfma(Vf a, Vf b, Vf c) { return _mm256_fmadd_ps(a.v, b.v, c.v); }
inline Vf vmax(Vf a, Vf b) { return _mm256_max_ps(a.v, b.v); }
inline Vf vmin(Vf a, Vf b) { return _mm256_min_ps(a.v, b.v); }
inline Vf vabs(Vf a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a.v); }
inline Vf vsqrt(Vf a) { return _mm256_sqrt_ps(a.v); }
inline Vf vfloor(Vf a) { return _mm256_round_ps(a.v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
inline Vf vceil(Vf a) { return _mm256_round_ps(a.v, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC); }
inline Vf vrint(Vf a) { return _mm256_round_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline Mf operator==(Vf a, Vf b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_EQ_OQ)}; }
inline Mf operator!=(Vf a, Vf b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_NEQ_UQ)}; }
inline Mf operator<(Vf a, Vf b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ)}; }
inline Mf operator<=(Vf a, Vf b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_LE_OQ)}; }
inline Mf operator>(Vf a, Vf b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_GT_OQ)}; }
inline Mf operator>=(Vf a, Vf b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_GE_OQ)}; }
inline Mf visnan(Vf a) { return {_mm256_cmp_ps(a.v, a.v, _CMP_UNORD_Q)}; }
inline Mf operator&(Mf a, Mf b) { return {_mm256_and_ps(a.m, b.m)}; }
inline Mf operator|(Mf a, Mf b) { return {_mm256_or_ps(a.m, b.m)}; }
inline Mf operator^(Mf a, Mf b) { return {_mm256_xor_ps(a.m, b.m)}; }
inline Vf vsel(Mf m, Vf a, Vf b) { return _mm256_blendv_ps(b.v, a.v, m.m); }
inline Vf vpow2i(Vf n) {
  __m256i i = _mm256_cvtps_epi32(n.v);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(i, _mm256_set1_epi32(127)), 23));
}
inline Vf vfrexp(Vf x, Vf& e) {
  // Scale subnormals up by 2^23 first so that the exponent field is meaningful.
  __m256 tiny = _mm256_cmp_ps(x.v, _mm256_set1_ps(1.17549435e-38f), _CMP_LT_OQ);
  __m256 xs = _mm256_blendv_ps(x.v, _mm256_mul_ps(x.v, _mm256_set1_ps(8388608.0f)), tiny);
  __m256i b = _mm256_castps_si256(xs);
  __m256i ex = _mm256_sub_epi32(_mm256_srli_epi32(b, 23), _mm256_set1_epi32(127));
  e = _mm256_sub_ps(_mm256_cvtepi32_ps(ex), _mm256_and_ps(tiny, _mm256_set1_ps(23.0f)));
  __m256i m = _mm256_or_si256(_mm256_and_si256(b, _mm256_set1_epi32(0x7fffff)), _mm256_set1_epi32(0x3f800000));
  return _mm256_castsi256_ps(m);
}
inline Vf loadHalf(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p)); }
inline __m128i halfBits(Vf x) { return _mm256_cvtps_ph(x.v, _MM_FROUND_TO_NEAREST_INT); }
inline __m128i bf16Bits(Vf x) {
  __m256i b = _mm256_castps_si256(x.v);
  __m256i hi = _mm256_srli_epi32(b, 16);
  __m256i r = _mm256_add_epi32(b, _mm256_add_epi32(_mm256_and_si256(hi, _mm256_set1_epi32(1)), _mm256_set1_epi32(0x7fff)));
  r = _mm256_srli_epi32(r, 16);
  __m256i nan = _mm256_castps_si256(visnan(x).m);
  r = _mm256_blendv_epi8(r, _mm256_or_si256(hi, _mm256_set1_epi32(0x40)), nan);
  __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);
  return _mm256_castsi256_si128(packed);
}
inline void storeHalf(uint16_t* p, Vf x) { _mm_storeu_si128((__m128i*)p, halfBits(x)); }
inline void storeBf16(uint16_t* p, Vf x) { _mm_storeu_si128((__m128i*)p, bf16Bits(x)); }
inline void streamHalf(uint16_t* p, Vf x) { _mm_stream_si128((__m128i*)p, halfBits(x)); }  // 16-byte aligned
inline void streamBf16(uint16_t* p, Vf x) { _mm_stream_si128((__m128i*)p, bf16Bits(x)); }
inline Vf loadBf16(const uint16_t* p) {
  __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

#else  // portable scalar: one lane

struct Mf {
  bool m;
};
struct Vf {
  static constexpr int W = 1;
  float v;
  Vf() = default;
  Vf(float s) : v(s) {}
  static Vf load(const float* p) { return *p; }
  void store(float* p) const { *p = v; }
  void stream(float* p) const { *p = v; }
};
inline void streamFence() {}
inline Vf operator+(Vf a, Vf b) { return a.v + b.v; }
inline Vf operator-(Vf a, Vf b) { return a.v - b.v; }
inline Vf operator*(Vf a, Vf b) { return a.v * b.v; }
inline Vf operator/(Vf a, Vf b) { return a.v / b.v; }
inline Vf operator-(Vf a) { return -a.v; }
inline Vf vfma(Vf a, Vf b, Vf c) { return a.v * b.v + c.v; }
inline Vf vmax(Vf a, Vf b) { return a.v > b.v ? a.v : b.v; }
inline Vf vmin(Vf a, Vf b) { return a.v < b.v ? a.v : b.v; }
inline Vf vabs(Vf a) { return std::fabs(a.v); }
inline Vf vsqrt(Vf a) { return std::sqrt(a.v); }
inline Vf vfloor(Vf a) { return std::floor(a.v); }
inline Vf vceil(Vf a) { return std::ceil(a.v); }
inline Vf vrint(Vf a) { return std::nearbyint(a.v); }
inline Mf operator==(Vf a, Vf b) { return {a.v == b.v}; }
inline Mf operator!=(Vf a, Vf b) { return {a.v != b.v}; }
inline Mf operator<(Vf a, Vf b) { return {a.v < b.v}; }
inline Mf operator<=(Vf a, Vf b) { return {a.v <= b.v}; }
inline Mf operator>(Vf a, Vf b) { return {a.v > b.v}; }
inline Mf operator>=(Vf a, Vf b) { return {a.v >= b.v}; }
inline Mf visnan(Vf a) { return {a.v != a.v}; }
inline Mf operator&(Mf a, Mf b) { return {a.m && b.m}; }
inline Mf operator|(Mf a, Mf b) { return {a.m || b.m}; }
inline Mf operator^(Mf a, Mf b) { return {a.m != b.m}; }
inline Vf vsel(Mf m, Vf a, Vf b) { return m.m ? a : b; }
inline Vf vpow2i(Vf n) {
  int32_t i = (n.v == n.v) ? (int32_t)n.v : 0;
  uint32_t bits = (uint32_t)(i + 127) << 23;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
inline Vf vfrexp(Vf x, Vf& e) {
  int ex = 0;
  float m = std::frexp(x.v, &ex);  // [0.5, 1)
  e = (float)(ex - 1);
  return m * 2.0f;
}
inline Vf loadHalf(const uint16_t* p) { return halfToFloat(*p); }
inline void storeHalf(uint16_t* p, Vf x) { *p = floatToHalf(x.v); }
inline Vf loadBf16(const uint16_t* p) { return bf16ToFloat(*p); }
inline void storeBf16(uint16_t* p, Vf x) { *p = floatToBf16(x.v); }
inline void streamHalf(uint16_t* p, Vf x) { storeHalf(p, x); }
inline void streamBf16(uint16_t* p, Vf x) { storeBf16(p, x); }

#endif

constexpr int VW = Vf::W;

// Applies a scalar function lane by lane (for ops without a vector formula).
template <class F>
inline Vf lanewise(Vf x, F f) {
  alignas(64) float t[VW];
  x.store(t);
  for (int i = 0; i < VW; ++i) t[i] = f(t[i]);
  return Vf::load(t);
}
template <class F>
inline Vf lanewise2(Vf a, Vf b, F f) {
  alignas(64) float ta[VW], tb[VW];
  a.store(ta);
  b.store(tb);
  for (int i = 0; i < VW; ++i) ta[i] = f(ta[i], tb[i]);
  return Vf::load(ta);
}
