// Elementwise kernels, AVX-512 (F, BW, VL, DQ) build; elementwise.cc selects it when the CPU has
// them. The shared kernel sources are included inside namespace ew_avx512, after the target
// pragma, so that this file's instantiations never merge with another instruction set's.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include <immintrin.h>

#include "dtype.h"
#include "ew_ops.h"

// GCC 12 reports the self-initialised _mm512_undefined_* values inside its own intrinsics.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")
#define DL4TS_SIMD 512

namespace dl4ts {
namespace ew_avx512 {
#include "simd.h"
#include "vec_math.h"
#include "unary_ops.h"
#include "binary_ops.h"
#include "int_ops.h"
#include "convert.h"
#include "ew_kernels.h"
}  // namespace ew_avx512

const EwKernels& ewKernelsAvx512() {
  static const EwKernels k = ew_avx512::makeKernelTable("avx512");
  return k;
}

}  // namespace dl4ts
#pragma GCC pop_options
