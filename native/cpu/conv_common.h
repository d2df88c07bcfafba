// Shared by conv.cc (im2col, col2im) and pool.cc (pool2d, pool2dGrad): the 2-D window
// parameters (kernel, stride, padding, dilation) with their validation, and typed element access
// for the floating dtypes (HALF/BFLOAT16 computed in float32, rounded on store).
#pragma once
#include <string>

#include "dtype.h"
#include "tensor.h"

namespace dl4ts {

struct Window2d {
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
  std::string describe() const {
    auto s = [](int64_t v) { return std::to_string(v); };
    return "kernel " + s(kh) + "x" + s(kw) + ", stride " + s(sh) + "x" + s(sw) + ", padding " + s(ph) + "x" + s(pw) +
           ", dilation " + s(dh) + "x" + s(dw);
  }
};

// Reads kh, kw, sh, sw, ph, pw, dh, dw from arguments first..first+7 and checks their ranges.
inline Window2d parseWindow(const Napi::CallbackInfo& info, size_t first, const char* op) {
  static const char* names[8] = {"kh", "kw", "sh", "sw", "ph", "pw", "dh", "dw"};
  int64_t v[8];
  for (int i = 0; i < 8; ++i) {
    v[i] = parseInt(info, first + i, op, names[i]);
    const bool isPad = i == 4 || i == 5;
    const int64_t lo = isPad ? 0 : 1;
    if (v[i] < lo || v[i] > (int64_t)1 << 30) {
      throwError(info.Env(), op, std::string("'") + names[i] + "' is " + std::to_string(v[i]) + ", expected " +
                                     (isPad ? "0" : "1") + ".." + std::to_string((int64_t)1 << 30));
    }
  }
  return Window2d{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
}

// Output extent floor((in + 2p - d*(k-1) - 1) / s) + 1; throws when the dilated kernel does not fit
// in the padded input (the output would be empty).
inline int64_t windowOut(Napi::Env env, const char* op, const char* axis, int64_t in, int64_t k, int64_t s, int64_t p,
                         int64_t d, const Window2d& w, const Tensor& x) {
  const int64_t num = in + 2 * p - d * (k - 1) - 1;
  if (num < 0) {
    throwError(env, op, std::string("the dilated kernel (") + std::to_string(d * (k - 1) + 1) + ") exceeds the padded " +
                            axis + " extent (" + std::to_string(in + 2 * p) + ") of x " + x.describe() + " with " +
                            w.describe());
  }
  return num / s + 1;
}

inline bool noBroadcast(const Tensor& t) {
  for (int d = 0; d < t.rank; ++d)
    if (t.shape[d] > 1 && t.strides[d] == 0) return false;
  return true;
}

inline std::string shapeString(std::initializer_list<int64_t> dims) {
  std::string s = "[";
  bool first = true;
  for (int64_t d : dims) {
    s += (first ? "" : ",") + std::to_string(d);
    first = false;
  }
  return s + "]";
}

// Typed access: S the stored type, A the compute type.
template <int DT>
struct ConvElem;
template <>
struct ConvElem<DOUBLE> {
  using S = double;
  using A = double;
  static A load(const S* p) { return *p; }
  static void store(S* p, A v) { *p = v; }
};
template <>
struct ConvElem<FLOAT> {
  using S = float;
  using A = float;
  static A load(const S* p) { return *p; }
  static void store(S* p, A v) { *p = v; }
};
template <>
struct ConvElem<HALF> {
  using S = uint16_t;
  using A = float;
  static A load(const S* p) { return halfToFloat(*p); }
  static void store(S* p, A v) { *p = floatToHalf(v); }
};
template <>
struct ConvElem<BFLOAT16> {
  using S = uint16_t;
  using A = float;
  static A load(const S* p) { return bf16ToFloat(*p); }
  static void store(S* p, A v) { *p = floatToBf16(v); }
};

// Calls f(ConvElem<dtype>{}) for a floating dtype (callers check isFloating first).
template <typename F>
void dispatchFloating(int32_t dtype, F&& f) {
  switch (dtype) {
    case DOUBLE: f(ConvElem<DOUBLE>{}); break;
    case FLOAT: f(ConvElem<FLOAT>{}); break;
    case HALF: f(ConvElem<HALF>{}); break;
    default: f(ConvElem<BFLOAT16>{}); break;
  }
}

// Range of output positions o in [0, out) whose input index o*s - p + j*d lies in [0, in).
inline void validRange(int64_t out, int64_t in, int64_t s, int64_t p, int64_t jd, int64_t& lo, int64_t& hi) {
  // o*s >= p - jd  and  o*s <= in - 1 + p - jd
  const int64_t a = p - jd, b = in - 1 + p - jd;
  lo = a <= 0 ? 0 : (a + s - 1) / s;
  hi = b < 0 ? 0 : b / s + 1;
  if (lo > out) lo = out;
  if (hi > out) hi = out;
  if (hi < lo) hi = lo;
}

}  // namespace dl4ts
