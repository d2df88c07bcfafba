#include "tensor.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "block_cache.h"
#include "registry.h"

namespace dl4ts {

namespace {
// Atomic: worker threads (ParallelWrapper) load the same addon and allocate concurrently.
std::atomic<int64_t> liveBytes{0};
std::atomic<int64_t> liveBuffers{0};
std::atomic<int64_t> peakBytes{0};

void freeBuffer(Buffer* b) {
  if (b->data) {
    freeBlock(b->data, b->bytes);
    liveBytes -= (int64_t)b->bytes;
    --liveBuffers;
    b->data = nullptr;
  }
}
}  // namespace

std::string Tensor::describe() const {
  std::ostringstream s;
  s << dtypeName(dtype) << "[";
  for (int i = 0; i < rank; ++i) s << (i ? "," : "") << shape[i];
  s << "]";
  return s.str();
}

void throwError(Napi::Env env, const std::string& op, const std::string& msg) {
  throw Napi::Error::New(env, "dl4ts cpu " + op + ": " + msg);
}

Buffer* parseBuffer(const Napi::CallbackInfo& info, size_t index, const char* op) {
  Napi::Env env = info.Env();
  if (index >= info.Length() || !info[index].IsExternal()) {
    throwError(env, op, "argument " + std::to_string(index) + " must be a native buffer");
  }
  Buffer* b = info[index].As<Napi::External<Buffer>>().Data();
  if (!b->data && b->bytes != 0) throwError(env, op, "the buffer was already released (array closed)");
  return b;
}

// An integral double that converts to int64 without overflow ((int64_t)d is undefined beyond).
static bool isInt64(double d) { return d == std::trunc(d) && std::fabs(d) < 9.2233720368547758e18; }

double parseNumber(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name) {
  if (index >= info.Length() || !info[index].IsNumber()) {
    throwError(info.Env(), op, std::string("'") + name + "' must be a number");
  }
  return info[index].As<Napi::Number>().DoubleValue();
}

int64_t parseInt(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name) {
  double v = parseNumber(info, index, op, name);
  if (!isInt64(v)) throwError(info.Env(), op, std::string("'") + name + "' must be an integer");
  return (int64_t)v;
}

static std::vector<int64_t> toIntArray(Napi::Env env, const Napi::Value& v, const char* op, const std::string& name) {
  if (!v.IsArray()) throwError(env, op, "'" + name + "' must be an array of integers");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber()) throwError(env, op, "'" + name + "' must be an array of integers");
    double d = e.As<Napi::Number>().DoubleValue();
    if (!isInt64(d)) throwError(env, op, "'" + name + "' must be an array of integers");
    out[i] = (int64_t)d;
  }
  return out;
}

std::vector<int64_t> parseIntArray(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name) {
  if (index >= info.Length()) throwError(info.Env(), op, std::string("missing '") + name + "'");
  return toIntArray(info.Env(), info[index], op, name);
}

namespace {
// The descriptor array of one JavaScript thread (each worker thread has its own environment).
struct Descriptors {
  Napi::Reference<Napi::Float64Array> array;
  const double* data = nullptr;
};
}  // namespace

static Napi::Value SetDescriptors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throwError(env, "setDescriptors", "argument must be a Float64Array");
  }
  Napi::Float64Array a = info[0].As<Napi::Float64Array>();
  if (a.ElementLength() < (size_t)(DESCRIPTOR_SLOTS * DESCRIPTOR_STRIDE)) {
    throwError(env, "setDescriptors", "the array must hold " + std::to_string(DESCRIPTOR_SLOTS * DESCRIPTOR_STRIDE) + " numbers");
  }
  Descriptors* d = env.GetInstanceData<Descriptors>();
  if (!d) {
    d = new Descriptors();
    env.SetInstanceData(d);
  }
  d->array = Napi::Persistent(a);
  d->data = a.Data();
  return env.Undefined();
}

Tensor parseTensor(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name) {
  Napi::Env env = info.Env();
  const auto arg = [name]() { return std::string("tensor '") + name + "'"; };
  if (index >= info.Length() || info[index].IsUndefined()) throwError(env, op, arg() + " is missing");
  if (!info[index].IsExternal()) throwError(env, op, arg() + " must be a native buffer");
  Buffer* b = info[index].As<Napi::External<Buffer>>().Data();
  if (!b->data && b->bytes != 0) throwError(env, op, arg() + ": its buffer was already released (array closed)");
  const Descriptors* ds = env.GetInstanceData<Descriptors>();
  if (!ds || !ds->data) throwError(env, op, "no descriptor array was registered (setDescriptors)");
  if (index >= (size_t)DESCRIPTOR_SLOTS) throwError(env, op, arg() + " is at argument " + std::to_string(index) + ", past the descriptor slots");
  const double* d = ds->data + index * DESCRIPTOR_STRIDE;
  Tensor t;
  if (!isInt64(d[0]) || d[0] < 0 || d[0] >= DTYPE_COUNT) {
    std::ostringstream v;
    v << d[0];
    throwError(env, op, arg() + ": unknown dtype code " + v.str());
  }
  t.dtype = (int32_t)d[0];
  if (d[1] < 0 || !isInt64(d[1])) throwError(env, op, arg() + ": offset must be a non-negative integer");
  if (!isInt64(d[2]) || d[2] < 0) throwError(env, op, arg() + ": rank must be a non-negative integer");
  if (d[2] > MAX_RANK) throwError(env, op, arg() + ": rank above " + std::to_string(MAX_RANK));
  t.rank = (int)d[2];
  const double* shape = d + 3;
  const double* strides = d + 3 + MAX_RANK;
  const int64_t offset = (int64_t)d[1];
  int64_t maxOff = offset;
  int64_t count = 1;
  bool empty = false, overflow = false;
  for (int i = 0; i < t.rank; ++i) {
    if (!isInt64(shape[i])) throwError(env, op, arg() + ": its shape must be integers");
    if (!isInt64(strides[i])) throwError(env, op, arg() + ": its strides must be integers");
    if (shape[i] < 0) throwError(env, op, arg() + ": negative dimension");
    if (strides[i] < 0) throwError(env, op, arg() + ": negative stride");
    t.shape[i] = (int64_t)shape[i];
    t.strides[i] = (int64_t)strides[i];
    if (t.shape[i] == 0) empty = true;
    int64_t span = 0;
    if (t.shape[i] > 0) {
      overflow |= __builtin_mul_overflow(t.shape[i] - 1, t.strides[i], &span) || __builtin_add_overflow(maxOff, span, &maxOff);
    }
    overflow |= __builtin_mul_overflow(count, t.shape[i], &count);
  }
  if (!empty && overflow) throwError(env, op, arg() + " " + t.describe() + ": element count or extent overflows 64 bits");
  const int64_t capacity = (int64_t)(b->bytes / dtypeSize(t.dtype));
  if (!empty && maxOff >= capacity) {
    throwError(env, op, arg() + " " + t.describe() + " reaches element " + std::to_string(maxOff) +
                            " but its buffer holds " + std::to_string(capacity));
  }
  t.data = b->data + offset * (int64_t)dtypeSize(t.dtype);
  return t;
}

void requireSameShape(Napi::Env env, const char* op, const Tensor& a, const Tensor& b) {
  bool same = a.rank == b.rank;
  for (int i = 0; same && i < a.rank; ++i) same = a.shape[i] == b.shape[i];
  if (!same) throwError(env, op, "shapes differ: " + a.describe() + " and " + b.describe());
}

void requireDtype(Napi::Env env, const char* op, const Tensor& t, const char* name, bool ok, const char* expected) {
  if (!ok) throwError(env, op, std::string("'") + name + "' has dtype " + dtypeName(t.dtype) + ", expected " + expected);
}

// [lowest, highest] byte address a non-empty view can touch.
static void byteRange(const Tensor& t, const char*& lo, const char*& hi) {
  int64_t maxOff = 0;
  for (int d = 0; d < t.rank; ++d) maxOff += (t.shape[d] - 1) * t.strides[d];
  lo = t.data;
  hi = t.data + (maxOff + 1) * (int64_t)t.itemSize() - 1;
}

bool overlaps(const Tensor& a, const Tensor& b) {
  if (a.numel() == 0 || b.numel() == 0) return false;
  const char *alo, *ahi, *blo, *bhi;
  byteRange(a, alo, ahi);
  byteRange(b, blo, bhi);
  return alo <= bhi && blo <= ahi;
}

// --- buffer management exports ---------------------------------------------------------------

static Napi::Value Alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t bytes = parseInt(info, 0, "alloc", "bytes");
  if (bytes < 0) throwError(env, "alloc", "byte count must be non-negative");
  // Outputs that kernels overwrite skip the memset (it would cost a full extra pass over memory).
  const bool zeroed = info.Length() < 2 || info[1].ToBoolean().Value();
  Buffer* b = new Buffer();
  if (bytes > 0) {
    b->data = (char*)allocBlock((size_t)bytes);  // 64-byte aligned for AVX-512 loads
    if (!b->data) {
      delete b;
      throwError(env, "alloc", "out of host memory allocating " + std::to_string(bytes) + " bytes");
    }
    if (zeroed) std::memset(b->data, 0, (size_t)bytes);
    b->bytes = (size_t)bytes;
    int64_t now = liveBytes += bytes;
    ++liveBuffers;
    int64_t peak = peakBytes.load();
    while (now > peak && !peakBytes.compare_exchange_weak(peak, now)) {
    }
  }
  return Napi::External<Buffer>::New(env, b, [](Napi::Env, Buffer* buf) {
    freeBuffer(buf);
    delete buf;
  });
}

static Napi::Value Free(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsExternal()) throwError(info.Env(), "free", "argument must be a native buffer");
  freeBuffer(info[0].As<Napi::External<Buffer>>().Data());
  return info.Env().Undefined();
}

// write(buffer, byteOffset, typedArray) and read(buffer, byteOffset, typedArray) copy raw bytes.
static Napi::Value CopyBytes(const Napi::CallbackInfo& info, bool toNative) {
  const char* op = toNative ? "write" : "read";
  Napi::Env env = info.Env();
  Buffer* b = parseBuffer(info, 0, op);
  int64_t byteOffset = parseInt(info, 1, op, "byteOffset");
  if (info.Length() < 3 || !info[2].IsTypedArray()) throwError(env, op, "third argument must be a typed array");
  Napi::TypedArray ta = info[2].As<Napi::TypedArray>();
  size_t len = ta.ByteLength();
  if (byteOffset < 0 || (size_t)byteOffset + len > b->bytes) {
    throwError(env, op, "range [" + std::to_string(byteOffset) + ", " + std::to_string(byteOffset + (int64_t)len) +
                            ") is outside the buffer of " + std::to_string(b->bytes) + " bytes");
  }
  char* js = (char*)ta.ArrayBuffer().Data() + ta.ByteOffset();
  if (len) {
    if (toNative) std::memcpy(b->data + byteOffset, js, len);
    else std::memcpy(js, b->data + byteOffset, len);
  }
  return env.Undefined();
}
static Napi::Value Write(const Napi::CallbackInfo& info) { return CopyBytes(info, true); }
static Napi::Value Read(const Napi::CallbackInfo& info) { return CopyBytes(info, false); }

static Napi::Value MemInfo(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("bytes", Napi::Number::New(info.Env(), (double)liveBytes));
  o.Set("buffers", Napi::Number::New(info.Env(), (double)liveBuffers));
  o.Set("peakBytes", Napi::Number::New(info.Env(), (double)peakBytes));
  return o;
}

DL4TS_EXPORT("alloc", Alloc);
DL4TS_EXPORT("free", Free);
DL4TS_EXPORT("write", Write);
DL4TS_EXPORT("read", Read);
DL4TS_EXPORT("memInfo", MemInfo);
DL4TS_EXPORT("setDescriptors", SetDescriptors);

}  // namespace dl4ts
