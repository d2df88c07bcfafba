import { coalesce } from './tensor.js';

/**
 * Pure planning for the CUDA reductions and softmax (no device calls, so it is unit-tested on the
 * CPU): how the axes of a view split into kept and reduced groups, and how kernels are launched.
 */

/** The axes of a reduction: kept axes (one output each) and reduced axes (the TAD of an output). */
export interface ReduceLayout {
  /** Kept axes, merged and ordered by decreasing x stride; x and out strides per axis. */
  readonly keptShape: number[];
  readonly keptX: number[];
  readonly keptOut: number[];
  /** Reduced axes, merged; the TAD position walks them row-major. */
  readonly redShape: number[];
  readonly redX: number[];
  readonly numOut: number;
  /** Elements per TAD. */
  readonly L: number;
}

/** Axis order by decreasing stride (stable), so merging finds contiguous runs and the last axis is the fastest. */
function byStride(axes: number[], strides: readonly number[]): number[] {
  return axes
    .map((a, i) => ({ a, i }))
    .sort((p, q) => strides[q.a]! - strides[p.a]! || p.i - q.i)
    .map((p) => p.a);
}

/**
 * Splits x's axes into kept and reduced groups. `reduced` holds distinct axes in [0, rank).
 * With `keepReducedOrder` (argmax/argmin, whose result is the row-major index over the reduced
 * axes) the reduced axes stay in their order; otherwise they are sorted by stride like the kept ones.
 */
export function reduceLayout(
  shape: readonly number[],
  xStrides: readonly number[],
  outStrides: readonly number[],
  reduced: ReadonlySet<number>,
  keepReducedOrder: boolean,
): ReduceLayout {
  const keptAxes: number[] = [];
  const redAxes: number[] = [];
  shape.forEach((_, d) => (reduced.has(d) ? redAxes : keptAxes).push(d));
  const kOrder = byStride(keptAxes, xStrides);
  const rOrder = keepReducedOrder ? redAxes : byStride(redAxes, xStrides);
  const kept = coalesce(kOrder.map((d) => shape[d]!), [kOrder.map((d) => xStrides[d]!), kOrder.map((d) => outStrides[d]!)]);
  const red = coalesce(rOrder.map((d) => shape[d]!), [rOrder.map((d) => xStrides[d]!)]);
  return {
    keptShape: kept.shape,
    keptX: kept.strides[0]!,
    keptOut: kept.strides[1]!,
    redShape: red.shape,
    redX: red.strides[0]!,
    numOut: kOrder.reduce((n, d) => n * shape[d]!, 1),
    L: rOrder.reduce((n, d) => n * shape[d]!, 1),
  };
}

/** Device limits a launch plan must respect. */
export interface LaunchLimits {
  readonly multiprocessors: number;
  readonly maxBlock: number;
  readonly maxGrid: number;
}

/** grid.y (the TAD split count) is limited by the hardware, whatever the configuration says. */
const MAX_GRID_Y = 65535;
/** Threads an SM keeps resident (sm_70 and later). */
const THREADS_PER_SM = 2048;
/** TADs up to this length are handled by one warp each in row mode. */
export const WARP_ROW_MAX = 1024;
/** TADs up to this length use the column kernel (one thread per output) whatever the layout. */
export const SHORT_TAD = 16;

/**
 * - `warp`: one warp per output, lanes stride along a contiguous TAD.
 * - `block`: one block per output (or per part of a long TAD when `parts` > 1).
 * - `cols`: a block of bx outputs x by slices: each thread walks every by-th position of one TAD,
 *   adjacent threads reading adjacent outputs (coalesced when the kept axis is contiguous).
 */
export type ReduceKind = 'warp' | 'block' | 'cols';

export interface ReduceLaunch {
  readonly kind: ReduceKind;
  readonly block: number;
  readonly grid: number;
  /** TAD parts (grid.y); > 1 means partial states go to a scratch buffer and a finish kernel combines them. */
  readonly parts: number;
  /** cols: outputs per block (a power of two dividing `block`). */
  readonly bx: number;
}

function nextPow2(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}

function prevPow2(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.floor(Math.log2(n));
}

function baseBlock(lim: LaunchLimits): number {
  return Math.min(256, lim.maxBlock);
}

/** Parts per TAD so that about one full wave of blocks runs when there are few outputs. */
function splitParts(blocksX: number, threads: number, positions: number, minPerPart: number, lim: LaunchLimits): number {
  const wave = lim.multiprocessors * Math.max(1, Math.floor(THREADS_PER_SM / threads));
  if (blocksX >= wave) return 1;
  const p = Math.min(Math.ceil(wave / blocksX), Math.floor(positions / minPerPart), MAX_GRID_Y);
  return Math.max(1, p);
}

/** The kernel and launch shape for a reduction of `layout`. */
export function planReduceLaunch(layout: ReduceLayout, lim: LaunchLimits): ReduceLaunch {
  const { numOut, L } = layout;
  const rr = layout.redShape.length;
  const kr = layout.keptShape.length;
  const rowContig = rr > 0 && layout.redX[rr - 1] === 1;
  const keptContig = kr > 0 && layout.keptX[kr - 1] === 1;
  const block = baseBlock(lim);
  if (L <= SHORT_TAD || (!rowContig && keptContig)) {
    // Outputs adjacent in memory: the innermost kept extent when contiguous, else no locality to follow.
    const adjacent = keptContig ? layout.keptShape[kr - 1]! : numOut;
    // Wide blocks of adjacent outputs (long contiguous runs per TAD position keep DRAM efficient;
    // measured on H100: 256 outputs x 1 slice beat 32 x 8); spare threads become slices of each
    // TAD, each walking >= 32 positions. Few TADs get parallelism from splitting instead.
    const bx = Math.min(block, nextPow2(Math.min(adjacent, numOut)));
    const by = Math.min(block / bx, prevPow2(Math.max(1, Math.floor(L / 32))));
    const threads = bx * by;
    const blocksX = Math.ceil(numOut / bx);
    const grid = Math.min(blocksX, lim.maxGrid);
    return { kind: 'cols', block: threads, grid, parts: splitParts(grid, threads, L, by * 32, lim), bx };
  }
  if (L <= WARP_ROW_MAX) {
    const grid = Math.min(Math.ceil(numOut / (block / 32)), lim.maxGrid);
    return { kind: 'warp', block, grid, parts: 1, bx: 1 };
  }
  const grid = Math.min(numOut, lim.maxGrid);
  return { kind: 'block', block, grid, parts: splitParts(grid, block, L, block * 8, lim), bx: 1 };
}

/** Warps-per-output launch for the finish kernel (and any warp-per-item kernel). */
export function warpLaunch(items: number, lim: LaunchLimits): { grid: number; block: number } {
  const block = baseBlock(lim);
  return { grid: Math.max(1, Math.min(Math.ceil(items / (block / 32)), lim.maxGrid)), block };
}

/** The rows of a softmax along `axis`: the other axes merged (strides per operand) and the row stride of each operand. */
export interface RowLayout {
  readonly outerShape: number[];
  /** Per operand, the outer strides. */
  readonly outer: number[][];
  /** Per operand, the stride along the axis. */
  readonly rowStride: number[];
  readonly rows: number;
  readonly n: number;
}

export function rowLayout(shape: readonly number[], strides: readonly (readonly number[])[], axis: number): RowLayout {
  const others = shape.map((_, d) => d).filter((d) => d !== axis);
  const order = byStride(others, strides[0]!);
  const merged = coalesce(order.map((d) => shape[d]!), strides.map((s) => order.map((d) => s[d]!)));
  return {
    outerShape: merged.shape,
    outer: merged.strides,
    rowStride: strides.map((s) => s[axis]!),
    rows: others.reduce((n, d) => n * shape[d]!, 1),
    n: shape[axis]!,
  };
}

/** `warp`/`block`: one warp or block per row; `cols`: one thread per row (rows adjacent in memory, or very short). */
export type RowKind = 'warp' | 'block' | 'cols';

export interface RowLaunch {
  readonly kind: RowKind;
  readonly grid: number;
  readonly block: number;
  /** cols: rows per block (a power of two dividing `block`); block / bx threads share each row. */
  readonly bx: number;
}

export function planRowLaunch(layout: RowLayout, lim: LaunchLimits): RowLaunch {
  const { rows, n } = layout;
  const block = baseBlock(lim);
  const rowContig = layout.rowStride.every((s) => s === 1);
  const or = layout.outerShape.length;
  const outerContig = or > 0 && layout.outer.every((s) => s[or - 1] === 1);
  if (n <= SHORT_TAD || (!rowContig && outerContig && rows >= 1024)) {
    // Adjacent rows on adjacent threads; long rows are shared by by = block / bx threads (>= 32 elements each).
    const by = Math.min(block / 32, prevPow2(Math.max(1, Math.floor(n / 32))));
    const bx = block / by;
    return { kind: 'cols', block, grid: Math.max(1, Math.min(Math.ceil(rows / bx), lim.maxGrid)), bx };
  }
  if (n <= WARP_ROW_MAX) return { kind: 'warp', ...warpLaunch(rows, lim), bx: 1 };
  return { kind: 'block', block, grid: Math.max(1, Math.min(rows, lim.maxGrid)), bx: 1 };
}
