// Block kernels over contiguous arrays, instantiated for every op, and the function that fills an
// EwKernels table for the enclosing instruction set. Float32-domain kernels run on `Vf` (two
// vectors per step, a padded vector for the tail) straight from FLOAT, HALF or BFLOAT16 storage;
// double and int64 kernels are plain loops that the compiler vectorises where the formula allows.
// Every kernel tolerates out == input.
//
// Not a normal header: included by ew_isa_*.cc inside an instruction-set namespace after the op
// headers (unary_ops.h, binary_ops.h, int_ops.h) and convert.h.

// Storage of a float32-domain array: FLOAT itself, or HALF/BFLOAT16 bits converted 16/8 lanes at a
// time (F16C / shifts), so that contiguous 16-bit operands are computed without a staging block.
template <int DT>
struct FStore;
template <>
struct FStore<FLOAT> {
  using E = float;
  static Vf load(const E* p) { return Vf::load(p); }
  static void store(E* p, Vf v) { v.store(p); }
  static void stream(E* p, Vf v) { v.stream(p); }
  static float get(E v) { return v; }
  static E put(float f) { return f; }
};
template <>
struct FStore<HALF> {
  using E = uint16_t;
  static Vf load(const E* p) { return loadHalf(p); }
  static void store(E* p, Vf v) { storeHalf(p, v); }
  static void stream(E* p, Vf v) { streamHalf(p, v); }
  static float get(E v) { return halfToFloat(v); }
  static E put(float f) { return floatToHalf(f); }
};
template <>
struct FStore<BFLOAT16> {
  using E = uint16_t;
  static Vf load(const E* p) { return loadBf16(p); }
  static void store(E* p, Vf v) { storeBf16(p, v); }
  static void stream(E* p, Vf v) { streamBf16(p, v); }
  static float get(E v) { return bf16ToFloat(v); }
  static E put(float f) { return floatToBf16(f); }
};

// Runs f over [0, n): f(i) computes the vector for elements [i, i + VW) from full loads, part(i, m)
// handles a short range (m < VW) through padded buffers. With `stream` (large outputs) the body
// uses non-temporal stores from a vector-aligned point, so that the output does not cost a read for
// ownership and does not evict the inputs; the caller fences once it has written all its rows
// (EwKernels::fence).
template <int DT, class F, class Part>
inline void vecLoop(typename FStore<DT>::E* out, int64_t n, bool stream, const F& f, const Part& part) {
  using S = FStore<DT>;
  int64_t i = 0;
  if (stream) {
    constexpr uintptr_t kAlign = sizeof(typename S::E) * VW;  // what the stream stores require
    const uintptr_t misalign = (uintptr_t)out & (kAlign - 1);
    int64_t head = (int64_t)((kAlign - misalign) & (kAlign - 1)) / (int64_t)sizeof(typename S::E);
    if (misalign % sizeof(typename S::E)) head = n;  // cannot align: no streaming
    head = std::min(head, n);
    for (int64_t h = 0; h < head; h += VW) part(h, std::min<int64_t>(VW, head - h));
    for (i = head; i + VW <= n; i += VW) S::stream(out + i, f(i));
    if (i < n) part(i, n - i);
    return;
  }
  for (; i + 2 * VW <= n; i += 2 * VW) {
    Vf r0 = f(i), r1 = f(i + VW);  // both computed before either store (in-place safe)
    S::store(out + i, r0);
    S::store(out + i + VW, r1);
  }
  for (; i + VW <= n; i += VW) S::store(out + i, f(i));
  if (i < n) part(i, n - i);
}

template <int OP, int DT>
void unaryKT(const typename FStore<DT>::E* x, typename FStore<DT>::E* out, int64_t n, const EwParams& p) {
  using S = FStore<DT>;
  const Vf alpha(p.alphaF), beta(p.betaF);
  vecLoop<DT>(
      out, n, p.stream, [&](int64_t i) { return UOp<OP>::f(S::load(x + i), alpha, beta); },
      [&](int64_t i, int64_t m) {
        alignas(64) float t[VW] = {};
        for (int64_t j = 0; j < m; ++j) t[j] = S::get(x[i + j]);
        UOp<OP>::f(Vf::load(t), alpha, beta).store(t);
        for (int64_t j = 0; j < m; ++j) out[i + j] = S::put(t[j]);
      });
}

template <int OP, int DT>
void binaryKT(const typename FStore<DT>::E* a, const typename FStore<DT>::E* b, typename FStore<DT>::E* out,
              int64_t n, const EwParams& p) {
  using S = FStore<DT>;
  const Vf alpha(p.alphaF), beta(p.betaF);
  vecLoop<DT>(
      out, n, p.stream, [&](int64_t i) { return BOp<OP>::f(S::load(a + i), S::load(b + i), alpha, beta); },
      [&](int64_t i, int64_t m) {
        alignas(64) float ta[VW] = {}, tb[VW] = {};
        for (int64_t j = 0; j < m; ++j) ta[j] = S::get(a[i + j]), tb[j] = S::get(b[i + j]);
        BOp<OP>::f(Vf::load(ta), Vf::load(tb), alpha, beta).store(ta);
        for (int64_t j = 0; j < m; ++j) out[i + j] = S::put(ta[j]);
      });
}

template <int OP>
void unaryKD(const double* x, double* out, int64_t n, const EwParams& p) {
  const double alpha = p.alpha, beta = p.beta;
#pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) out[i] = UOp<OP>::f(x[i], alpha, beta);
}

template <int OP>
void binaryKD(const double* a, const double* b, double* out, int64_t n, const EwParams& p) {
  const double alpha = p.alpha, beta = p.beta;
#pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) out[i] = BOp<OP>::f(a[i], b[i], alpha, beta);
}

// p.narrow: the inputs came from 32-bit or smaller integers, so products cannot overflow int64 and
// the (scalar) overflow-checked multiplication can give way to a vectorisable one.
template <int OP>
void unaryKI(const int64_t* x, int64_t* out, int64_t n, const EwParams& p) {
  const int64_t alpha = p.alphaI, beta = p.betaI;
  if (OP == U_Square && p.narrow) {
#pragma GCC ivdep
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] * x[i];
    return;
  }
#pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) out[i] = UOpI<OP>::f(x[i], alpha, beta);
}

template <int OP>
void binaryKI(const int64_t* a, const int64_t* b, int64_t* out, int64_t n, const EwParams& p) {
  if (OP == B_Mul && p.narrow) {
#pragma GCC ivdep
    for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
    return;
  }
#pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) out[i] = BOpI<OP>::f(a[i], b[i]);
}

template <int... U, int... B, int... D>
void fillKernelTable(EwKernels& k, std::integer_sequence<int, U...>, std::integer_sequence<int, B...>,
                     std::integer_sequence<int, D...>) {
  static_assert(((UOpI<U>::ok == unaryIntExact(U)) && ...), "int64 unary ops out of sync with ew_ops.h");
  static_assert(((BOpI<B>::ok == binaryIntExact(B)) && ...), "int64 binary ops out of sync with ew_ops.h");
  ((k.unaryF[U] = &unaryKT<U, FLOAT>), ...);
  ((k.unaryD[U] = &unaryKD<U>), ...);
  ((k.binaryF[B] = &binaryKT<B, FLOAT>), ...);
  ((k.binaryD[B] = &binaryKD<B>), ...);
  // 16-bit in, same 16-bit out: not for `not` and the comparisons (their output is BOOL).
  ((k.unaryH[U] = U == U_Not ? nullptr : &unaryKT<U, HALF>), ...);
  ((k.unaryB[U] = U == U_Not ? nullptr : &unaryKT<U, BFLOAT16>), ...);
  ((k.binaryH[B] = binaryBoolOut(B) ? nullptr : &binaryKT<B, HALF>), ...);
  ((k.binaryB[B] = binaryBoolOut(B) ? nullptr : &binaryKT<B, BFLOAT16>), ...);
  auto ui = [](auto op) -> UnaryKI {
    if constexpr (UOpI<decltype(op)::value>::ok) return &unaryKI<decltype(op)::value>;
    else return nullptr;
  };
  auto bi = [](auto op) -> BinaryKI {
    if constexpr (BOpI<decltype(op)::value>::ok) return &binaryKI<decltype(op)::value>;
    else return nullptr;
  };
  ((k.unaryI[U] = ui(std::integral_constant<int, U>())), ...);
  ((k.binaryI[B] = bi(std::integral_constant<int, B>())), ...);
  ((k.loadF[D] = &loadF<D>), ...);
  ((k.storeF[D] = &storeF<D>), ...);
  ((k.storeFStream[D] = &storeFStream<D>), ...);
  ((k.loadD[D] = &loadD<D>), ...);
  ((k.storeD[D] = &storeD<D>), ...);
  ((k.loadI[D] = &loadI<D>), ...);
  ((k.storeI[D] = &storeI<D>), ...);
  k.fence = &streamFence;
  k.copy[0] = &copyK<uint8_t>;
  k.copy[1] = &copyK<uint16_t>;
  k.copy[2] = &copyK<uint32_t>;
  k.copy[3] = &copyK<uint64_t>;
  k.where[0] = &whereK<uint8_t>;
  k.where[1] = &whereK<uint16_t>;
  k.where[2] = &whereK<uint32_t>;
  k.where[3] = &whereK<uint64_t>;
}

inline EwKernels makeKernelTable(const char* isa) {
  EwKernels k{};
  k.isa = isa;
  fillKernelTable(k, std::make_integer_sequence<int, UNARY_COUNT>(), std::make_integer_sequence<int, BINARY_COUNT>(),
                  std::make_integer_sequence<int, DTYPE_COUNT>());
  return k;
}
