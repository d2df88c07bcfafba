import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An External holding native memory. */
export type NativeBuffer = { readonly __native: unique symbol };
/** [buffer, dtype code, offset, shape, strides], as native/cpu/API.md describes. */
export type NativeTensor = [NativeBuffer, number, number, readonly number[], readonly number[]];

/** The native CPU addon's calls (native/cpu/API.md). */
export interface NativeCpu {
  alloc(bytes: number, zeroed: boolean): NativeBuffer;
  free(buffer: NativeBuffer): void;
  write(buffer: NativeBuffer, byteOffset: number, data: ArrayBufferView): void;
  read(buffer: NativeBuffer, byteOffset: number, out: ArrayBufferView): void;
  memInfo(): { bytes: number; buffers: number; peakBytes: number };
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

export function nativeCpu(): NativeCpu {
  if (!loaded) loaded = createRequire(import.meta.url)(addonPath()) as NativeCpu;
  return loaded;
}
