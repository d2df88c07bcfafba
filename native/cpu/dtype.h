// Data types shared with src/ndarray/dtype.ts (the numeric codes must match) and the scalar
// conversions every kernel uses. HALF and BFLOAT16 are stored as 16 bits and computed in float32;
// stores round to nearest even.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace dl4ts {

enum DType : int32_t {
  DOUBLE = 0,
  FLOAT = 1,
  HALF = 2,
  BFLOAT16 = 3,
  INT32 = 4,
  INT64 = 5,
  UINT8 = 6,
  BOOL = 7,
  DTYPE_COUNT = 8
};

inline const char* dtypeName(int32_t d) {
  static const char* names[] = {"DOUBLE", "FLOAT", "HALF", "BFLOAT16", "INT32", "INT64", "UINT8", "BOOL"};
  return (d >= 0 && d < DTYPE_COUNT) ? names[d] : "UNKNOWN";
}

inline size_t dtypeSize(int32_t d) {
  static const size_t sizes[] = {8, 4, 2, 2, 4, 8, 1, 1};
  return sizes[d];
}

inline bool isFloating(int32_t d) { return d <= BFLOAT16; }

struct half_t { uint16_t bits; };
struct bf16_t { uint16_t bits; };

inline float halfToFloat(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do { man <<= 1; ++e; } while ((man & 0x400u) == 0);
      bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ffu) << 13;
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);
  } else {
    bits = sign | (exp + 112) << 23 | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) {  // inf or nan (keep nan quiet)
    return (uint16_t)(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u | ((absx >> 13) & 0x3ffu) : 0));
  }
  if (absx >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);  // rounds to >= 65520: overflow to inf
  if (absx < 0x38800000u) {  // result is subnormal or zero
    if (absx < 0x33000000u) return (uint16_t)sign;  // below half the smallest subnormal
    uint32_t man = (absx & 0x7fffffu) | 0x800000u;
    int shift = 126 - (int)(absx >> 23);  // 14..24 bits dropped
    uint32_t rounded = man >> shift;
    uint32_t rem = man & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (rounded & 1u))) ++rounded;
    return (uint16_t)(sign | rounded);
  }
  uint32_t rounded = absx + 0xfffu + ((absx >> 13) & 1u);  // round to nearest even on bit 13
  return (uint16_t)(sign | ((rounded - 0x38000000u) >> 13));
}

inline float bf16ToFloat(uint16_t b) {
  uint32_t bits = (uint32_t)b << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t floatToBf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);  // quiet nan
  x += 0x7fffu + ((x >> 16) & 1u);
  return (uint16_t)(x >> 16);
}

// Load any element type as double (exact for every type but INT64 beyond 2^53).
inline double loadAsDouble(const char* p, int32_t d) {
  switch (d) {
    case DOUBLE: return *(const double*)p;
    case FLOAT: return *(const float*)p;
    case HALF: return halfToFloat(*(const uint16_t*)p);
    case BFLOAT16: return bf16ToFloat(*(const uint16_t*)p);
    case INT32: return *(const int32_t*)p;
    case INT64: return (double)*(const int64_t*)p;
    case UINT8: return *(const uint8_t*)p;
    default: return *(const uint8_t*)p ? 1.0 : 0.0;
  }
}

// Store a double into any element type: floats round, integers truncate toward zero (as a C cast,
// saturating at the type's range; NaN stores 0), BOOL stores v != 0.
inline void storeFromDouble(char* p, int32_t d, double v) {
  switch (d) {
    case DOUBLE: *(double*)p = v; break;
    case FLOAT: *(float*)p = (float)v; break;
    case HALF: *(uint16_t*)p = floatToHalf((float)v); break;
    case BFLOAT16: *(uint16_t*)p = floatToBf16((float)v); break;
    case INT32: *(int32_t*)p = std::isnan(v) ? 0 : v >= 2147483647.0 ? INT32_MAX : v <= -2147483648.0 ? INT32_MIN : (int32_t)v; break;
    case INT64: *(int64_t*)p = std::isnan(v) ? 0 : v >= 9.2233720368547758e18 ? INT64_MAX : v <= -9.2233720368547758e18 ? INT64_MIN : (int64_t)v; break;
    case UINT8: *(uint8_t*)p = std::isnan(v) ? 0 : v >= 255.0 ? 255 : v <= 0.0 ? 0 : (uint8_t)v; break;
    default: *(uint8_t*)p = v != 0.0 ? 1 : 0; break;
  }
}

}  // namespace dl4ts
