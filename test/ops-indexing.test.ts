import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allIndices, array, gather, oneHot, scatterAdd, type DataType, type NDArray } from '../src/index.js';
import { assertClose, assertShape, flat, LAYOUTS, randomRef, Ref, toNd } from './opsb-util.js';

/** An index array of `shape` with values below `bound` (duplicates included), as plain numbers and as an NDArray. */
function indexArray(shape: readonly number[], bound: number, dtype: 'INT32' | 'INT64', seed: number): { idx: number[]; nd: NDArray } {
  const n = shape.reduce((a, b) => a * b, 1);
  const idx: number[] = [];
  for (let i = 0; i < n; i++) idx.push((i * 7 + seed * 3 + (i % 3) * 5) % bound);
  const nd = dtype === 'INT32' ? array(Int32Array.from(idx), [...shape]) : array(BigInt64Array.from(idx.map(BigInt)), [...shape]);
  return { idx, nd };
}

/** Splits coordinates of a gathered array into (before, index-coords, after) and returns the source coordinates. */
function sourceCoords(c: readonly number[], axis: number, idxShape: readonly number[], idx: readonly number[]): number[] {
  const ic = c.slice(axis, axis + idxShape.length);
  let k = 0;
  let s = 1;
  for (let i = idxShape.length - 1; i >= 0; i--) {
    k += ic[i]! * s;
    s *= idxShape[i]!;
  }
  return [...c.slice(0, axis), idx[k]!, ...c.slice(axis + idxShape.length)];
}

function refGather(x: Ref, axis: number, idxShape: readonly number[], idx: readonly number[]): Ref {
  const out = new Ref([...x.shape.slice(0, axis), ...idxShape, ...x.shape.slice(axis + 1)]);
  out.forEach((c, k) => (out.data[k] = x.get(...sourceCoords(c, axis, idxShape, idx))));
  return out;
}

/** target + updates scattered (added) at idx along axis. */
function refScatterAdd(target: Ref, axis: number, idxShape: readonly number[], idx: readonly number[], updates: Ref): Ref {
  const out = new Ref(target.shape, Float64Array.from(target.data));
  updates.forEach((c, k) => out.add(updates.data[k]!, ...sourceCoords(c, axis, idxShape, idx)));
  return out;
}

const GATHERS: readonly { x: number[]; axis: number; idx: number[] }[] = [
  { x: [6, 4], axis: 0, idx: [5] },
  { x: [3, 5, 4], axis: 1, idx: [2, 3] },
  { x: [3, 4, 5], axis: 2, idx: [7] },
  { x: [4, 3, 2], axis: -3, idx: [] },
  { x: [5], axis: 0, idx: [3, 2] },
];

for (const g of GATHERS) {
  for (const dtype of ['INT32', 'INT64'] as const) {
    for (const layout of LAYOUTS) {
      test(`gather x[${g.x}] axis ${g.axis} indices[${g.idx}] ${dtype} (${layout}): values and gradient`, () => {
        const axis = g.axis < 0 ? g.axis + g.x.length : g.axis;
        const xr = randomRef(g.x, 3);
        const x = toNd(xr, layout).requireGrad();
        const { idx, nd } = indexArray(g.idx, g.x[axis]!, dtype, 1);
        const y = gather(x, nd, g.axis);
        const expected = refGather(xr, axis, g.idx, idx);
        assertShape(y, expected.shape);
        assertClose(flat(y), expected.data, 0, 0, 'gather');
        const G = randomRef(expected.shape, 4);
        y.backward(toNd(G, layout));
        const dx = refScatterAdd(new Ref(g.x), axis, g.idx, idx, G);
        assertClose(flat(x.grad!), dx.data, 1e-12, 1e-12, 'gather grad');
      });
    }
  }
}

for (const g of GATHERS) {
  for (const layout of LAYOUTS) {
    test(`scatterAdd target[${g.x}] axis ${g.axis} indices[${g.idx}] (${layout}): new array, duplicates add, gradients`, () => {
      const axis = g.axis < 0 ? g.axis + g.x.length : g.axis;
      const tr = randomRef(g.x, 5);
      const target = toNd(tr, layout).requireGrad();
      const { idx, nd } = indexArray(g.idx, g.x[axis]!, 'INT64', 2);
      const ur = randomRef([...g.x.slice(0, axis), ...g.idx, ...g.x.slice(axis + 1)], 6);
      const updates = toNd(ur, layout).requireGrad();
      const y = scatterAdd(target, nd, updates, g.axis);
      assertClose(flat(y), refScatterAdd(tr, axis, g.idx, idx, ur).data, 1e-12, 1e-12, 'scatterAdd');
      assertClose(flat(target), tr.data, 0, 0, 'target untouched');
      const G = randomRef(g.x, 7);
      y.backward(toNd(G));
      assertClose(flat(target.grad!), G.data, 0, 0, 'target grad');
      assertClose(flat(updates.grad!), refGather(G, axis, g.idx, idx).data, 0, 0, 'updates grad');
    });
  }
}

test('scatterAdd accumulates many duplicates of one index', () => {
  const target = array(new Float64Array(3 * 2), [3, 2], { dtype: 'DOUBLE' });
  const idx = array(Int32Array.from([1, 1, 1, 1, 2]), [5]);
  const ur = randomRef([5, 2], 8);
  const y = scatterAdd(target, idx, toNd(ur), 0);
  const e = [0, 0, 0, 0, 0, 0];
  for (let j = 0; j < 5; j++) for (let c = 0; c < 2; c++) e[(j < 4 ? 1 : 2) * 2 + c] += ur.get(j, c);
  assertClose(flat(y), e, 1e-12, 1e-12, 'accumulated');
});

test('gather and scatterAdd reject bad indices and shapes', () => {
  const x = array(new Float64Array(12), [3, 4], { dtype: 'DOUBLE' });
  assert.throws(() => gather(x, array([0, 1], { dtype: 'FLOAT' }), 0), /gather: indices must be INT32 or INT64, got FLOAT\[2\]/);
  // The kernel names the offending index and the bound (native/cpu/API.md).
  assert.throws(() => gather(x, array(Int32Array.from([0, 3])), 0), /gather: indices\[1\] = 3 is out of range/);
  assert.throws(() => gather(x, array(Int32Array.from([-1])), 1), /gather: indices\[0\] = -1 is out of range/);
  assert.throws(() => gather(x, array(Int32Array.from([0])), 2), /gather: axis 2 is out of range for rank 2/);
  assert.throws(() => scatterAdd(x, array(Int32Array.from([0, 1])), array(new Float64Array(6), [3, 2], { dtype: 'DOUBLE' }), 0), /scatterAdd: updates DOUBLE\[3, 2\] must have shape \[2, 4\]/);
  assert.throws(() => scatterAdd(x, array(Int32Array.from([0, 1])), array(new Float32Array(8), [2, 4]), 0), /scatterAdd: updates FLOAT\[2, 4\] differ in dtype/);
});

for (const dtype of ['INT32', 'INT64'] as const) {
  for (const out of ['FLOAT', 'DOUBLE', 'INT32', 'BOOL'] as DataType[]) {
    test(`oneHot from ${dtype} indices to ${out}`, () => {
      const depth = 5;
      const { idx, nd } = indexArray([2, 3], depth, dtype, 3);
      const y = oneHot(nd, depth, { dtype: out });
      assert.equal(y.dtype, out);
      assertShape(y, [2, 3, depth]);
      const e: number[] = [];
      for (const i of idx) for (let d = 0; d < depth; d++) e.push(i === d ? 1 : 0);
      assert.deepEqual(flat(y), e);
    });
  }
}

test('oneHot on a strided index view; default dtype FLOAT', () => {
  const base = array(Int32Array.from([0, 9, 2, 9, 1, 9, 2, 9]), [4, 2]);
  const y = oneHot(base.get(allIndices(), 0), 3);
  assert.equal(y.dtype, 'FLOAT');
  assert.deepEqual(y.toArray(), [[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 1]]);
});

test('oneHot rejects indices out of range and bad arguments', () => {
  assert.throws(() => oneHot(array(Int32Array.from([0, 4, 1])), 4), /oneHot: index 4 is out of range \[0, 4\)/);
  assert.throws(() => oneHot(array(BigInt64Array.from([0n, -2n])), 4), /oneHot: index -2 is out of range/);
  assert.throws(() => oneHot(array([0, 1], { dtype: 'FLOAT' }), 4), /oneHot: indices must be INT32 or INT64/);
  assert.throws(() => oneHot(array(Int32Array.from([0])), 0), /oneHot: depth must be a positive integer/);
});
