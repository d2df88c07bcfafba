// The elementwise part of one LSTM step (Backend.lstmCell), one thread per (example n, unit j) of
// [N, H]. z = zx + zh are the [N, 4H] pre-activations in DL4J's block order (a, f, o, g):
//   a = act(z_a), f = gate(z_f), o = gate(z_o), g = gate(z_g)
//   c = f * cPrev + g * a,  h = o * act(c)
// Absent zh, cPrev, dh, dc or dcPrev arrive as null pointers (zeros; dcPrev: not wanted).
// Arithmetic runs in A (float, double for DOUBLE); the activated gates are saved for backward.
// The launcher prepends #define T_DT DT_FLOAT (or DOUBLE, HALF, BFLOAT16), ACT_KIND and GATE_KIND
// (0 tanh, 1 sigmoid, 2 hardsigmoid) and ENTRY_<name>.
#include "common.cuh"
#include "elementwise_ops.cuh"

typedef T_DT::S T;
typedef T_DT::C A;

template <int K>
__device__ __forceinline__ A activate(A x) {
  return K == 0 ? u_tanh<A>(x, 0, 0) : K == 1 ? u_sigmoid<A>(x, 0, 0) : u_hardsigmoid<A>(x, 0, 0);
}

// g times the activation's derivative, from its output y (hardsigmoid: slope 0.2 strictly inside (0, 1)).
template <int K>
__device__ __forceinline__ A backprop(A y, A g) {
  return K == 0 ? b_tanhGrad<A>(y, g, 0, 0) : K == 1 ? b_sigmoidGrad<A>(y, g, 0, 0) : (y > A(0) && y < A(1) ? A(0.2) * g : A(0));
}

#ifdef ENTRY_lstm_forward
extern "C" __global__ void lstm_forward(const T* zx, const T* zh, const T* cPrev, T* h, T* c, T* gates, i64 N, i64 H) {
  GRID_STRIDE(i, N * H) {
    const i64 n = i / H;
    const i64 base = i + 3 * n * H;  // (n, block 0, j) in [N, 4H]
    A v[4];
    for (int k = 0; k < 4; ++k) {
      const i64 e = base + k * H;
      v[k] = T_DT::load(zx[e]) + (zh ? T_DT::load(zh[e]) : A(0));
    }
    const A a = activate<ACT_KIND>(v[0]), f = activate<GATE_KIND>(v[1]);
    const A o = activate<GATE_KIND>(v[2]), g = activate<GATE_KIND>(v[3]);
    const A cv = (cPrev ? f * T_DT::load(cPrev[i]) : A(0)) + g * a;
    c[i] = T_DT::store(cv);
    h[i] = T_DT::store(o * activate<ACT_KIND>(cv));
    gates[base] = T_DT::store(a);
    gates[base + H] = T_DT::store(f);
    gates[base + 2 * H] = T_DT::store(o);
    gates[base + 3 * H] = T_DT::store(g);
  }
}
#endif

#ifdef ENTRY_lstm_backward
// dz of each block through its activation; dcPrev = dc_total * f, where
// dc_total = dc + dh * o * act'(c) is the gradient reaching c from both outputs.
extern "C" __global__ void lstm_backward(const T* gates, const T* cPrev, const T* c, const T* dh, const T* dc, T* dz, T* dcPrev,
                                         i64 N, i64 H) {
  GRID_STRIDE(i, N * H) {
    const i64 n = i / H;
    const i64 base = i + 3 * n * H;
    const A a = T_DT::load(gates[base]), f = T_DT::load(gates[base + H]);
    const A o = T_DT::load(gates[base + 2 * H]), g = T_DT::load(gates[base + 3 * H]);
    const A tc = activate<ACT_KIND>(T_DT::load(c[i]));
    const A dhv = dh ? T_DT::load(dh[i]) : A(0);
    const A dct = (dc ? T_DT::load(dc[i]) : A(0)) + backprop<ACT_KIND>(tc, dhv * o);
    dz[base] = T_DT::store(backprop<ACT_KIND>(a, dct * g));
    dz[base + H] = T_DT::store(cPrev ? backprop<GATE_KIND>(f, dct * T_DT::load(cPrev[i])) : A(0));
    dz[base + 2 * H] = T_DT::store(backprop<GATE_KIND>(o, dhv * tc));
    dz[base + 3 * H] = T_DT::store(backprop<GATE_KIND>(g, dct * a));
    if (dcPrev) dcPrev[i] = T_DT::store(dct * f);
  }
}
#endif
