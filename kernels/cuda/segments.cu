// copy_segments: moves many contiguous arrays of one dtype into consecutive places of one staging
// buffer (to_staging = 1) or back out of it (0) in a single launch, so a collective over a model's
// dozens of gradient arrays costs two launches instead of two driver copies per array.
// table holds (address, element offset in staging, element count) per segment; blockIdx.y walks
// the segments, the x dimension strides over each segment's elements. Bits are copied as they are.
// The launcher prepends #define T_DT DT_<dtype>.
#include "common.cuh"

typedef T_DT::S T;

extern "C" __global__ void copy_segments(const i64* table, int segments, T* staging, int to_staging) {
  for (int s = blockIdx.y; s < segments; s += gridDim.y) {
    T* array = (T*)table[3 * s];
    T* slot = staging + table[3 * s + 1];
    const i64 n = table[3 * s + 2];
    if (to_staging) {
      GRID_STRIDE(i, n) slot[i] = array[i];
    } else {
      GRID_STRIDE(i, n) array[i] = slot[i];
    }
  }
}
