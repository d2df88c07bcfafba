import type { Backend, TensorRef } from '../backend/backend.js';
import { type GradNode } from '../autodiff/tape.js';
import { type DataType, dtypeSize, isFloating, isHalfFloat, storageArray, type NumericArray, type StorageArray } from './dtype.js';
import { type IndexSpec } from './indexing.js';
import { trackInScope, type ScopedResource } from './scope.js';
import { contiguousStrides, formatShape, isContiguous, sizeOf, type Shape } from './shape.js';
import { OpenHandles, Storage } from './storage.js';
import { SafetyNet, SafetyNetState, type SafetyNetMember } from './safety-net.js';
import { formatArray } from './format.js';
import * as ops from '../ops/index.js';

/** Set while ownedShare() constructs its handle. */
let creatingOwnedHandle = false;

/** Releases the storage of array handles that were never closed, when they become unreachable. */
const unreachable = new SafetyNet<Storage, NDArray>((storage) => {
  OpenHandles.count--;
  storage.release();
});

export type NestedArray = number | boolean | NestedArray[];

/**
 * An n-dimensional array on a backend (ND4J's INDArray): a strided view of a shared storage.
 * Views (reshape, permute, get, broadcast) share storage; `dup()` copies. Storage is released by
 * close() / `using`, by the scope that created the array, or when the array becomes unreachable.
 */
export class NDArray implements ScopedResource, Disposable, TensorRef, SafetyNetMember<Storage> {
  private store: Storage | null;
  /** @internal Kept by the GC safety net. */
  safetyNetState = SafetyNetState.None;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DataType;

  /** Whether gradients flow to this array (set on leaves with requireGrad()). */
  requiresGrad = false;
  /** The accumulated gradient of a leaf after backward(). */
  grad: NDArray | null = null;
  /** The operation that produced this array, when it was recorded for autograd. */
  gradNode: GradNode | null = null;

  /** Takes over one reference to `storage`. Internal: use the creation functions. */
  constructor(storage: Storage, dtype: DataType, shape: Shape, strides?: readonly number[], offset = 0) {
    this.store = storage;
    this.dtype = dtype;
    this.shape = shape.slice();
    this.strides = strides ? strides.slice() : contiguousStrides(shape);
    this.offset = offset;
    OpenHandles.count++;
    // Arrays made inside a scope are released by it; only those that escape need the GC safety net
    // (registering every temporary costs more than the kernel of a small op). Handles made for an
    // owner that releases them itself (autograd's saved values) skip both.
    if (!creatingOwnedHandle && !trackInScope(this)) this.escape();
  }

  /** Puts this array under the GC safety net (once). */
  escape(): void {
    if (this.store) unreachable.add(this);
  }

  /** @internal What the safety net releases if this handle becomes unreachable while open. */
  safetyNetHeld(): Storage | undefined {
    return this.store ?? undefined;
  }

  /** A new, zero-filled, contiguous array. */
  static empty(shape: Shape, dtype: DataType, backend: Backend): NDArray {
    return new NDArray(Storage.allocate(backend, dtype, sizeOf(shape) * dtypeSize(dtype), true), dtype, shape);
  }

  /** A new contiguous array whose values are undefined: for kernel outputs that write every element. */
  static uninitialized(shape: Shape, dtype: DataType, backend: Backend): NDArray {
    return new NDArray(Storage.allocate(backend, dtype, sizeOf(shape) * dtypeSize(dtype), false), dtype, shape);
  }

  get storage(): Storage {
    if (!this.store || this.store.released) throw new Error(`dl4ts: this ${this.dtype}${formatShape(this.shape)} array was closed`);
    return this.store;
  }

  get backend(): Backend {
    return this.storage.backend;
  }

  get buffer(): Storage['buffer'] {
    return this.storage.buffer;
  }

  get closed(): boolean {
    return this.store === null;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }

  get isContiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }

  get storageVersion(): number {
    return this.storage.version;
  }

  /** Marks an in-place write (autograd checks saved values against it). */
  bumpVersion(): void {
    this.storage.version++;
  }

  /** A view with the given geometry on the same storage. No autograd: see ops for differentiable views. */
  view(shape: Shape, strides: readonly number[], offset: number): NDArray {
    const s = this.storage;
    s.retain();
    return new NDArray(s, this.dtype, shape, strides, offset);
  }

  /** Another handle on the same values and geometry, closed independently. */
  share(): NDArray {
    return this.view(this.shape, this.strides, this.offset);
  }

  /**
   * A share() outside every scope and without the GC safety net: the caller owns it and must close
   * it, or put it under a safety net of its own (autograd registers one per graph node, not per value).
   */
  ownedShare(): NDArray {
    creatingOwnedHandle = true;
    try {
      return this.share();
    } finally {
      creatingOwnedHandle = false;
    }
  }

  /** Releases this handle's storage reference now. Idempotent. */
  close(): void {
    if (!this.store) return;
    unreachable.remove(this);
    OpenHandles.count--;
    const s = this.store;
    this.store = null;
    s.release();
    if (this.grad) {
      this.grad.close();
      this.grad = null;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Marks this array as a leaf whose gradient backward() computes. Only floating arrays can. */
  requireGrad(flag = true): this {
    if (flag && !isFloating(this.dtype)) throw new Error(`requireGrad: only floating arrays have gradients, this one is ${this.dtype}`);
    this.requiresGrad = flag;
    return this;
  }

  // ---- reading values back ------------------------------------------------------------------

  /** The raw storage values, row-major, copied to JavaScript (16-bit floats as bits). */
  rawData(): StorageArray {
    const src = this.isContiguous ? this : ops.dup(this);
    try {
      const out = storageArray(this.dtype, this.size);
      src.backend.read(src.buffer, src.offset * dtypeSize(this.dtype), out);
      return out;
    } finally {
      if (src !== this) src.close();
    }
  }

  /** Values row-major in a typed array: Float32Array for HALF/BFLOAT16, BigInt64Array for INT64. */
  data(): NumericArray {
    if (isHalfFloat(this.dtype)) {
      const wide = ops.cast(this, 'FLOAT');
      try {
        return wide.rawData() as Float32Array;
      } finally {
        wide.close();
      }
    }
    return this.rawData() as NumericArray;
  }

  /** Values as plain numbers, row-major. */
  toFlatArray(): number[] {
    const d = this.data();
    const out = new Array<number>(d.length);
    for (let i = 0; i < d.length; i++) out[i] = Number(d[i]!);
    return out;
  }

  /** Nested JS arrays (booleans for BOOL). */
  toArray(): NestedArray {
    const flat = this.toFlatArray();
    const asValue = (v: number): number | boolean => (this.dtype === 'BOOL' ? v !== 0 : v);
    if (this.rank === 0) return asValue(flat[0]!);
    const build = (axis: number, start: number): NestedArray[] => {
      const n = this.shape[axis]!;
      const inner = sizeOf(this.shape.slice(axis + 1));
      const out: NestedArray[] = new Array<NestedArray>(n);
      for (let i = 0; i < n; i++) out[i] = axis === this.rank - 1 ? asValue(flat[start + i]!) : build(axis + 1, start + i * inner);
      return out;
    };
    return build(0, 0);
  }

  /** The single value of a one-element array. */
  item(): number {
    if (this.size !== 1) throw new Error(`item: expected an array of one element, got shape ${formatShape(this.shape)}`);
    return this.toFlatArray()[0]!;
  }

  toString(): string {
    return formatArray(this.shape, this.toFlatArray(), this.dtype);
  }

  // ---- views and copies ---------------------------------------------------------------------

  get(...specs: IndexSpec[]): NDArray {
    return ops.getView(this, specs);
  }

  reshape(...shape: number[] | [readonly number[]]): NDArray {
    return ops.reshape(this, flattenArgs(shape));
  }

  permute(...axes: number[] | [readonly number[]]): NDArray {
    return ops.permute(this, flattenArgs(axes));
  }

  /** Reverses the axes (a 2-D transpose). */
  transpose(): NDArray {
    return ops.transpose(this);
  }

  broadcastTo(shape: Shape): NDArray {
    return ops.broadcastTo(this, shape);
  }

  squeeze(axis?: number | readonly number[]): NDArray {
    return ops.squeeze(this, axis);
  }

  expandDims(axis: number): NDArray {
    return ops.expandDims(this, axis);
  }

  /** A contiguous copy. */
  dup(): NDArray {
    return ops.dup(this);
  }

  castTo(dtype: DataType): NDArray {
    return ops.cast(this, dtype);
  }

  /** A copy on another backend ('cpu', 'cuda', 'cuda:1', or a Backend). */
  toBackend(backend: Backend | string): NDArray {
    return ops.toBackend(this, backend);
  }

  toCpu(): NDArray {
    return ops.toBackend(this, 'cpu');
  }

  /** A copy on GPU `device` (its ordinal: the 'cuda' backend for 0, 'cuda:<k>' for k). */
  toDevice(device = 0): NDArray {
    if (!Number.isInteger(device) || device < 0) throw new Error(`toDevice: expected a GPU ordinal (an integer >= 0), got ${String(device)}`);
    return ops.toBackend(this, device === 0 ? 'cuda' : `cuda:${device}`);
  }

  // ---- arithmetic (ND4J names; `i` suffix = in place) -------------------------------------------

  add(other: NDArray | number): NDArray {
    return ops.add(this, other);
  }

  sub(other: NDArray | number): NDArray {
    return ops.sub(this, other);
  }

  mul(other: NDArray | number): NDArray {
    return ops.mul(this, other);
  }

  div(other: NDArray | number): NDArray {
    return ops.div(this, other);
  }

  neg(): NDArray {
    return ops.neg(this);
  }

  /** Matrix product (ND4J's mmul). */
  mmul(other: NDArray): NDArray {
    return ops.matmul(this, other);
  }

  addi(other: NDArray | number): this {
    ops.binaryInPlace('add', this, other);
    return this;
  }

  subi(other: NDArray | number): this {
    ops.binaryInPlace('sub', this, other);
    return this;
  }

  muli(other: NDArray | number): this {
    ops.binaryInPlace('mul', this, other);
    return this;
  }

  divi(other: NDArray | number): this {
    ops.binaryInPlace('div', this, other);
    return this;
  }

  /** Copies values (broadcast, cast) into this array or view, in place. */
  assign(value: NDArray | number): this {
    ops.assign(this, value);
    return this;
  }

  sum(axes?: number | readonly number[], keepDims = false): NDArray {
    return ops.sum(this, axes, keepDims);
  }

  mean(axes?: number | readonly number[], keepDims = false): NDArray {
    return ops.mean(this, axes, keepDims);
  }

  max(axes?: number | readonly number[], keepDims = false): NDArray {
    return ops.max(this, axes, keepDims);
  }

  min(axes?: number | readonly number[], keepDims = false): NDArray {
    return ops.min(this, axes, keepDims);
  }

  argmax(axis?: number, keepDims = false): NDArray {
    return ops.argmax(this, axis, keepDims);
  }

  /** Reverse-mode autodiff from this (scalar unless `grad` is given); fills `.grad` of leaves. */
  backward(grad?: NDArray, options?: { retainGraph?: boolean }): void {
    ops.backward(this, grad, options);
  }
}

function flattenArgs(args: number[] | [readonly number[]]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? [...(args[0] as readonly number[])] : (args as number[]);
}
