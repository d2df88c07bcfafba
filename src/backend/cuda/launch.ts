import { addressOf, cu, check, type DevicePtr, type Handle } from './driver.js';

/** Kernel parameter kinds, in the order a kernel declares them. `desc` is kernels/cuda/common.cuh's TensorDesc. */
export type ParamKind = 'ptr' | 'desc' | 'i64' | 'i32' | 'f64' | 'f32';

export const MAX_KERNEL_RANK = 8;
const DESC_BYTES = MAX_KERNEL_RANK * 8 * 2 + 8; // shape[8], strides[8] (int64), rank (int32) + padding

export interface KernelDesc {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
}

export type ParamValue = number | KernelDesc;

const sizes: Record<ParamKind, number> = { ptr: 8, desc: DESC_BYTES, i64: 8, i32: 4, f64: 8, f32: 4 };

// CUlaunchConfig, in 32-bit words: gridDim x y z, blockDim x y z, sharedMemBytes, then (8-aligned) the
// stream handle, the attribute array and its length.
const CONFIG_BYTES = 56;
const GRID_X = 0;
const GRID_Y = 1;
const BLOCK_X = 3;
const SHARED = 6;
const STREAM = 8;

/**
 * A compiled kernel with its parameter layout. Each parameter has a fixed slot in one host buffer, and
 * the pointer array and launch configuration the driver reads are built once, so a launch only writes
 * the values.
 */
export class Kernel {
  private readonly values: Buffer;
  private readonly pointers: Buffer;
  private readonly fnAddress: DevicePtr;
  private readonly pointersAddress: DevicePtr;
  private readonly config: Uint32Array;
  private readonly configAddress: DevicePtr;
  private readonly offsets: number[];
  private readonly i32: Int32Array;
  private readonly f32: Float32Array;
  private readonly f64: Float64Array;
  private readonly callName: string;

  constructor(
    readonly name: string,
    fn: Handle,
    private readonly kinds: readonly ParamKind[],
  ) {
    this.callName = `cuLaunchKernelEx(${name})`;
    this.fnAddress = addressOf(fn);
    let off = 0;
    this.offsets = kinds.map((k) => {
      const at = off;
      off += Math.ceil(sizes[k] / 8) * 8;
      return at;
    });
    this.values = Buffer.alloc(Math.max(off, 8));
    this.pointers = Buffer.alloc(8 * Math.max(kinds.length, 1));
    // Node buffers do not move: the pointer array and the values it points at keep their addresses.
    const base = BigInt(addressOf(this.values));
    this.offsets.forEach((o, i) => this.pointers.writeBigUInt64LE(base + BigInt(o), 8 * i));
    this.pointersAddress = addressOf(this.pointers);
    const config = Buffer.alloc(CONFIG_BYTES);
    this.config = new Uint32Array(config.buffer, config.byteOffset, CONFIG_BYTES >> 2);
    this.config.fill(1, 0, 6);
    this.configAddress = addressOf(config);
    const ab = this.values.buffer;
    this.i32 = new Int32Array(ab, this.values.byteOffset, this.values.byteLength >> 2);
    this.f32 = new Float32Array(ab, this.values.byteOffset, this.values.byteLength >> 2);
    this.f64 = new Float64Array(ab, this.values.byteOffset, this.values.byteLength >> 3);
  }

  private writeI64(byteOffset: number, v: number): void {
    writeWords(this.i32, byteOffset >> 2, v);
  }

  /** `stream`: the address of the stream's handle (CudaDevice.streamAddress). */
  launch(grid: number, block: number, stream: DevicePtr, args: readonly ParamValue[], op: string, shared = 0, gridY = 1): void {
    if (args.length !== this.kinds.length) throw new Error(`${op}: kernel ${this.name} takes ${this.kinds.length} parameters, got ${args.length}`);
    for (let i = 0; i < args.length; i++) {
      const o = this.offsets[i]!;
      const v = args[i]!;
      switch (this.kinds[i]) {
        case 'ptr':
        case 'i64':
          this.writeI64(o, v as number);
          break;
        case 'i32':
          this.i32[o >> 2] = v as number;
          break;
        case 'f32':
          this.f32[o >> 2] = v as number;
          break;
        case 'f64':
          this.f64[o >> 3] = v as number;
          break;
        case 'desc': {
          const d = v as KernelDesc;
          for (let k = 0; k < MAX_KERNEL_RANK; k++) {
            this.writeI64(o + 8 * k, d.shape[k] ?? 1);
            this.writeI64(o + 64 + 8 * k, d.strides[k] ?? 0);
          }
          this.i32[(o + 128) >> 2] = d.shape.length;
          break;
        }
      }
    }
    const c = this.config;
    c[GRID_X] = grid;
    c[GRID_Y] = gridY;
    c[BLOCK_X] = block;
    c[SHARED] = shared;
    writeWords(c, STREAM, stream);
    const status = cu().launchKernelEx(this.configAddress, this.fnAddress, this.pointersAddress, 0);
    if (status !== 0) check(status, this.callName, op);
  }
}

/** Writes a non-negative integer below 2^53 as a little-endian 64-bit value into two 32-bit words. */
function writeWords(words: Int32Array | Uint32Array, at: number, v: number): void {
  words[at] = v >>> 0; // low word (ToUint32 is exact modulo 2^32 for integers below 2^53)
  words[at + 1] = Math.floor(v / 4294967296);
}
