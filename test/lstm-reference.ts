/**
 * One LSTM step in float64 plain JS, forward and backward, written from the equations (DL4J's block
 * order a, f, o, g; derivatives from the pre-activations): the oracle of the lstmCell tests.
 */
export type CellKind = 'tanh' | 'sigmoid' | 'hardsigmoid';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

const VALUE: Record<CellKind, (x: number) => number> = {
  tanh: Math.tanh,
  sigmoid,
  hardsigmoid: (x) => Math.min(1, Math.max(0, 0.2 * x + 0.5)),
};

const SLOPE: Record<CellKind, (x: number) => number> = {
  tanh: (x) => 1 - Math.tanh(x) ** 2,
  sigmoid: (x) => sigmoid(x) * (1 - sigmoid(x)),
  hardsigmoid: (x) => (x > -2.5 && x < 2.5 ? 0.2 : 0),
};

export interface CellReference {
  readonly h: number[];
  readonly c: number[];
  /** d(loss)/dz [N, 4H]. */
  readonly dz: number[];
  /** d(loss)/dcPrev [N, H] (zeros without cPrev). */
  readonly dcPrev: number[];
}

/**
 * z [N, 4H] and cPrev [N, H] (null: zeros) row-major; dh and dc the gradients of the loss with
 * respect to h and c (null: the loss does not depend on them).
 */
export function lstmCellReference(
  z: readonly number[], cPrev: readonly number[] | null, n: number, units: number, act: CellKind, gate: CellKind,
  dh: readonly number[] | null, dc: readonly number[] | null,
): CellReference {
  const out: CellReference = { h: [], c: [], dz: new Array<number>(4 * n * units).fill(0), dcPrev: [] };
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < units; j++) {
      const at = (k: number): number => r * 4 * units + k * units + j;
      const [za, zf, zo, zg] = [0, 1, 2, 3].map((k) => z[at(k)]!) as [number, number, number, number];
      const a = VALUE[act](za);
      const f = VALUE[gate](zf);
      const o = VALUE[gate](zo);
      const g = VALUE[gate](zg);
      const cp = cPrev ? cPrev[r * units + j]! : 0;
      const c = f * cp + g * a;
      out.c.push(c);
      out.h.push(o * VALUE[act](c));
      const gh = dh ? dh[r * units + j]! : 0;
      // Everything that reaches c: its own gradient and h's through act(c).
      const gc = (dc ? dc[r * units + j]! : 0) + gh * o * SLOPE[act](c);
      out.dz[at(0)] = gc * g * SLOPE[act](za);
      out.dz[at(1)] = gc * cp * SLOPE[gate](zf);
      out.dz[at(2)] = gh * VALUE[act](c) * SLOPE[gate](zo);
      out.dz[at(3)] = gc * a * SLOPE[gate](zg);
      out.dcPrev.push(gc * f);
    }
  }
  return out;
}
