import type { BinaryOp } from '../backend/backend.js';
import { isGradEnabled, needsGrad, record } from '../autodiff/tape.js';
import { pickSaved, savedByRole, type SavedValues } from '../autodiff/saved.js';
import { type DataType, defaultFloatType, isFloating, promoteTypes } from '../ndarray/dtype.js';
import { NDArray } from '../ndarray/ndarray.js';
import { broadcastShapes } from '../ndarray/shape.js';
import { broadcastRef, commonBackend, describe } from './util.js';
import { unaryRaw } from './unary.js';
import { sumToShape } from './reduce.js';
import { fromScalar } from './create.js';

const COMPARISONS = new Set<BinaryOp>(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'and', 'or', 'xor']);

/** Runs a binary kernel on two arrays of one dtype, broadcasting them, into a new array (no autograd). */
export function binaryRaw(op: BinaryOp, a: NDArray, b: NDArray, dtype?: DataType, alpha = 0, beta = 0): NDArray {
  const backend = commonBackend(op, [a, b]);
  if (a.dtype !== b.dtype) throw new Error(`${op}: operands differ in dtype: ${describe(a)} and ${describe(b)}`);
  const shape = broadcastShapes(a.shape, b.shape, op);
  const out = NDArray.uninitialized(shape, dtype ?? (COMPARISONS.has(op) ? 'BOOL' : a.dtype), backend);
  backend.binary(op, broadcastRef(a, shape), broadcastRef(b, shape), out, alpha, beta);
  return out;
}

/** The type a number takes next to an array: the array's type, or the default float for a fraction with an integer array. */
function scalarType(x: NDArray, s: number): DataType {
  return isFloating(x.dtype) || Number.isInteger(s) ? x.dtype : defaultFloatType();
}

/** Both operands as arrays of the promoted type (casts recorded for autograd). */
function coerce(a: NDArray | number, b: NDArray | number, op: string): [NDArray, NDArray] {
  if (typeof a === 'number' && typeof b === 'number') throw new Error(`${op}: at least one operand must be an NDArray`);
  const dtype = typeof a === 'number' ? scalarType(b as NDArray, a) : typeof b === 'number' ? scalarType(a, b) : promoteTypes(a.dtype, b.dtype);
  const like = (typeof a === 'number' ? b : a) as NDArray;
  const as = (v: NDArray | number): NDArray => (typeof v === 'number' ? fromScalar(v, dtype, like.backend) : v.dtype === dtype ? v : castDiff(v, dtype));
  return [as(a), as(b)];
}

/** Cast with its gradient (the gradient casts back). */
export function castDiff(x: NDArray, dtype: DataType): NDArray {
  if (x.dtype === dtype) return x;
  const y = unaryRaw('identity', x, dtype);
  if (needsGrad([x]) && isFloating(dtype)) record(y, 'cast', [x], [], (g) => [unaryRaw('identity', g, x.dtype)]);
  return y;
}

/**
 * A binary op's gradient for each operand (before reducing over broadcast axes), each computed only
 * when needed, from g and the saved operands a, b and output y it reads.
 */
interface BinaryGrad {
  /** The values the gradients read (only these are saved; add and sub need only the shapes). */
  readonly reads: readonly ('a' | 'b' | 'y')[];
  readonly a: (g: NDArray, v: SavedValues<'a' | 'b' | 'y'>) => NDArray;
  readonly b: (g: NDArray, v: SavedValues<'a' | 'b' | 'y'>) => NDArray;
}

const BINARY_GRADS: Partial<Record<BinaryOp, BinaryGrad>> = {
  add: { reads: [], a: (g) => g, b: (g) => g },
  sub: { reads: [], a: (g) => g, b: (g) => unaryRaw('neg', g) },
  mul: { reads: ['a', 'b'], a: (g, v) => mul(g, v.b), b: (g, v) => mul(g, v.a) },
  div: { reads: ['a', 'b'], a: (g, v) => div(g, v.b), b: (g, v) => unaryRaw('neg', div(mul(g, v.a), mul(v.b, v.b))) },
  pow: { reads: ['a', 'b', 'y'], a: (g, v) => mul(mul(g, v.b), pow(v.a, sub(v.b, 1))), b: (g, v) => mul(mul(g, v.y), unaryRaw('log', v.a)) },
  max: { reads: ['a', 'b'], a: (g, v) => mul(g, castTo(binaryRaw('ge', v.a, v.b), g.dtype)), b: (g, v) => mul(g, castTo(binaryRaw('lt', v.a, v.b), g.dtype)) },
  min: { reads: ['a', 'b'], a: (g, v) => mul(g, castTo(binaryRaw('le', v.a, v.b), g.dtype)), b: (g, v) => mul(g, castTo(binaryRaw('gt', v.a, v.b), g.dtype)) },
  mod: { reads: ['a', 'b'], a: (g) => g, b: (g, v) => unaryRaw('neg', mul(g, unaryRaw('floor', div(v.a, v.b)))) },
  squaredDifference: {
    reads: ['a', 'b'],
    a: (g, v) => mul(unaryRaw('mulScalar', sub(v.a, v.b), g.dtype, 2), g),
    b: (g, v) => mul(unaryRaw('mulScalar', sub(v.a, v.b), g.dtype, -2), g),
  },
};

function castTo(x: NDArray, dtype: DataType): NDArray {
  return x.dtype === dtype ? x : unaryRaw('identity', x, dtype);
}

/** A differentiable, broadcasting binary op on arrays or numbers. */
export function binary(op: BinaryOp, a: NDArray | number, b: NDArray | number): NDArray {
  const [x, y] = coerce(a, b, op);
  const out = binaryRaw(op, x, y);
  const grad = BINARY_GRADS[op];
  if (grad && needsGrad([x, y])) {
    const [aShape, bShape] = [x.shape, y.shape];
    record(out, op, [x, y], pickSaved(grad.reads, { a: x, b: y, y: out }), (g, saved, needs) => {
      const v = savedByRole(grad.reads, saved);
      return [needs[0] ? sumToShape(grad.a(g, v), aShape) : null, needs[1] ? sumToShape(grad.b(g, v), bShape) : null];
    });
  }
  return out;
}

export const add = (a: NDArray | number, b: NDArray | number): NDArray => binary('add', a, b);
export const sub = (a: NDArray | number, b: NDArray | number): NDArray => binary('sub', a, b);
export const mul = (a: NDArray | number, b: NDArray | number): NDArray => binary('mul', a, b);
export const div = (a: NDArray | number, b: NDArray | number): NDArray => binary('div', a, b);
export const pow = (a: NDArray | number, b: NDArray | number): NDArray => binary('pow', a, b);
export const maximum = (a: NDArray | number, b: NDArray | number): NDArray => binary('max', a, b);
export const minimum = (a: NDArray | number, b: NDArray | number): NDArray => binary('min', a, b);
export const mod = (a: NDArray | number, b: NDArray | number): NDArray => binary('mod', a, b);
export const squaredDifference = (a: NDArray | number, b: NDArray | number): NDArray => binary('squaredDifference', a, b);
export const eq = (a: NDArray | number, b: NDArray | number): NDArray => binary('eq', a, b);
export const ne = (a: NDArray | number, b: NDArray | number): NDArray => binary('ne', a, b);
export const lt = (a: NDArray | number, b: NDArray | number): NDArray => binary('lt', a, b);
export const le = (a: NDArray | number, b: NDArray | number): NDArray => binary('le', a, b);
export const gt = (a: NDArray | number, b: NDArray | number): NDArray => binary('gt', a, b);
export const ge = (a: NDArray | number, b: NDArray | number): NDArray => binary('ge', a, b);
export const and = (a: NDArray | number, b: NDArray | number): NDArray => binary('and', a, b);
export const or = (a: NDArray | number, b: NDArray | number): NDArray => binary('or', a, b);
export const xor = (a: NDArray | number, b: NDArray | number): NDArray => binary('xor', a, b);

/** cond ? a : b elementwise, broadcasting all three; differentiable in a and b. */
export function where(cond: NDArray, a: NDArray | number, b: NDArray | number): NDArray {
  // Two numbers (where(c, 1, 0)) are valid: cond supplies the shape; they take the default float type.
  const first = typeof a === 'number' && typeof b === 'number' ? fromScalar(a, defaultFloatType(), cond.backend) : a;
  const [x, y] = coerce(first, b, 'where');
  const backend = commonBackend('where', [cond, x, y]);
  const c = cond.dtype === 'BOOL' ? cond : binaryRaw('ne', cond, fromScalar(0, cond.dtype, backend));
  const shape = broadcastShapes(broadcastShapes(c.shape, x.shape, 'where'), y.shape, 'where');
  const out = NDArray.uninitialized(shape, x.dtype, backend);
  backend.where(broadcastRef(c, shape), broadcastRef(x, shape), broadcastRef(y, shape), out);
  if (needsGrad([x, y])) {
    record(out, 'where', [x, y], [c], (g, [cs], needs) => {
      const zero = fromScalar(0, g.dtype, g.backend);
      return [
        needs[0] ? sumToShape(where(cs!, g, zero), x.shape) : null,
        needs[1] ? sumToShape(where(cs!, zero, g), y.shape) : null,
      ];
    });
  }
  return out;
}

/** target op= other, in place (ND4J's addi/subi/muli/divi); not recorded for autograd. */
export function binaryInPlace(op: BinaryOp, target: NDArray, other: NDArray | number): void {
  // Under noGrad (parameter updates) the write is allowed; graphs that saved the value detect it by its version.
  if (target.requiresGrad && isGradEnabled()) throw new Error(`${op} in place: ${describe(target)} requires grad; in-place ops would break its gradient (update it inside noGrad)`);
  const o = typeof other === 'number' ? fromScalar(other, target.dtype, target.backend) : other.dtype === target.dtype ? other : unaryRaw('identity', other, target.dtype);
  const shape = broadcastShapes(target.shape, o.shape, op);
  if (shape.length !== target.rank || shape.some((d, i) => d !== target.shape[i])) {
    throw new Error(`${op} in place: ${describe(o)} does not broadcast to the target's shape ${describe(target)}`);
  }
  commonBackend(op, [target, o]).binary(op, target, broadcastRef(o, target.shape), target, 0, 0);
  target.bumpVersion();
  if (o !== other) o.close();
}

