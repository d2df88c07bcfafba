import { test } from 'node:test';
import assert from 'node:assert/strict';
import { add, array, concat, mul, pad, split, stack, sum, tile, type NDArray } from '../src/index.js';
import { assertClose, assertShape, flat, LAYOUTS, randomRef, Ref, toNd } from './opsb-util.js';

/** Reference concatenation: the output coordinate along `axis` picks the piece and its local index. */
function refConcat(parts: readonly Ref[], axis: number): Ref {
  const shape = [...parts[0]!.shape];
  shape[axis] = parts.reduce((s, p) => s + p.shape[axis]!, 0);
  const out = new Ref(shape);
  out.forEach((c, k) => {
    let i = c[axis]!;
    for (const p of parts) {
      if (i < p.shape[axis]!) {
        const local = [...c];
        local[axis] = i;
        out.data[k] = p.get(...local);
        return;
      }
      i -= p.shape[axis]!;
    }
  });
  return out;
}

/** The box of r starting at `starts` with `shape`. */
function refBox(r: Ref, starts: readonly number[], shape: readonly number[]): Ref {
  const out = new Ref(shape);
  out.forEach((c, k) => (out.data[k] = r.get(...c.map((v, i) => v + starts[i]!))));
  return out;
}

const CONCATS: readonly { shapes: number[][]; axis: number }[] = [
  { shapes: [[2, 3, 4], [2, 1, 4], [2, 5, 4]], axis: 1 },
  { shapes: [[1, 3], [4, 3]], axis: 0 },
  { shapes: [[2, 2, 3], [2, 2, 1], [2, 2, 0], [2, 2, 2]], axis: -1 },
  { shapes: [[5]], axis: 0 },
];

for (const cs of CONCATS) {
  for (const layout of LAYOUTS) {
    test(`concat ${JSON.stringify(cs.shapes)} axis ${cs.axis} (${layout}): values and gradients`, () => {
      const axis = cs.axis < 0 ? cs.axis + cs.shapes[0]!.length : cs.axis;
      const refs = cs.shapes.map((s, i) => randomRef(s, 10 + i));
      const xs = refs.map((r, i) => toNd(r, i % 2 === 0 ? layout : 'contiguous').requireGrad());
      const y = concat(xs, cs.axis);
      const expected = refConcat(refs, axis);
      assertShape(y, expected.shape);
      assertClose(flat(y), expected.data, 0, 0, 'concat');
      const G = randomRef(expected.shape, 20);
      y.backward(toNd(G, layout));
      let at = 0;
      xs.forEach((x, i) => {
        const starts = refs[i]!.shape.map((_, d) => (d === axis ? at : 0));
        assertClose(flat(x.grad!), refBox(G, starts, refs[i]!.shape).data, 0, 0, `grad of part ${i}`);
        at += refs[i]!.shape[axis]!;
      });
    });
  }
}

test('concat promotes dtypes and casts gradients back', () => {
  const a = array(Int32Array.from([1, 2, 3, 4]), [2, 2]);
  const br = randomRef([2, 1], 30);
  const b = toNd(br).requireGrad();
  const f = array(Float32Array.from([0.5, -0.25]), [2, 1]).requireGrad();
  const y = concat([a, b, f], 1);
  assert.equal(y.dtype, 'DOUBLE');
  assertClose(flat(y), [1, 2, br.get(0, 0), 0.5, 3, 4, br.get(1, 0), -0.25], 0, 0, 'promoted');
  const G = randomRef([2, 4], 31);
  y.backward(toNd(G));
  assertClose(flat(b.grad!), [G.get(0, 2), G.get(1, 2)], 0, 0, 'double grad');
  assert.equal(f.grad!.dtype, 'FLOAT');
  assertClose(flat(f.grad!), [Math.fround(G.get(0, 3)), Math.fround(G.get(1, 3))], 0, 0, 'float grad');
});

test('concat rejects mismatched inputs', () => {
  const a = array(new Float64Array(6), [2, 3]);
  assert.throws(() => concat([], 0), /concat: expected at least one array/);
  assert.throws(() => concat([a, array(new Float64Array(8), [2, 4])], 0), /concat: shapes must match except along axis 0/);
  assert.throws(() => concat([a, array(new Float64Array(3), [3])], 0), /concat: shapes must match/);
  assert.throws(() => concat([a], 2), /concat: axis 2 is out of range for rank 2/);
  assert.throws(() => concat([array(new Float64Array(1), [])], 0), /concat: cannot concatenate 0-d arrays/);
});

for (const axis of [0, 1, 2, -1]) {
  for (const layout of LAYOUTS) {
    test(`stack three [2, 3] arrays on axis ${axis} (${layout}): values and gradients`, () => {
      const refs = [0, 1, 2].map((i) => randomRef([2, 3], 40 + i));
      const xs = refs.map((r) => toNd(r, layout).requireGrad());
      const y = stack(xs, axis);
      const ax = axis < 0 ? axis + 3 : axis;
      const shape = [2, 3];
      shape.splice(ax, 0, 3);
      const expected = new Ref(shape);
      expected.forEach((c, k) => {
        const rest = c.filter((_, i) => i !== ax);
        expected.data[k] = refs[c[ax]!]!.get(...rest);
      });
      assertShape(y, shape);
      assertClose(flat(y), expected.data, 0, 0, 'stack');
      const G = randomRef(shape, 45);
      y.backward(toNd(G));
      xs.forEach((x, i) => {
        const e = new Ref([2, 3]);
        e.forEach((c, k) => {
          const full = [...c];
          full.splice(ax, 0, i);
          e.data[k] = G.get(...full);
        });
        assertClose(flat(x.grad!), e.data, 0, 0, `grad ${i}`);
      });
    });
  }
}

test('stack rejects different shapes', () => {
  assert.throws(() => stack([array(new Float64Array(6), [2, 3]), array(new Float64Array(6), [3, 2])]), /stack: all arrays must have the same shape/);
  assert.throws(() => stack([array(new Float64Array(6), [2, 3])], 3), /stack: axis 3 is out of range for rank 3/);
});

for (const layout of LAYOUTS) {
  test(`split into equal parts and by sizes (${layout}): views with gradients`, () => {
    const xr = randomRef([6, 4], 50);
    const x = toNd(xr, layout).requireGrad();
    const parts = split(x, 3, 0);
    assert.equal(parts.length, 3);
    parts.forEach((p, i) => {
      assertShape(p, [2, 4]);
      assert.equal(p.buffer, x.buffer, 'a part is a view of x');
      assertClose(flat(p), refBox(xr, [2 * i, 0], [2, 4]).data, 0, 0, `part ${i}`);
    });
    const cols = split(x, [1, 0, 3], -1);
    assert.deepEqual(cols.map((c) => [...c.shape]), [[6, 1], [6, 0], [6, 3]]);
    assertClose(flat(cols[2]!), refBox(xr, [0, 1], [6, 3]).data, 0, 0, 'cols');
    // loss = sum(part0 * G0) + sum(cols2 * G2): x.grad is G0 in rows 0-1 plus G2 in columns 1-3.
    const G0 = randomRef([2, 4], 51);
    const G2 = randomRef([6, 3], 52);
    const loss: NDArray = add(sum(mul(parts[0]!, toNd(G0))), sum(mul(cols[2]!, toNd(G2))));
    loss.backward();
    const e = new Ref([6, 4]);
    G0.forEach(([r, c], k) => e.add(G0.data[k]!, r!, c!));
    G2.forEach(([r, c], k) => e.add(G2.data[k]!, r!, c! + 1));
    assertClose(flat(x.grad!), e.data, 1e-12, 1e-12, 'split grad');
  });
}

test('split rejects sizes that do not add up', () => {
  const x = array(new Float64Array(10), [5, 2]);
  assert.throws(() => split(x, 2, 0), /split: cannot split axis 0 .* \(size 5\) into 2 equal parts/);
  assert.throws(() => split(x, [2, 2], 0), /split: sizes \[2, 2\] must be non-negative integers summing to 5/);
  assert.throws(() => split(x, [3, -1, 3], 0), /split: sizes/);
});

const TILES: readonly { x: number[]; reps: number[] }[] = [
  { x: [2, 3], reps: [2, 2] },
  { x: [2, 3], reps: [3] },
  { x: [2, 3], reps: [2, 1, 2] },
  { x: [3], reps: [2, 3] },
  { x: [2, 1, 3], reps: [1, 4, 1] },
  { x: [2, 3], reps: [0, 1] },
];

for (const t of TILES) {
  for (const layout of LAYOUTS) {
    test(`tile [${t.x}] by [${t.reps}] (${layout}): values and summed gradient`, () => {
      const rank = Math.max(t.x.length, t.reps.length);
      const dims = [...new Array<number>(rank - t.x.length).fill(1), ...t.x];
      const rs = [...new Array<number>(rank - t.reps.length).fill(1), ...t.reps];
      const xr = randomRef(t.x, 60);
      const x = toNd(xr, layout).requireGrad();
      const y = tile(x, t.reps);
      const shape = dims.map((d, i) => d * rs[i]!);
      assertShape(y, shape);
      const expected = new Ref(shape);
      const source = (c: readonly number[]): number[] => c.map((v, i) => v % dims[i]!).slice(rank - t.x.length);
      expected.forEach((c, k) => (expected.data[k] = xr.get(...source(c))));
      assertClose(flat(y), expected.data, 0, 0, 'tile');
      const G = randomRef(shape, 61);
      y.backward(toNd(G));
      const dx = new Ref(t.x);
      G.forEach((c, k) => dx.add(G.data[k]!, ...source(c)));
      assertClose(flat(x.grad!), dx.data, 1e-12, 1e-12, 'tile grad');
    });
  }
}

test('tile rejects negative or fractional reps', () => {
  const x = array(new Float64Array(4), [2, 2]);
  assert.throws(() => tile(x, [1, -1]), /tile: reps \[1, -1\] must be non-negative integers/);
  assert.throws(() => tile(x, [1.5]), /tile: reps/);
});

for (const layout of LAYOUTS) {
  for (const value of [0, -1.5]) {
    test(`pad with ${value} (${layout}): values and centre-slice gradient`, () => {
      const xr = randomRef([2, 3, 2], 70);
      const x = toNd(xr, layout).requireGrad();
      const widths: [number, number][] = [[1, 2], [0, 3], [2, 0]];
      const y = pad(x, widths, value);
      const shape = [5, 6, 4];
      assertShape(y, shape);
      const expected = new Ref(shape);
      expected.forEach((c, k) => {
        const src = c.map((v, i) => v - widths[i]![0]);
        expected.data[k] = src.every((v, i) => v >= 0 && v < xr.shape[i]!) ? xr.get(...src) : value;
      });
      assertClose(flat(y), expected.data, 0, 0, 'pad');
      const G = randomRef(shape, 71);
      y.backward(toNd(G, layout));
      assertClose(flat(x.grad!), refBox(G, [1, 0, 2], [2, 3, 2]).data, 0, 0, 'pad grad');
    });
  }
}

test('pad keeps integer dtypes and rejects bad widths', () => {
  const x = array(Int32Array.from([1, 2, 3]), [3]);
  const y = pad(x, [[2, 1]], 7);
  assert.equal(y.dtype, 'INT32');
  assert.deepEqual(flat(y), [7, 7, 1, 2, 3, 7]);
  assert.throws(() => pad(x, [[1, 1], [1, 1]]), /pad: expected 1 \[before, after\] pairs for INT32\[3\], got 2/);
  assert.throws(() => pad(x, [[-1, 1]]), /pad: widths must be pairs of non-negative integers/);
});
