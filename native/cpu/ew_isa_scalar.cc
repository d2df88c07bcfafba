// Elementwise kernels, portable one-lane build (no target pragma); elementwise.cc falls back to it
// on CPUs without AVX2/FMA/F16C, or when DL4TS_CPU_ISA=scalar. The shared kernel sources are
// included inside namespace ew_scalar so that they never merge with the SIMD builds.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "dtype.h"
#include "ew_ops.h"

#define DL4TS_SIMD 1

namespace dl4ts {
namespace ew_scalar {
#include "simd.h"
#include "vec_math.h"
#include "unary_ops.h"
#include "binary_ops.h"
#include "int_ops.h"
#include "convert.h"
#include "ew_kernels.h"
}  // namespace ew_scalar

const EwKernels& ewKernelsScalar() {
  static const EwKernels k = ew_scalar::makeKernelTable("scalar");
  return k;
}

}  // namespace dl4ts

