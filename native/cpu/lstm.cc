// Backend.lstmCell on the CPU: the elementwise part of one LSTM step, forward and backward, one pass
// over the rows instead of a dozen elementwise calls each way.
//
//   lstmCellForward(zx, zh | null, cPrev | null, h, c, gates, activation, gate)
//   lstmCellBackward(gates, cPrev | null, c, dh | null, dc | null, dz, dcPrev | null, activation, gate)
//
// z = zx + zh are the [N, 4H] pre-activations in DL4J's block order (a, f, o, g):
//   a = act(z_a), f = gate(z_f), o = gate(z_o), g = gate(z_g)
//   c = f * cPrev + g * a,  h = o * act(c)
// gates [N, 4H] keeps (a, f, o, g) for backward, which recomputes act(c) and takes each
// activation's derivative from its output (hardsigmoid: 0.2 strictly inside (0, 1), 0 at and
// beyond the kinks, as the hardsigmoidGrad op and kernels/cuda/lstm.cu). Absent zh/cPrev/dh/dc are
// zeros; an absent dcPrev is not wanted. Every operand is contiguous and of one float dtype; rows
// are loaded into float (double for DOUBLE) blocks, activated with the elementwise kernels of this
// CPU's instruction set (the same values as the tanh/sigmoid/hardsigmoid ops), and stored rounded.
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "ew_ops.h"
#include "parallel.h"
#include "registry.h"
#include "tensor.h"

namespace dl4ts {

namespace {

enum class Act { Tanh, Sigmoid, HardSigmoid };

// Rows per thread-pool chunk: about 8k gate elements, several vector transcendentals each.
int64_t rowGrain(int64_t units) {
  const int64_t perRow = 4 * units;
  return perRow >= 8192 ? 1 : 8192 / (perRow > 0 ? perRow : 1);
}

Act parseAct(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name) {
  const std::string expected = "tanh, sigmoid or hardsigmoid";
  if (index >= info.Length() || !info[index].IsString()) throwError(info.Env(), op, std::string("'") + name + "' must be " + expected);
  const std::string s = info[index].As<Napi::String>().Utf8Value();
  if (s == "tanh") return Act::Tanh;
  if (s == "sigmoid") return Act::Sigmoid;
  if (s == "hardsigmoid") return Act::HardSigmoid;
  throwError(info.Env(), op, std::string("unsupported ") + name + " '" + s + "' (expected " + expected + ")");
}

int unaryOf(Act k) {
  return k == Act::Tanh ? U_Tanh : k == Act::Sigmoid ? U_Sigmoid : U_HardSigmoid;
}

// The activation's derivative from its output y.
template <typename A>
inline A slope(Act k, A y) {
  switch (k) {
    case Act::Tanh: return A(1) - y * y;
    case Act::Sigmoid: return y * (A(1) - y);
    default: return y > A(0) && y < A(1) ? A(0.2) : A(0);
  }
}

// An operand: absent (nullptr data) or a contiguous [N, width * H] view.
struct Operand {
  const char* name;
  const Tensor* t;
  int width;  // 1 ([N, H]) or 4 ([N, 4H])
  bool output;
};

// Rows in the compute type A (float, or double for DOUBLE) through the elementwise kernels' converters
// and activations of that type.
template <typename A>
struct Rows {
  static constexpr bool single = std::is_same_v<A, float>;
  static void load(const EwKernels& k, const Tensor& t, int64_t row, int64_t n, A* dst) {
    const auto& loads = [&]() -> const auto& { if constexpr (single) return k.loadF; else return k.loadD; }();
    loads[t.dtype](t.data + row * n * (int64_t)t.itemSize(), 1, dst, n);
  }
  static void store(const EwKernels& k, const A* src, const Tensor& t, int64_t row, int64_t n) {
    const auto& stores = [&]() -> const auto& { if constexpr (single) return k.storeF; else return k.storeD; }();
    stores[t.dtype](src, t.data + row * n * (int64_t)t.itemSize(), 1, n);
  }
  static void activate(const EwKernels& k, Act a, A* x, int64_t n) {
    const auto& unaries = [&]() -> const auto& { if constexpr (single) return k.unaryF; else return k.unaryD; }();
    unaries[unaryOf(a)](x, x, n, EwParams());
  }
};

// Per-thread scratch, reused across calls (rows are at most a few thousand elements).
template <typename A>
A* scratch(size_t n) {
  thread_local std::vector<A> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

template <typename A>
void forwardRows(const Tensor& zx, const Tensor* zh, const Tensor* cPrev, const Tensor& h, const Tensor& c,
                 const Tensor& gates, Act act, Act gate, int64_t r0, int64_t r1, int64_t H) {
  using R = Rows<A>;
  const EwKernels& k = ewKernels();
  A* z = scratch<A>((size_t)(11 * H));
  A* zt = z + 4 * H;
  A* cp = zt + 4 * H;
  A* cv = cp + H;
  A* hv = cv + H;
  for (int64_t r = r0; r < r1; ++r) {
    R::load(k, zx, r, 4 * H, z);
    if (zh) {
      R::load(k, *zh, r, 4 * H, zt);
      for (int64_t i = 0; i < 4 * H; ++i) z[i] += zt[i];
    }
    R::activate(k, act, z, H);
    R::activate(k, gate, z + H, 3 * H);
    const A *a = z, *f = z + H, *o = z + 2 * H, *g = z + 3 * H;
    if (cPrev) {
      R::load(k, *cPrev, r, H, cp);
      for (int64_t j = 0; j < H; ++j) cv[j] = f[j] * cp[j] + g[j] * a[j];
    } else {
      for (int64_t j = 0; j < H; ++j) cv[j] = g[j] * a[j];
    }
    R::store(k, cv, c, r, H);
    for (int64_t j = 0; j < H; ++j) hv[j] = cv[j];
    R::activate(k, act, hv, H);
    for (int64_t j = 0; j < H; ++j) hv[j] *= o[j];
    R::store(k, hv, h, r, H);
    R::store(k, z, gates, r, 4 * H);
  }
}

template <typename A>
void backwardRows(const Tensor& gates, const Tensor* cPrev, const Tensor& c, const Tensor* dh, const Tensor* dc,
                  const Tensor& dz, const Tensor* dcPrev, Act act, Act gate, int64_t r0, int64_t r1, int64_t H) {
  using R = Rows<A>;
  const EwKernels& k = ewKernels();
  A* G = scratch<A>((size_t)(13 * H));
  A* D = G + 4 * H;
  A* tc = D + 4 * H;
  A* gh = tc + H;
  A* gc = gh + H;
  A* cp = gc + H;
  A* dcp = cp + H;
  for (int64_t r = r0; r < r1; ++r) {
    R::load(k, gates, r, 4 * H, G);
    R::load(k, c, r, H, tc);
    R::activate(k, act, tc, H);
    if (dh) R::load(k, *dh, r, H, gh);
    else for (int64_t j = 0; j < H; ++j) gh[j] = A(0);
    if (dc) R::load(k, *dc, r, H, gc);
    else for (int64_t j = 0; j < H; ++j) gc[j] = A(0);
    if (cPrev) R::load(k, *cPrev, r, H, cp);
    else for (int64_t j = 0; j < H; ++j) cp[j] = A(0);
    const A *a = G, *f = G + H, *o = G + 2 * H, *g = G + 3 * H;
    for (int64_t j = 0; j < H; ++j) {
      // Everything that reaches c: its own gradient and h's through act(c).
      const A dct = gc[j] + gh[j] * o[j] * slope(act, tc[j]);
      D[j] = dct * g[j] * slope(act, a[j]);
      D[H + j] = dct * cp[j] * slope(gate, f[j]);
      D[2 * H + j] = gh[j] * tc[j] * slope(gate, o[j]);
      D[3 * H + j] = dct * a[j] * slope(gate, g[j]);
      dcp[j] = dct * f[j];
    }
    R::store(k, D, dz, r, 4 * H);
    if (dcPrev) R::store(k, dcp, *dcPrev, r, H);
  }
}

// The tensor at `index`, or nullptr data (absent) for null/undefined.
Tensor optionalTensor(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name, bool& present) {
  present = index < info.Length() && !info[index].IsNull() && !info[index].IsUndefined();
  return present ? parseTensor(info, index, op, name) : Tensor();
}

// Checks every operand against the first ([N, 4H] of a float dtype) and returns H; outputs must
// overlap no other operand (rows are read and written in one pass).
int64_t validate(Napi::Env env, const char* op, const std::vector<Operand>& ops) {
  const Operand& first = ops[0];
  const Tensor& f = *first.t;
  if (!isFloating(f.dtype)) {
    throwError(env, op, std::string(first.name) + " " + f.describe() + " must be a floating type (DOUBLE, FLOAT, HALF, BFLOAT16)");
  }
  if (f.rank != 2 || f.shape[1] % 4 != 0) {
    throwError(env, op, std::string(first.name) + " " + f.describe() + " must be [N, 4H] (the four gate blocks side by side)");
  }
  const int64_t N = f.shape[0], H = f.shape[1] / 4;
  for (const Operand& o : ops) {
    if (!o.t) continue;
    const Tensor& t = *o.t;
    const int64_t cols = o.width * H;
    if (t.dtype != f.dtype || t.rank != 2 || t.shape[0] != N || t.shape[1] != cols) {
      throwError(env, op, std::string(o.name) + " " + t.describe() + " must be " + dtypeName(f.dtype) + "[" +
                              std::to_string(N) + "," + std::to_string(cols) + "] for " + first.name + " " + f.describe());
    }
    if (!t.contiguous()) throwError(env, op, std::string(o.name) + " " + t.describe() + " must be contiguous");
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    for (size_t j = 0; j < ops.size(); ++j) {
      if (i == j || !ops[i].output || !ops[i].t || !ops[j].t || (ops[j].output && j < i)) continue;
      if (overlaps(*ops[i].t, *ops[j].t)) {
        throwError(env, op, std::string(ops[i].name) + " overlaps " + ops[j].name + " (an output must be its own memory)");
      }
    }
  }
  return H;
}

Napi::Value LstmCellForward(const Napi::CallbackInfo& info) {
  const char* op = "lstmCellForward";
  Napi::Env env = info.Env();
  bool hasZh, hasCPrev;
  const Tensor zx = parseTensor(info, 0, op, "zx");
  const Tensor zh = optionalTensor(info, 1, op, "zh", hasZh);
  const Tensor cPrev = optionalTensor(info, 2, op, "cPrev", hasCPrev);
  const Tensor h = parseTensor(info, 3, op, "h");
  const Tensor c = parseTensor(info, 4, op, "c");
  const Tensor gates = parseTensor(info, 5, op, "gates");
  const Act act = parseAct(info, 6, op, "activation");
  const Act gate = parseAct(info, 7, op, "gate activation");
  const Tensor* zhp = hasZh ? &zh : nullptr;
  const Tensor* cpp = hasCPrev ? &cPrev : nullptr;
  const int64_t H = validate(env, op, {{"zx", &zx, 4, false}, {"zh", zhp, 4, false}, {"cPrev", cpp, 1, false},
                                       {"h", &h, 1, true}, {"c", &c, 1, true}, {"gates", &gates, 4, true}});
  const int64_t N = zx.shape[0];
  if (N == 0 || H == 0) return env.Undefined();
  parallelFor(N, rowGrain(H), [&](int64_t r0, int64_t r1) {
    if (zx.dtype == DOUBLE) forwardRows<double>(zx, zhp, cpp, h, c, gates, act, gate, r0, r1, H);
    else forwardRows<float>(zx, zhp, cpp, h, c, gates, act, gate, r0, r1, H);
  });
  return env.Undefined();
}

Napi::Value LstmCellBackward(const Napi::CallbackInfo& info) {
  const char* op = "lstmCellBackward";
  Napi::Env env = info.Env();
  bool hasCPrev, hasDh, hasDc, hasDcPrev;
  const Tensor gates = parseTensor(info, 0, op, "gates");
  const Tensor cPrev = optionalTensor(info, 1, op, "cPrev", hasCPrev);
  const Tensor c = parseTensor(info, 2, op, "c");
  const Tensor dh = optionalTensor(info, 3, op, "dh", hasDh);
  const Tensor dc = optionalTensor(info, 4, op, "dc", hasDc);
  const Tensor dz = parseTensor(info, 5, op, "dz");
  const Tensor dcPrev = optionalTensor(info, 6, op, "dcPrev", hasDcPrev);
  const Act act = parseAct(info, 7, op, "activation");
  const Act gate = parseAct(info, 8, op, "gate activation");
  const Tensor* cpp = hasCPrev ? &cPrev : nullptr;
  const Tensor* dhp = hasDh ? &dh : nullptr;
  const Tensor* dcp = hasDc ? &dc : nullptr;
  const Tensor* dcpp = hasDcPrev ? &dcPrev : nullptr;
  const int64_t H = validate(env, op, {{"gates", &gates, 4, false}, {"cPrev", cpp, 1, false}, {"c", &c, 1, false},
                                       {"dh", dhp, 1, false}, {"dc", dcp, 1, false}, {"dz", &dz, 4, true},
                                       {"dcPrev", dcpp, 1, true}});
  if (dcpp && !cpp) {
    throwError(env, op, "dcPrev " + dcPrev.describe() + " was given without cPrev (a step without a previous cell state has no gradient for it)");
  }
  const int64_t N = gates.shape[0];
  if (N == 0 || H == 0) return env.Undefined();
  parallelFor(N, rowGrain(H), [&](int64_t r0, int64_t r1) {
    if (gates.dtype == DOUBLE) backwardRows<double>(gates, cpp, c, dhp, dcp, dz, dcpp, act, gate, r0, r1, H);
    else backwardRows<float>(gates, cpp, c, dhp, dcp, dz, dcpp, act, gate, r0, r1, H);
  });
  return env.Undefined();
}

}  // namespace

DL4TS_EXPORT("lstmCellForward", LstmCellForward);
DL4TS_EXPORT("lstmCellBackward", LstmCellBackward);

}  // namespace dl4ts
