// Block kernels over contiguous compute-type arrays, instantiated for every op, and the function
// that fills an EwKernels table for the enclosing instruction set. Float32 kernels run on `Vf`
// (two vectors per step, a padded vector for the tail); double and int64 kernels are plain loops
// that the compiler vectorises where the formula allows. Every kernel tolerates out == input.
//
// Not a normal header: included by ew_isa_*.cc inside an instruction-set namespace after the op
// headers (unary_ops.h, binary_ops.h, int_ops.h) and convert.h.

// Runs f over [0, n): f(i) computes the vector for elements [i, i + VW) from full loads, part(i, m)
// handles a short range (m < VW) through padded buffers. With p.stream (large outputs) the body uses
// non-temporal stores from a vector-aligned point, so that the output does not cost a read for
// ownership and does not evict the inputs.
template <class F, class Part>
inline void vecLoop(float* out, int64_t n, bool stream, const F& f, const Part& part) {
  int64_t i = 0;
  if (stream) {
    constexpr uintptr_t kAlign = sizeof(float) * VW;  // what Vf::stream requires
    const uintptr_t misalign = (uintptr_t)out & (kAlign - 1);
    const int64_t head = std::min<int64_t>(n, (int64_t)((kAlign - misalign) & (kAlign - 1)) / 4);
    if (head) part(0, head);
    for (i = head; i + VW <= n; i += VW) f(i).stream(out + i);
    if (i < n) part(i, n - i);
    streamFence();
    return;
  }
  for (; i + 2 * VW <= n; i += 2 * VW) {
    Vf r0 = f(i), r1 = f(i + VW);  // both computed before either store (in-place safe)
    r0.store(out + i);
    r1.store(out + i + VW);
  }
  for (; i + VW <= n; i += VW) f(i).store(out + i);
  if (i < n) part(i, n - i);
}

template <int OP>
void unaryKF(const float* x, float* out, int64_t n, const EwParams& p) {
  const Vf alpha(p.alphaF), beta(p.betaF);
  vecLoop(
      out, n, p.stream, [&](int64_t i) { return UOp<OP>::f(Vf::load(x + i), alpha, beta); },
      [&](int64_t i, int64_t m) {
        alignas(64) float t[VW] = {};
        for (int64_t j = 0; j < m; ++j) t[j] = x[i + j];
        UOp<OP>::f(Vf::load(t), alpha, beta).store(t);
        for (int64_t j = 0; j < m; ++j) out[i + j] = t[j];
      });
}

template <int OP>
void binaryKF(const float* a, const float* b, float* out, int64_t n, const EwParams& p) {
  const Vf alpha(p.alphaF), beta(p.betaF);
  vecLoop(
      out, n, p.stream, [&](int64_t i) { return BOp<OP>::f(Vf::load(a + i), Vf::load(b + i), alpha, beta); },
      [&](int64_t i, int64_t m) {
        alignas(64) float ta[VW] = {}, tb[VW] = {};
        for (int64_t j = 0; j < m; ++j) ta[j] = a[i + j], tb[j] = b[i + j];
        BOp<OP>::f(Vf::load(ta), Vf::load(tb), alpha, beta).store(ta);
        for (int64_t j = 0; j < m; ++j) out[i + j] = ta[j];
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
  ((k.unaryF[U] = &unaryKF<U>), ...);
  ((k.unaryD[U] = &unaryKD<U>), ...);
  ((k.binaryF[B] = &binaryKF<B>), ...);
  ((k.binaryD[B] = &binaryKD<B>), ...);
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
  ((k.loadD[D] = &loadD<D>), ...);
  ((k.storeD[D] = &storeD<D>), ...);
  ((k.loadI[D] = &loadI<D>), ...);
  ((k.storeI[D] = &storeI<D>), ...);
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
