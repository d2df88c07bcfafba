import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An External holding native memory. */
export type NativeBuffer = { readonly __native: unique symbol };
/**
 * A tensor argument as the addon takes it (native/cpu/API.md): its buffer, with its geometry written
 * by nativeTensor() into the descriptor slot of its argument position.
 */
export type NativeTensor = NativeBuffer & { readonly __placed: unique symbol };

/** The addon's layout of a descriptor slot: [dtype code, offset, rank, shape[32], strides[32]] (native/cpu/tensor.h). */
export const MAX_NATIVE_RANK = 32;
const DESCRIPTOR_SLOTS = 12;
const DESCRIPTOR_STRIDE = 3 + 2 * MAX_NATIVE_RANK;

/** The native CPU addon's calls (native/cpu/API.md). */
export interface NativeCpu {
  alloc(bytes: number, zeroed: boolean): NativeBuffer;
  free(buffer: NativeBuffer): void;
  write(buffer: NativeBuffer, byteOffset: number, data: ArrayBufferView): void;
  read(buffer: NativeBuffer, byteOffset: number, out: ArrayBufferView): void;
  memInfo(): { bytes: number; buffers: number; peakBytes: number };
  setDescriptors(descriptors: Float64Array): void;
  getThreads(): number;
  setThreads(n: number): void;
  unary(op: string, x: NativeTensor, out: NativeTensor, alpha: number, beta: number): void;
  binary(op: string, a: NativeTensor, b: NativeTensor, out: NativeTensor, alpha: number, beta: number): void;
  where(cond: NativeTensor, a: NativeTensor, b: NativeTensor, out: NativeTensor): void;
  reduce(op: string, x: NativeTensor, out: NativeTensor, axes: readonly number[], ddof: number): void;
  softmax(x: NativeTensor, out: NativeTensor, axis: number, log: number): void;
  softmaxGrad(y: NativeTensor, g: NativeTensor, out: NativeTensor, axis: number, log: number): void;
  gather(x: NativeTensor, indices: NativeTensor, out: NativeTensor, axis: number): void;
  scatterAdd(target: NativeTensor, indices: NativeTensor, updates: NativeTensor, axis: number): void;
  random(dist: string, out: NativeTensor, seedLo: number, seedHi: number, stream: number, p1: number, p2: number): void;
  matmul(a: NativeTensor, b: NativeTensor, out: NativeTensor, alpha: number, beta: number): void;
  im2col(x: NativeTensor, cols: NativeTensor, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, dh: number, dw: number): void;
  col2im(cols: NativeTensor, x: NativeTensor, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, dh: number, dw: number): void;
  pool2d(op: string, x: NativeTensor, out: NativeTensor, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, dh: number, dw: number, countIncludePad: number): void;
  pool2dGrad(op: string, x: NativeTensor, gradOut: NativeTensor, gradIn: NativeTensor, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, dh: number, dw: number, countIncludePad: number): void;
  adamStep(p: NativeTensor, g: NativeTensor, m: NativeTensor, v: NativeTensor, beta1: number, beta2: number, epsilon: number, alpha: number, decay: number): void;
  lstmCellForward(zx: NativeTensor, zh: NativeTensor | null, cPrev: NativeTensor | null, h: NativeTensor, c: NativeTensor, gates: NativeTensor, activation: string, gate: string): void;
  lstmCellBackward(gates: NativeTensor, cPrev: NativeTensor | null, c: NativeTensor, dh: NativeTensor | null, dc: NativeTensor | null, dz: NativeTensor, dcPrev: NativeTensor | null, activation: string, gate: string): void;
}

/** Finds build/Release/dl4ts_cpu.node from the package root (src and dist/src both work). */
function addonPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'build', 'Release', 'dl4ts_cpu.node');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('dl4ts: the native CPU addon (build/Release/dl4ts_cpu.node) is missing; run `npm install` or `npm run build:native`');
}

let loaded: NativeCpu | undefined;
/** This thread's descriptor array, registered with the addon when it loads (each worker thread has its own). */
let descriptors: Float64Array | undefined;

export function nativeCpu(): NativeCpu {
  if (!loaded) {
    const addon = createRequire(import.meta.url)(addonPath()) as NativeCpu;
    if (typeof addon.setDescriptors !== 'function') {
      throw new Error('dl4ts: the native CPU addon predates this package (it has no setDescriptors); rebuild it with `npm run build:native`');
    }
    const d = new Float64Array(DESCRIPTOR_SLOTS * DESCRIPTOR_STRIDE);
    addon.setDescriptors(d);
    descriptors = d;
    loaded = addon;
  }
  return loaded;
}

/**
 * Tensor argument number `slot` of a native call (its position among the call's arguments): writes
 * its geometry into that descriptor slot and returns what to pass. The values are written as given;
 * the addon validates them against the buffer before touching memory.
 */
export function nativeTensor(slot: number, buffer: NativeBuffer, dtype: number, offset: number, shape: readonly number[], strides: readonly number[]): NativeTensor {
  if (!descriptors) nativeCpu();
  const d = descriptors!;
  if (!Number.isInteger(slot) || slot < 0 || slot >= DESCRIPTOR_SLOTS) throw new Error(`dl4ts cpu tensor argument ${slot}: past the ${DESCRIPTOR_SLOTS} descriptor slots`);
  if (shape.length !== strides.length) throw new Error(`dl4ts cpu tensor argument ${slot}: its shape [${shape.join(',')}] and strides [${strides.join(',')}] differ in length`);
  const o = slot * DESCRIPTOR_STRIDE;
  d[o] = dtype;
  d[o + 1] = offset;
  // A rank above the addon's limit is written as it is (the addon refuses it by name); only the slot's room is filled.
  d[o + 2] = shape.length;
  const n = Math.min(shape.length, MAX_NATIVE_RANK);
  for (let i = 0; i < n; i++) {
    d[o + 3 + i] = shape[i]!;
    d[o + 3 + MAX_NATIVE_RANK + i] = strides[i]!;
  }
  return buffer as NativeTensor;
}
