import type { DataType } from './dtype.js';
import { isFloating } from './dtype.js';
import { sizeOf } from './shape.js';

/** Prints like ND4J: nested brackets, floats with 4 decimals, columns aligned, long axes elided. */
export function formatArray(shape: readonly number[], values: readonly number[], dtype: DataType, maxPerAxis = 10): string {
  const fmt = (v: number): string => {
    if (dtype === 'BOOL') return v ? 'true' : 'false';
    if (!isFloating(dtype)) return String(v);
    if (Number.isNaN(v)) return 'NaN';
    if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
    const a = Math.abs(v);
    return a !== 0 && (a >= 1e8 || a < 1e-4) ? v.toExponential(4) : v.toFixed(4);
  };
  if (shape.length === 0) return fmt(values[0] ?? 0);
  const width = values.reduce((w, v) => Math.max(w, fmt(v).length), 0);
  const render = (axis: number, start: number, indent: string): string => {
    const n = shape[axis]!;
    const inner = sizeOf(shape.slice(axis + 1));
    const shown = n > maxPerAxis ? [0, 1, 2, -1, n - 3, n - 2, n - 1] : Array.from({ length: n }, (_, i) => i);
    const parts = shown.map((i) => {
      if (i < 0) return '...';
      if (axis === shape.length - 1) return fmt(values[start + i]!).padStart(width);
      return render(axis + 1, start + i * inner, indent + ' ');
    });
    const sep = axis === shape.length - 1 ? ', ' : `,\n${indent} `;
    return `[${parts.join(sep)}]`;
  };
  return render(0, 0, '');
}
