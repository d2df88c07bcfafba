/**
 * ROC, ROCMultiClass and ROCBinary: exact AUC against the Mann-Whitney U statistic counted pair by
 * pair here (ties count one half), AUPRC against a curve rebuilt here by scanning every threshold.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../src/index.js';
import { Rng } from './helpers.js';

const D = { dtype: 'DOUBLE' as const };
const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

/** P(score of a random positive > score of a random negative), ties one half. */
function mannWhitneyAuc(scores: number[], positive: boolean[]): number {
  let u = 0, pairs = 0;
  scores.forEach((sp, i) => {
    if (!positive[i]) return;
    scores.forEach((sn, j) => {
      if (positive[j]) return;
      pairs++;
      u += sp > sn ? 1 : sp === sn ? 0.5 : 0;
    });
  });
  return u / pairs;
}

/** Trapezoid area under precision vs recall, thresholds = distinct scores descending, from (0, 1). */
function refAuprc(scores: number[], positive: boolean[]): number {
  const thresholds = [...new Set(scores)].sort((a, b) => b - a);
  const nPos = positive.filter(Boolean).length;
  let prevR = 0, prevP = 1, area = 0;
  for (const t of thresholds) {
    let tp = 0, fp = 0;
    scores.forEach((s, i) => {
      if (s >= t) {
        if (positive[i]) tp++;
        else fp++;
      }
    });
    const r = tp / nPos, p = tp / (tp + fp);
    area += ((r - prevR) * (p + prevP)) / 2;
    prevR = r;
    prevP = p;
  }
  return area;
}

function randomProblem(rng: Rng, n: number, quantum: number): { scores: number[]; positive: boolean[] } {
  const positive = Array.from({ length: n }, () => rng.next() < 0.4);
  // scores on a coarse grid, so ties between positives and negatives occur
  const scores = positive.map((p) => Math.min(1, Math.max(0, Math.round((rng.next() * 0.7 + (p ? 0.25 : 0)) / quantum) * quantum)));
  return { scores, positive };
}

describe('ROC (binary, exact)', () => {
  it('a hand example: positives 0.9, 0.7 and negatives 0.8, 0.1 give AUC 3/4', () => {
    const roc = new dl.ROC();
    roc.eval(dl.array([1, 0, 1, 0], D), dl.array([0.9, 0.8, 0.7, 0.1], D));
    close(roc.calculateAUC(), 0.75);
    // thresholds 0.9: (r 1/2, p 1); 0.8: (1/2, 1/2); 0.7: (1, 2/3); 0.1: (1, 1/2)
    close(roc.calculateAUCPR(), 0.5 * 1 + 0.5 * (0.5 + 2 / 3) / 2);
    const c = roc.getRocCurve();
    assert.deepEqual(c.falsePositiveRate, [0, 0, 0.5, 0.5, 1]);
    assert.deepEqual(c.truePositiveRate, [0, 0.5, 0.5, 1, 1]);
    assert.equal(roc.getCountActualPositive(), 2);
    assert.equal(roc.getCountActualNegative(), 2);
  });

  it('AUC equals the Mann-Whitney statistic with ties, over batches and merge; AUPRC matches', () => {
    const rng = new Rng(99);
    for (const quantum of [0.1, 1e-9]) {
      const { scores, positive } = randomProblem(rng, 120, quantum);
      const roc = new dl.ROC();
      roc.eval(dl.array(positive.slice(0, 70).map(Number), [70, 1], D), dl.array(scores.slice(0, 70), [70, 1], D));
      const rest = new dl.ROC();
      rest.eval(dl.array(positive.slice(70).map(Number), [50, 1], D), dl.array(scores.slice(70), [50, 1], D));
      roc.merge(rest);
      close(roc.calculateAUC(), mannWhitneyAuc(scores, positive));
      close(roc.calculateAUCPR(), refAuprc(scores, positive));
    }
  });

  it('two columns use column 1 as the positive class; masked rows are skipped', () => {
    const rng = new Rng(5);
    const { scores, positive } = randomProblem(rng, 50, 0.05);
    const keep = scores.map(() => rng.next() < 0.7);
    const roc = new dl.ROC();
    roc.eval(dl.array(positive.map((p) => [p ? 0 : 1, p ? 1 : 0]), D), dl.array(scores.map((s) => [1 - s, s]), D), dl.array(keep.map(Number), D));
    const ks = scores.filter((_, i) => keep[i]), kp = positive.filter((_, i) => keep[i]);
    close(roc.calculateAUC(), mannWhitneyAuc(ks, kp));
  });

  it('errors: labels not 0/1, too many columns', () => {
    assert.throws(() => new dl.ROC().eval(dl.array([0.5, 1], D), dl.array([0.5, 1], D)), /labels must be 0 or 1, got 0.5/);
    assert.throws(() => new dl.ROC().eval(dl.zeros([2, 3]), dl.zeros([2, 3])), /ROCMultiClass/);
  });
});

describe('ROCMultiClass and ROCBinary', () => {
  it('one-vs-all AUC per class and their average', () => {
    const rng = new Rng(17);
    const C = 4, N = 90;
    const labels = Array.from({ length: N }, () => rng.int(0, C));
    const probs = labels.map((l) => {
      const raw = Array.from({ length: C }, (_, c) => Math.round(Math.exp(rng.uniform(-1, 1) + (c === l ? 0.8 : 0)) * 10) / 10);
      const s = raw.reduce((a, b) => a + b, 0);
      return raw.map((v) => v / s);
    });
    const roc = new dl.ROCMultiClass();
    roc.eval(dl.array(labels.map((l) => Array.from({ length: C }, (_, c) => (c === l ? 1 : 0))), D), dl.array(probs, D));
    let sum = 0, sumPr = 0;
    for (let c = 0; c < C; c++) {
      const s = probs.map((r) => r[c]!), pos = labels.map((l) => l === c);
      const auc = mannWhitneyAuc(s, pos);
      close(roc.calculateAUC(c), auc);
      close(roc.calculateAUCPR(c), refAuprc(s, pos));
      sum += auc;
      sumPr += refAuprc(s, pos);
    }
    close(roc.calculateAverageAUC(), sum / C);
    close(roc.calculateAverageAUCPR(), sumPr / C);
    assert.equal(roc.stats().split('\n').length, C + 3);
  });

  it('ROCBinary: independent outputs with a per-output mask', () => {
    const rng = new Rng(8);
    const N = 60, C = 3;
    const lab = Array.from({ length: N }, () => Array.from({ length: C }, () => (rng.next() < 0.5 ? 1 : 0)));
    const pr = lab.map((r) => r.map((v) => Math.round((rng.next() * 0.8 + v * 0.2) * 20) / 20));
    const mask = lab.map((r) => r.map(() => (rng.next() < 0.75 ? 1 : 0)));
    const roc = new dl.ROCBinary();
    roc.eval(dl.array(lab, D), dl.array(pr, D), dl.array(mask, D));
    for (let c = 0; c < C; c++) {
      const keep = (i: number): boolean => mask[i]![c] === 1;
      const s = pr.map((r) => r[c]!).filter((_, i) => keep(i));
      const pos = lab.map((r) => r[c] === 1).filter((_, i) => keep(i));
      close(roc.calculateAUC(c), mannWhitneyAuc(s, pos));
    }
  });
});
