/**
 * The cuBLAS matmul planning (src/backend/cuda/matmul-plan.ts), runnable without a GPU. Plans for
 * random views are executed by a plain-JS model of what matmul.ts does with them (contiguous
 * copies, cublasGemmStridedBatchedEx's column-major semantics and argument rules, the host loop,
 * the copy back) and compared with a float64 reference computed from the logical indices.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BYTES_PER_CALL, CUBLAS_OP_N, CUBLAS_OP_T, INT32_MAX, MAX_OUTER_CALLS, contiguousStrides, forEachOuter, matrixLayout,
  planMatmul, rangesOverlap, type GemmCall, type MatmulPlan, type OperandCopy, type View,
} from '../src/backend/cuda/matmul-plan.js';
import { Rng, unravel } from './helpers.js';

/** Row-major multi-indices of a shape. */
function* indices(shape: readonly number[]): Generator<number[]> {
  const n = shape.reduce((a, b) => a * b, 1);
  for (let lin = 0; lin < n; lin++) yield unravel(lin, shape);
}

const at = (v: View, idx: readonly number[]): number => idx.reduce((s, i, d) => s + i * v.strides[d]!, v.offset);

/** A view into a JS buffer (the model's device memory). */
interface Mem extends View {
  readonly buf: Float64Array;
}

/** out = alpha a @ b + beta out from the logical indices (beta == 0 ignores out). */
function reference(a: Mem, b: Mem, out: Mem, alpha: number, beta: number): Map<number, number> {
  const r = out.shape.length;
  const K = a.shape[r - 1]!;
  const res = new Map<number, number>();
  for (const idx of indices(out.shape)) {
    const i = idx[r - 2]!;
    const j = idx[r - 1]!;
    let s = 0;
    for (let k = 0; k < K; k++) {
      const ai = [...idx.slice(0, r - 2), i, k];
      const bi = [...idx.slice(0, r - 2), k, j];
      s += a.buf[at(a, ai)]! * b.buf[at(b, bi)]!;
    }
    const o = at(out, idx);
    res.set(o, alpha * s + (beta === 0 ? 0 : beta * out.buf[o]!));
  }
  return res;
}

/** An elementwise copy of `src` viewed with `shape` into a fresh contiguous buffer (elementwise 'identity'). */
function copyContiguous(src: Mem, shape: readonly number[]): Mem {
  const strides = contiguousStrides(shape);
  const dst: Mem = { buf: new Float64Array(shape.reduce((a, b) => a * b, 1)), offset: 0, shape, strides };
  for (const idx of indices(shape)) dst.buf[at(dst, idx)] = src.buf[at({ ...src, shape }, idx)]!;
  return dst;
}

function copyView(src: Mem, dst: Mem): void {
  for (const idx of indices(dst.shape)) dst.buf[at(dst, idx)] = src.buf[at(src, idx)]!;
}

/** cublasGemmStridedBatchedEx on column-major data, checking the argument rules cuBLAS imposes. */
function cublasModel(c: GemmCall, A: Float64Array, pa: number, B: Float64Array, pb: number, C: Float64Array, pc: number, alpha: number, beta: number): void {
  for (const [name, v] of Object.entries({ m: c.m, n: c.n, k: c.k, lda: c.lda, ldb: c.ldb, ldc: c.ldc, batch: c.batch })) {
    assert.ok(Number.isInteger(v) && v >= 0 && v <= INT32_MAX, `${name} = ${v} is not a valid int`);
  }
  assert.ok(c.lda >= Math.max(1, c.transa === CUBLAS_OP_N ? c.m : c.k), `lda ${c.lda} too small (${JSON.stringify(c)})`);
  assert.ok(c.ldb >= Math.max(1, c.transb === CUBLAS_OP_N ? c.k : c.n), `ldb ${c.ldb} too small (${JSON.stringify(c)})`);
  assert.ok(c.ldc >= Math.max(1, c.m), `ldc ${c.ldc} too small`);
  if (c.batch > 1) assert.notEqual(c.strideC, 0, 'products would write one output');
  const reads = new Set<number>();
  const writes = new Set<number>();
  for (let t = 0; t < c.batch; t++) {
    const a0 = pa + t * c.strideA;
    const b0 = pb + t * c.strideB;
    const c0 = pc + t * c.strideC;
    for (let i = 0; i < c.m; i++) {
      for (let j = 0; j < c.n; j++) {
        let s = 0;
        for (let l = 0; l < c.k; l++) {
          const ia = a0 + (c.transa === CUBLAS_OP_N ? i + l * c.lda : l + i * c.lda);
          const ib = b0 + (c.transb === CUBLAS_OP_N ? l + j * c.ldb : j + l * c.ldb);
          assert.ok(ia >= 0 && ia < A.length && ib >= 0 && ib < B.length, 'read outside the operand');
          if (A === C) reads.add(ia);
          if (B === C) reads.add(ib);
          s += A[ia]! * B[ib]!;
        }
        const ic = c0 + i + j * c.ldc;
        assert.ok(ic >= 0 && ic < C.length, 'write outside out');
        writes.add(ic);
        C[ic] = alpha * s + (beta === 0 ? 0 : beta * C[ic]!);
      }
    }
  }
  for (const w of writes) assert.ok(!reads.has(w), `cuBLAS would read element ${w} that it writes`);
}

/** What matmul.ts does with a plan, on JS buffers. */
function execute(plan: MatmulPlan, a: Mem, b: Mem, out: Mem, alpha: number, beta: number): void {
  const copied = (x: Mem, copy: OperandCopy | null): Mem => {
    if (!copy) return x;
    const t = copyContiguous(x, copy.shape);
    return { ...t, shape: x.shape, strides: copy.strides };
  };
  const A = copied(a, plan.copyA);
  const B = copied(b, plan.copyB);
  let C = out;
  if (plan.outTemp) {
    C = { buf: new Float64Array(out.shape.reduce((p, n) => p * n, 1)).fill(Number.NaN), offset: 0, shape: out.shape, strides: contiguousStrides(out.shape) };
    if (beta !== 0) copyView(out, C);
  }
  const [first, second] = plan.call.swap ? [B, A] : [A, B];
  forEachOuter(plan.outer, (oa, ob, oc) => {
    const [o1, o2] = plan.call.swap ? [ob, oa] : [oa, ob];
    cublasModel(plan.call, first.buf, first.offset + o1, second.buf, second.offset + o2, C.buf, C.offset + oc, alpha, beta);
  });
  if (plan.outTemp) copyView(C, out);
}

/** A view of `shape`: axes stored in a random order, some padded or stepped, batch dims maybe broadcast. */
function randomLayout(rng: Rng, shape: readonly number[], batchRank: number, broadcastOk: boolean, offset: number): View {
  const r = shape.length;
  const strides = new Array<number>(r).fill(0);
  const order = [...shape.keys()];
  if (rng.next() < 0.5) order.reverse();
  for (let i = order.length - 1; i > 0; i--) {
    if (rng.next() < 0.3) {
      const j = rng.int(0, i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
  }
  let s = rng.next() < 0.15 ? 2 : 1;
  for (let i = r - 1; i >= 0; i--) {
    const d = order[i]!;
    strides[d] = s;
    s *= shape[d]! + (rng.next() < 0.25 ? rng.int(1, 3) : 0);
  }
  if (broadcastOk) for (let d = 0; d < batchRank; d++) if (rng.next() < 0.3) strides[d] = 0;
  return { offset, shape, strides };
}

function alloc(rng: Rng, v: View): Mem {
  const size = v.offset + v.shape.reduce((s, n, d) => s + (n - 1) * v.strides[d]!, 0) + 1 + rng.int(0, 3);
  const buf = new Float64Array(size);
  for (let i = 0; i < size; i++) buf[i] = rng.int(-8, 9) / 4; // exact in float64: sums compare tightly
  return { ...v, buf };
}

function checkCase(a: Mem, b: Mem, out: Mem, alpha: number, beta: number, overlaps = { a: false, b: false }): MatmulPlan {
  const expected = reference(a, b, out, alpha, beta);
  const before = Float64Array.from(out.buf);
  const plan = planMatmul(a, b, out, overlaps, 4);
  execute(plan, a, b, out, alpha, beta);
  for (let i = 0; i < out.buf.length; i++) {
    const want = expected.has(i) ? expected.get(i)! : before[i]!;
    assert.ok(Math.abs(out.buf[i]! - want) <= 1e-9 * (1 + Math.abs(want)), `element ${i}: got ${out.buf[i]}, expected ${want} (plan ${JSON.stringify(plan)})`);
  }
  return plan;
}

describe('cuda matmul plan: matrix layouts', () => {
  it('reads row-major and column-major matrices in place, with their leading dimension', () => {
    assert.deepEqual(matrixLayout(3, 4, 4, 1), { order: 'row', ld: 4 });
    assert.deepEqual(matrixLayout(3, 4, 6, 1), { order: 'row', ld: 6 }); // padded rows
    assert.deepEqual(matrixLayout(3, 4, 1, 3), { order: 'col', ld: 3 }); // a transposed view
    assert.deepEqual(matrixLayout(3, 4, 1, 5), { order: 'col', ld: 5 });
  });

  it('treats the stride of a size-1 dim as free', () => {
    assert.deepEqual(matrixLayout(1, 4, 0, 1), { order: 'row', ld: 4 });
    assert.deepEqual(matrixLayout(1, 4, 99, 1), { order: 'row', ld: 4 });
    assert.deepEqual(matrixLayout(3, 1, 7, 0), { order: 'row', ld: 7 }); // a column with step 7
    assert.deepEqual(matrixLayout(3, 1, 1, 0), { order: 'row', ld: 1 });
    assert.deepEqual(matrixLayout(1, 4, 0, 2), { order: 'col', ld: 2 }); // a row with step 2
    assert.deepEqual(matrixLayout(1, 1, 0, 0), { order: 'row', ld: 1 });
  });

  it('refuses layouts cuBLAS cannot read', () => {
    assert.equal(matrixLayout(3, 4, 8, 2), null); // both strides > 1
    assert.equal(matrixLayout(3, 4, 3, 1), null); // rows overlap: ld < cols
    assert.equal(matrixLayout(3, 4, 1, 2), null); // columns overlap: ld < rows
    assert.equal(matrixLayout(3, 1, 0, 1), null); // a broadcast column
    assert.equal(matrixLayout(3, 4, 2 ** 31, 1), null); // ld beyond an int
  });
});

describe('cuda matmul plan: overlap', () => {
  it('compares element ranges', () => {
    const v = (offset: number, shape: number[], strides: number[]): View => ({ offset, shape, strides });
    assert.equal(rangesOverlap(v(0, [2, 3], [3, 1]), v(6, [2, 3], [3, 1])), false);
    assert.equal(rangesOverlap(v(0, [2, 3], [3, 1]), v(5, [2, 3], [3, 1])), true);
    assert.equal(rangesOverlap(v(0, [2, 3], [3, 1]), v(0, [3, 2], [1, 3])), true); // a transpose of itself
    assert.equal(rangesOverlap(v(10, [4], [0]), v(10, [1], [1])), true);
  });
});

describe('cuda matmul plan: chosen calls', () => {
  const view = (shape: number[], strides?: number[], offset = 0): View => ({ offset, shape, strides: strides ?? contiguousStrides(shape) });
  const none = { a: false, b: false };

  it('computes a contiguous product as out^T = b^T a^T without copies', () => {
    const p = planMatmul(view([3, 5]), view([5, 4]), view([3, 4]), none, 4);
    assert.equal(p.copyA, null);
    assert.equal(p.copyB, null);
    assert.equal(p.outTemp, false);
    assert.deepEqual(p.call, { swap: true, transa: CUBLAS_OP_N, transb: CUBLAS_OP_N, m: 4, n: 3, k: 5, lda: 4, ldb: 5, ldc: 4, strideA: 0, strideB: 0, strideC: 0, batch: 1 });
    assert.deepEqual(p.outer.shape, []);
  });

  it('turns transposed views into transpose flags', () => {
    // a = x^T for x [5, 3]; b = y^T for y [4, 5] padded to rows of 7.
    const p = planMatmul(view([3, 5], [1, 3]), view([5, 4], [1, 7]), view([3, 4]), none, 4);
    assert.equal(p.copyA, null);
    assert.equal(p.copyB, null);
    assert.equal(p.call.transa, CUBLAS_OP_T);
    assert.equal(p.call.transb, CUBLAS_OP_T);
    assert.equal(p.call.lda, 7);
    assert.equal(p.call.ldb, 3);
  });

  it('writes a column-major out directly (out = a b)', () => {
    const p = planMatmul(view([3, 5]), view([5, 4]), view([3, 4], [1, 3]), none, 4);
    assert.equal(p.outTemp, false);
    assert.equal(p.call.swap, false);
    assert.deepEqual([p.call.m, p.call.n, p.call.k, p.call.transa, p.call.transb, p.call.ldc], [3, 4, 5, CUBLAS_OP_T, CUBLAS_OP_T, 3]);
  });

  it('collapses contiguous and broadcast batch dims into one strided batch', () => {
    const p = planMatmul(view([2, 3, 4, 5]), view([2, 3, 5, 6], [0, 0, 6, 1]), view([2, 3, 4, 6]), none, 4);
    assert.equal(p.copyA, null);
    assert.equal(p.copyB, null);
    assert.equal(p.call.batch, 6);
    assert.deepEqual([p.call.strideA, p.call.strideB, p.call.strideC], [0, 20, 24]); // swapped: cuBLAS A is b
    assert.deepEqual(p.outer.shape, []);
  });

  it('loops on the host over a few batch dims that do not merge', () => {
    // a broadcast over the inner batch dim, b over the outer one.
    const p = planMatmul(view([3, 16, 4, 5], [20, 0, 5, 1]), view([3, 16, 5, 6], [0, 30, 6, 1]), view([3, 16, 4, 6]), none, 4);
    assert.equal(p.copyA, null);
    assert.equal(p.copyB, null);
    assert.equal(p.outTemp, false);
    assert.equal(p.call.batch, 16);
    assert.deepEqual(p.outer, { shape: [3], a: [20], b: [0], c: [16 * 24] });
    assert.ok(3 <= MAX_OUTER_CALLS);
  });

  it('copies small operands into a uniform batch rather than make many calls', () => {
    const p = planMatmul(view([40, 30, 4, 5], [20, 0, 5, 1]), view([40, 30, 5, 6]), view([40, 30, 4, 6]), none, 4);
    assert.deepEqual(p.copyA, { shape: [40, 30, 4, 5], strides: contiguousStrides([40, 30, 4, 5]) });
    assert.equal(p.copyB, null);
    assert.equal(p.call.batch, 1200);
    assert.deepEqual(p.outer.shape, []);
  });

  it('keeps the host loop when the copies would be large', () => {
    const M = 512;
    const p = planMatmul(view([10, 30, M, M], [M * M, 0, M, 1]), view([10, 30, M, M]), view([10, 30, M, M]), none, 4);
    assert.ok(2 * 300 * M * M * 4 >= 10 * BYTES_PER_CALL);
    assert.equal(p.copyA, null);
    assert.equal(p.outer.shape.length, 1);
    assert.equal(p.outer.shape[0]! * p.call.batch, 300);
  });

  it('copies a matrix it cannot read once per broadcast batch, and keeps it broadcast', () => {
    const p = planMatmul(view([4, 3, 5], [0, 10, 2]), view([4, 5, 2]), view([4, 3, 2]), none, 4);
    assert.deepEqual(p.copyA, { shape: [1, 3, 5], strides: [0, 5, 1] });
    assert.equal(p.call.strideB, 0); // cuBLAS B is a (swapped)
    assert.equal(p.call.batch, 4);
  });

  it('copies an input that overlaps out, unless out goes to a temporary', () => {
    const sq = view([4, 4]);
    let p = planMatmul(sq, view([4, 4]), sq, { a: true, b: false }, 4);
    assert.notEqual(p.copyA, null);
    assert.equal(p.copyB, null);
    p = planMatmul(sq, view([4, 4]), view([4, 4], [8, 2]), { a: true, b: false }, 4);
    assert.equal(p.outTemp, true);
    assert.equal(p.copyA, null);
  });

  it('refuses dimensions beyond an int', () => {
    assert.throws(() => planMatmul(view([1, 2 ** 31]), view([2 ** 31, 1]), view([1, 1]), none, 4), /matmul: K = 2147483648 exceeds cuBLAS's 32-bit/);
  });

  it('walks the host loop in row-major order', () => {
    const seen: number[][] = [];
    forEachOuter({ shape: [2, 3], a: [100, 10], b: [0, 1], c: [7, 0] }, (a, b, c) => seen.push([a, b, c]));
    const want: number[][] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) want.push([100 * i + 10 * j, j, 7 * i]);
    assert.deepEqual(seen, want);
    const once: number[][] = [];
    forEachOuter({ shape: [], a: [], b: [], c: [] }, (a, b, c) => once.push([a, b, c]));
    assert.deepEqual(once, [[0, 0, 0]]);
  });
});

describe('cuda matmul plan: executed against a reference', () => {
  it('gives alpha a@b + beta out for random views', () => {
    const rng = new Rng(20261123);
    const dims = [1, 2, 3, 5];
    const counts = { copies: 0, temps: 0, loops: 0, direct: 0 };
    for (let t = 0; t < 600; t++) {
      const batchRank = rng.int(0, 4);
      const batch = Array.from({ length: batchRank }, () => rng.int(1, 4));
      const [M, K, N] = [dims[rng.int(0, 4)]!, dims[rng.int(0, 4)]!, dims[rng.int(0, 4)]!];
      const a = alloc(rng, randomLayout(rng, [...batch, M, K], batchRank, true, rng.int(0, 4)));
      const b = alloc(rng, randomLayout(rng, [...batch, K, N], batchRank, true, rng.int(0, 4)));
      const out = alloc(rng, randomLayout(rng, [...batch, M, N], batchRank, false, rng.int(0, 4)));
      const beta = [0, 1, -0.5][rng.int(0, 3)]!;
      if (beta === 0) for (const idx of indices(out.shape)) out.buf[at(out, idx)] = Number.NaN; // beta 0 must ignore out
      const plan = checkCase(a, b, out, [1, 0.5, -2][rng.int(0, 3)]!, beta);
      if (plan.copyA || plan.copyB) counts.copies++;
      if (plan.outTemp) counts.temps++;
      if (plan.outer.shape.length) counts.loops++;
      if (!plan.copyA && !plan.copyB && !plan.outTemp) counts.direct++;
    }
    // The random views must exercise every path.
    for (const [k, n] of Object.entries(counts)) assert.ok(n >= 20, `only ${n} cases took the ${k} path`);
  });

  it('copies an input that shares memory with out (in-place gemm c = a @ c)', () => {
    const rng = new Rng(7);
    for (const n of [1, 3, 4]) {
      for (const transposed of [false, true]) {
        const base: Mem = alloc(rng, { offset: 1, shape: [n, n], strides: transposed ? [1, n] : [n, 1] });
        const other = alloc(rng, { offset: 0, shape: [n, n], strides: [n, 1] });
        const out: Mem = { ...base, strides: [n, 1] };
        const overlaps = { a: false, b: rangesOverlap(base, out) };
        const plan = checkCase(other, base, out, 1, 0.5, overlaps);
        assert.notEqual(plan.copyB, null);
      }
    }
  });

  it('copies operands of many small products into one uniform batch', () => {
    const rng = new Rng(99);
    for (let t = 0; t < 40; t++) {
      const batch = [rng.int(9, 13), rng.int(9, 13)];
      const a = alloc(rng, { offset: 0, shape: [...batch, 2, 3], strides: [6, 0, 3, 1] }); // broadcast inner batch dim
      const b = alloc(rng, randomLayout(rng, [...batch, 3, 2], 2, true, 0));
      const out = alloc(rng, randomLayout(rng, [...batch, 2, 2], 2, false, 0));
      checkCase(a, b, out, 1, rng.next() < 0.5 ? 0 : 1);
    }
  });
});
