import { contiguousStrides } from '../../ndarray/shape.js';
import { coalesce } from './tensor.js';

export { contiguousStrides };

/**
 * Pure planning of matmul on cuBLAS (no device calls, so it is unit-tested on the CPU).
 *
 * cuBLAS is column-major. A row-major matrix [R, C] with strides (rs, 1) is, in memory, the
 * column-major C x R matrix X^T with leading dimension rs; one with strides (1, cs) is the
 * column-major R x C matrix X itself. So every operand whose last two strides are (ld, 1) or (1, ld)
 * is read in place, a transposed view being only a transpose flag. When out is row-major we
 * compute out^T = b^T a^T (m = N, n = M, cuBLAS's A is b); when out is column-major, out = a b
 * directly. In both cases an operand stored in the same order as out needs no transpose flag and
 * one stored in the other order gets CUBLAS_OP_T.
 */

export const CUBLAS_OP_N = 0;
export const CUBLAS_OP_T = 1;
export type CublasOp = typeof CUBLAS_OP_N | typeof CUBLAS_OP_T;

/** cuBLAS's m, n, k, leading dimensions and batch count are 32-bit ints. */
export const INT32_MAX = 2 ** 31 - 1;

/** Host loops of at most this many cuBLAS calls are preferred to copying operands into a uniform batch. */
export const MAX_OUTER_CALLS = 8;
/**
 * Beyond MAX_OUTER_CALLS, a loop still wins when the copies would move more than this many bytes
 * per extra call: one call costs ~10-15 us of host time, while the copy (read + write) of 16 MiB
 * takes about as long on an H100 and also needs the memory.
 */
export const BYTES_PER_CALL = 16 * 1024 * 1024;

export type MatrixOrder = 'row' | 'col';

/** How cuBLAS reads one matrix in place: row-major (the stored matrix is its transpose) or column-major. */
export interface MatrixLayout {
  readonly order: MatrixOrder;
  readonly ld: number;
}

/** A strided view in elements (a TensorRef without buffer and dtype). */
export interface View {
  readonly offset: number;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
}

/**
 * The layout of a logical [rows, cols] matrix with strides (rs, cs) as cuBLAS can read it, or null
 * when it needs a copy. Size-1 dims are free (their stride is never used); the leading dimension
 * must be at least the stored column's length, as cuBLAS requires, and fit in an int.
 */
export function matrixLayout(rows: number, cols: number, rs: number, cs: number): MatrixLayout | null {
  if (cs === 1 || cols === 1) {
    const ld = rows === 1 ? Math.max(1, cols) : rs;
    if (ld >= Math.max(1, cols) && ld <= INT32_MAX) return { order: 'row', ld };
  }
  if (rs === 1 || rows === 1) {
    const ld = cols === 1 ? Math.max(1, rows) : cs;
    if (ld >= Math.max(1, rows) && ld <= INT32_MAX) return { order: 'col', ld };
  }
  return null;
}

/** Whether two non-empty views of one buffer (same element type) can touch a common element. */
export function rangesOverlap(x: View, y: View): boolean {
  const last = (v: View): number => v.offset + v.shape.reduce((s, n, d) => s + (n - 1) * v.strides[d]!, 0);
  return x.offset <= last(y) && y.offset <= last(x);
}

/**
 * An input copied into a contiguous temporary before the product. `shape` is what is copied (the
 * operand's shape, with broadcast batch dims kept at 1 when the copy may stay broadcast, so their
 * data is copied once); `strides` are how the product then reads the temporary as the full operand
 * (0 on those broadcast dims).
 */
export interface OperandCopy {
  readonly shape: number[];
  readonly strides: number[];
}

/** One cublasGemmStridedBatchedEx call (batch 1: cublasGemmEx), operands as cuBLAS names them. */
export interface GemmCall {
  /** cuBLAS's A is our b (out^T = b^T a^T, out row-major) or our a (out = a b, out column-major). */
  readonly swap: boolean;
  readonly transa: CublasOp;
  readonly transb: CublasOp;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly lda: number;
  readonly ldb: number;
  readonly ldc: number;
  /** Element strides between consecutive products (0 for a broadcast operand). */
  readonly strideA: number;
  readonly strideB: number;
  readonly strideC: number;
  readonly batch: number;
}

/** Batch dims walked on the host, one call each: their extents and each operand's element strides. */
export interface OuterLoop {
  readonly shape: number[];
  readonly a: number[];
  readonly b: number[];
  readonly c: number[];
}

export interface MatmulPlan {
  readonly copyA: OperandCopy | null;
  readonly copyB: OperandCopy | null;
  /** out is computed into a contiguous temporary of out's shape and copied into out afterwards. */
  readonly outTemp: boolean;
  readonly call: GemmCall;
  readonly outer: OuterLoop;
}

const isBroadcast = (shape: readonly number[], strides: readonly number[], d: number): boolean => shape[d]! > 1 && strides[d] === 0;

/** A copy that keeps the broadcast batch dims broadcast (their data copied once). */
function compactCopy(v: View, batchRank: number): OperandCopy {
  const shape = v.shape.map((n, d) => (d < batchRank && isBroadcast(v.shape, v.strides, d) ? 1 : n));
  const strides = contiguousStrides(shape).map((s, d) => (shape[d] !== v.shape[d] ? 0 : s));
  return { shape, strides };
}

/** A copy that materializes every batch dim, so the batch is uniform whatever the other operands do. */
function fullCopy(v: View): OperandCopy {
  return { shape: [...v.shape], strides: contiguousStrides(v.shape) };
}

/** Batch dims walk as one uniform stride when they merge into at most one dim. */
function uniform(batchShape: readonly number[], strides: readonly number[]): boolean {
  return coalesce(batchShape, [strides]).shape.length <= 1;
}

function product(xs: readonly number[]): number {
  return xs.reduce((p, x) => p * x, 1);
}

/**
 * Plans out = alpha * a @ b + beta * out for validated views: a [..., M, K], b [..., K, N],
 * out [..., M, N] with equal batch dims, M, N, K >= 1 and no empty batch dim. `overlaps` says
 * which input shares memory with out (it is copied unless out goes to a temporary anyway);
 * `itemSize` is the element size in bytes (for the loop-or-copy choice).
 */
export function planMatmul(
  a: View,
  b: View,
  out: View,
  overlaps: { readonly a: boolean; readonly b: boolean },
  itemSize: number,
): MatmulPlan {
  const r = out.shape.length;
  const br = r - 2;
  const M = out.shape[r - 2]!;
  const N = out.shape[r - 1]!;
  const K = a.shape[r - 1]!;
  const batchShape = out.shape.slice(0, br);
  for (const [name, v] of [['M', M], ['N', N], ['K', K]] as const) {
    if (v > INT32_MAX) throw new Error(`matmul: ${name} = ${v} exceeds cuBLAS's 32-bit dimension limit (${INT32_MAX})`);
  }

  let outTemp = matrixLayout(M, N, out.strides[r - 2]!, out.strides[r - 1]!) === null;
  const needsCopy = (v: View, rows: number, cols: number, overlapsOut: boolean): boolean =>
    matrixLayout(rows, cols, v.strides[r - 2]!, v.strides[r - 1]!) === null || (overlapsOut && !outTemp);
  let copyA = needsCopy(a, M, K, overlaps.a) ? compactCopy(a, br) : null;
  let copyB = needsCopy(b, K, N, overlaps.b) ? compactCopy(b, br) : null;

  const batchStrides = (v: View, copy: OperandCopy | null): number[] => (copy ? copy.strides : v.strides).slice(0, br);
  const outStrides = (): number[] => (outTemp ? contiguousStrides(out.shape) : [...out.strides]);
  let joint = coalesce(batchShape, [batchStrides(a, copyA), batchStrides(b, copyB), outStrides().slice(0, br)]);

  if (joint.shape.length > 1) {
    // Several batch dims that do not merge: loop over all but the longest, or copy the operands
    // whose batch is not uniform on its own (after which every operand's batch merges into one dim).
    const longest = Math.max(...joint.shape);
    const calls = product(joint.shape) / longest;
    let copyBytes = 0;
    const fixA = !uniform(batchShape, batchStrides(a, copyA));
    const fixB = !uniform(batchShape, batchStrides(b, copyB));
    const fixOut = !uniform(batchShape, outStrides().slice(0, br));
    if (fixA) copyBytes += 2 * product(a.shape) * itemSize;
    if (fixB) copyBytes += 2 * product(b.shape) * itemSize;
    if (fixOut) copyBytes += 2 * product(out.shape) * itemSize;
    if (calls > MAX_OUTER_CALLS && copyBytes < calls * BYTES_PER_CALL) {
      if (fixA) copyA = fullCopy(a);
      if (fixB) copyB = fullCopy(b);
      if (fixOut) outTemp = true;
      joint = coalesce(batchShape, [batchStrides(a, copyA), batchStrides(b, copyB), outStrides().slice(0, br)]);
    }
  }

  // The longest merged batch dim goes to cuBLAS as its strided batch; the others are the host loop.
  let inner = -1;
  joint.shape.forEach((n, i) => {
    if (inner < 0 || n > joint.shape[inner]!) inner = i;
  });
  const outer: OuterLoop = { shape: [], a: [], b: [], c: [] };
  joint.shape.forEach((n, i) => {
    if (i === inner) return;
    outer.shape.push(n);
    outer.a.push(joint.strides[0]![i]!);
    outer.b.push(joint.strides[1]![i]!);
    outer.c.push(joint.strides[2]![i]!);
  });
  const batch = inner < 0 ? 1 : joint.shape[inner]!;
  const stride = (k: number): number => (inner < 0 ? 0 : joint.strides[k]![inner]!);

  const matrix = (v: View, copy: OperandCopy | null, rows: number, cols: number): MatrixLayout => {
    const s = copy ? copy.strides : v.strides;
    return matrixLayout(rows, cols, s[r - 2]!, s[r - 1]!)!;
  };
  const la = matrix(a, copyA, M, K);
  const lb = matrix(b, copyB, K, N);
  const oStrides = outStrides();
  const lo = matrixLayout(M, N, oStrides[r - 2]!, oStrides[r - 1]!)!;
  const op = (l: MatrixLayout): CublasOp => (l.order === lo.order ? CUBLAS_OP_N : CUBLAS_OP_T);
  const swap = lo.order === 'row';
  const call: GemmCall = swap
    ? { swap, transa: op(lb), transb: op(la), m: N, n: M, k: K, lda: lb.ld, ldb: la.ld, ldc: lo.ld, strideA: stride(1), strideB: stride(0), strideC: stride(2), batch }
    : { swap, transa: op(la), transb: op(lb), m: M, n: N, k: K, lda: la.ld, ldb: lb.ld, ldc: lo.ld, strideA: stride(0), strideB: stride(1), strideC: stride(2), batch };
  return { copyA, copyB, outTemp, call, outer };
}

/** Calls fn with the element offsets of a, b and out for each host-loop iteration, row-major. */
export function forEachOuter(outer: OuterLoop, fn: (a: number, b: number, c: number) => void): void {
  const rank = outer.shape.length;
  const count = product(outer.shape);
  const idx = new Array<number>(rank).fill(0);
  let oa = 0;
  let ob = 0;
  let oc = 0;
  for (let i = 0; i < count; i++) {
    fn(oa, ob, oc);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      oa += outer.a[d]!;
      ob += outer.b[d]!;
      oc += outer.c[d]!;
      if (idx[d]! < outer.shape[d]!) break;
      oa -= outer.a[d]! * outer.shape[d]!;
      ob -= outer.b[d]! * outer.shape[d]!;
      oc -= outer.c[d]! * outer.shape[d]!;
      idx[d] = 0;
    }
  }
}
