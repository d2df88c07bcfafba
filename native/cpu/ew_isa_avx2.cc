// Elementwise kernels, AVX2 + FMA + F16C build; elementwise.cc selects it when AVX-512 is missing
// (or DL4TS_CPU_ISA=avx2). The shared kernel sources are included inside namespace ew_avx2, after
// the target pragma, so that this file's instantiations never merge with another instruction set's.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include <immintrin.h>

#include "dtype.h"
#include "ew_ops.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#define DL4TS_SIMD 256

namespace dl4ts {
namespace ew_avx2 {
#include "simd.h"
#include "vec_math.h"
#include "unary_ops.h"
#include "binary_ops.h"
#include "int_ops.h"
#include "convert.h"
#include "ew_kernels.h"
}  // namespace ew_avx2

const EwKernels& ewKernelsAvx2() {
  static const EwKernels k = ew_avx2::makeKernelTable("avx2");
  return k;
}

}  // namespace dl4ts
#pragma GCC pop_options
