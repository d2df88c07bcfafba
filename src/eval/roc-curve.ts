/**
 * Exact ROC and precision-recall curves of one binary problem (DL4J's exact mode, thresholdSteps 0):
 * every distinct score is a threshold, so the area is exact, with tied scores counted as half a win
 * (the Mann-Whitney U statistic).
 */

/** Points of a ROC curve, from the strictest threshold (nothing positive) to the loosest. */
export interface RocCurve {
  /** Predict positive when the score is at least the threshold (the first, Infinity, predicts none). */
  readonly thresholds: number[];
  readonly falsePositiveRate: number[];
  readonly truePositiveRate: number[];
}

/** Points of a precision-recall curve; the first is (recall 0, precision 1) at threshold Infinity. */
export interface PrecisionRecallCurve {
  readonly thresholds: number[];
  readonly precision: number[];
  readonly recall: number[];
}

/** Scores and 0/1 labels of one binary problem, kept whole for the exact curve. */
export class BinaryScores {
  private scores: number[] = [];
  private positives: boolean[] = [];
  private nPos = 0;

  add(score: number, positive: boolean): void {
    if (Number.isNaN(score)) throw new Error('ROC: a prediction is NaN');
    this.scores.push(score);
    this.positives.push(positive);
    if (positive) this.nPos++;
  }

  merge(other: BinaryScores): void {
    for (let i = 0; i < other.scores.length; i++) this.add(other.scores[i]!, other.positives[i]!);
  }

  get count(): number {
    return this.scores.length;
  }

  get countPositive(): number {
    return this.nPos;
  }

  get countNegative(): number {
    return this.scores.length - this.nPos;
  }

  /** Cumulative (tp, fp) after each distinct score, scores descending. */
  private steps(): { threshold: number; tp: number; fp: number }[] {
    const order = this.scores.map((_, i) => i).sort((a, b) => this.scores[b]! - this.scores[a]!);
    const out: { threshold: number; tp: number; fp: number }[] = [];
    let tp = 0;
    let fp = 0;
    for (let k = 0; k < order.length; ) {
      const t = this.scores[order[k]!]!;
      while (k < order.length && this.scores[order[k]!] === t) {
        if (this.positives[order[k]!]) tp++;
        else fp++;
        k++;
      }
      out.push({ threshold: t, tp, fp });
    }
    return out;
  }

  rocCurve(): RocCurve {
    const p = this.nPos;
    const n = this.countNegative;
    const curve: RocCurve = { thresholds: [Infinity], falsePositiveRate: [0], truePositiveRate: [0] };
    for (const s of this.steps()) {
      curve.thresholds.push(s.threshold);
      curve.falsePositiveRate.push(n === 0 ? 0 : s.fp / n);
      curve.truePositiveRate.push(p === 0 ? 0 : s.tp / p);
    }
    return curve;
  }

  precisionRecallCurve(): PrecisionRecallCurve {
    const p = this.nPos;
    const curve: PrecisionRecallCurve = { thresholds: [Infinity], precision: [1], recall: [0] };
    for (const s of this.steps()) {
      curve.thresholds.push(s.threshold);
      curve.precision.push(s.tp / (s.tp + s.fp));
      curve.recall.push(p === 0 ? 0 : s.tp / p);
    }
    return curve;
  }

  /** Area under the ROC curve by the trapezoid rule; NaN without both positives and negatives. */
  auc(): number {
    if (this.nPos === 0 || this.countNegative === 0) return NaN;
    const c = this.rocCurve();
    return trapezoid(c.falsePositiveRate, c.truePositiveRate);
  }

  /** Area under the precision-recall curve by the trapezoid rule over recall; NaN without positives. */
  auprc(): number {
    if (this.nPos === 0) return NaN;
    const c = this.precisionRecallCurve();
    return trapezoid(c.recall, c.precision);
  }
}

function trapezoid(x: readonly number[], y: readonly number[]): number {
  let area = 0;
  for (let i = 1; i < x.length; i++) area += ((x[i]! - x[i - 1]!) * (y[i]! + y[i - 1]!)) / 2;
  return area;
}
