// Strided runs of any dtype to/from contiguous buffers of the compute type (float, double or
// int64), used by kernels whose SIMD paths need contiguous CT data.
#pragma once
#include <cstdint>
#include <type_traits>

#include "dtype.h"
#include "rowkernels.h"

namespace dl4ts {

// Converts n elements at src (element stride `stride`) of dtype dt into dst.
template <class CT>
inline void gatherRun(CT* dst, const char* src, int64_t n, int64_t stride, int32_t dt) {
  switch (dt) {
    case FLOAT: {
      const float* s = (const float*)src;
      for (int64_t j = 0; j < n; ++j) dst[j] = (CT)s[j * stride];
      return;
    }
    case DOUBLE: {
      const double* s = (const double*)src;
      for (int64_t j = 0; j < n; ++j) dst[j] = (CT)s[j * stride];
      return;
    }
    case HALF:
      if constexpr (std::is_same_v<CT, float>) {
        if (stride == 1) {
          halfRowToFloat((const uint16_t*)src, dst, n);
          return;
        }
      }
      for (int64_t j = 0; j < n; ++j) dst[j] = (CT)halfToFloat(((const uint16_t*)src)[j * stride]);
      return;
    case BFLOAT16:
      for (int64_t j = 0; j < n; ++j) dst[j] = (CT)bf16ToFloat(((const uint16_t*)src)[j * stride]);
      return;
    case INT32: {
      const int32_t* s = (const int32_t*)src;
      for (int64_t j = 0; j < n; ++j) dst[j] = (CT)s[j * stride];
      return;
    }
    case INT64: {
      const int64_t* s = (const int64_t*)src;
      for (int64_t j = 0; j < n; ++j) dst[j] = (CT)s[j * stride];
      return;
    }
    case UINT8: {
      const uint8_t* s = (const uint8_t*)src;
      for (int64_t j = 0; j < n; ++j) dst[j] = (CT)s[j * stride];
      return;
    }
    default: {
      const uint8_t* s = (const uint8_t*)src;
      for (int64_t j = 0; j < n; ++j) dst[j] = s[j * stride] ? (CT)1 : (CT)0;
      return;
    }
  }
}

// Stores n CT values to dst (element stride `stride`) in dtype dt (round to nearest even for
// HALF/BFLOAT16, storeFromDouble rules for the integer types).
template <class CT>
inline void scatterRun(char* dst, const CT* src, int64_t n, int64_t stride, int32_t dt) {
  switch (dt) {
    case FLOAT: {
      float* d = (float*)dst;
      for (int64_t j = 0; j < n; ++j) d[j * stride] = (float)src[j];
      return;
    }
    case DOUBLE: {
      double* d = (double*)dst;
      for (int64_t j = 0; j < n; ++j) d[j * stride] = (double)src[j];
      return;
    }
    case HALF: {
      uint16_t* d = (uint16_t*)dst;
      if constexpr (std::is_same_v<CT, float>) {
        if (stride == 1) {
          floatRowToHalf(src, d, n);
          return;
        }
      }
      for (int64_t j = 0; j < n; ++j) d[j * stride] = floatToHalf((float)src[j]);
      return;
    }
    case BFLOAT16: {
      uint16_t* d = (uint16_t*)dst;
      for (int64_t j = 0; j < n; ++j) d[j * stride] = floatToBf16((float)src[j]);
      return;
    }
    default: {
      const int64_t sz = (int64_t)dtypeSize(dt);
      for (int64_t j = 0; j < n; ++j) storeFromDouble(dst + j * stride * sz, dt, (double)src[j]);
    }
  }
}

}  // namespace dl4ts
