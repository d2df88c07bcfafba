/**
 * Evaluation against a confusion matrix worked out by hand, and against a plain-JS reference
 * (argmax loops and the metric formulas) on random batches: accumulation, masks, class-index
 * labels, merge, top-N, the binary rules and the stats() layout.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../src/index.js';
import { Rng } from './helpers.js';

const D = { dtype: 'DOUBLE' as const };
const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

/** Probability rows with the most mass on `pred` (so argmax is `pred`). */
function probsFor(preds: number[], classes: number): number[][] {
  return preds.map((p) => Array.from({ length: classes }, (_, c) => (c === p ? 0.6 : 0.4 / (classes - 1))));
}
const oneHot = (labels: number[], classes: number): number[][] => labels.map((l) => Array.from({ length: classes }, (_, c) => (c === l ? 1 : 0)));

// The hand example: actual [0,0,0,1,1,2,2,2], predicted [0,1,0,1,1,2,0,1].
// Confusion (rows actual, columns predicted): [[2,1,0],[0,2,0],[1,1,1]].
const ACTUAL = [0, 0, 0, 1, 1, 2, 2, 2];
const PRED = [0, 1, 0, 1, 1, 2, 0, 1];

describe('Evaluation: hand-worked 3-class example', () => {
  const ev = new dl.Evaluation();
  ev.eval(dl.array(oneHot(ACTUAL, 3), D), dl.array(probsFor(PRED, 3), D));

  it('confusion matrix and counts', () => {
    assert.deepEqual(ev.confusionMatrix(), [[2, 1, 0], [0, 2, 0], [1, 1, 1]]);
    assert.equal(ev.numRowCounter(), 8);
    assert.deepEqual([0, 1, 2].map((c) => ev.truePositives(c)), [2, 2, 1]);
    assert.deepEqual([0, 1, 2].map((c) => ev.falsePositives(c)), [1, 2, 0]);
    assert.deepEqual([0, 1, 2].map((c) => ev.falseNegatives(c)), [1, 0, 2]);
    assert.deepEqual([0, 1, 2].map((c) => ev.trueNegatives(c)), [4, 4, 5]);
  });

  it('accuracy, precision, recall, F1 per class and averaged', () => {
    close(ev.accuracy(), 5 / 8);
    close(ev.precision(0), 2 / 3);
    close(ev.precision(1), 1 / 2);
    close(ev.precision(2), 1);
    close(ev.recall(0), 2 / 3);
    close(ev.recall(1), 1);
    close(ev.recall(2), 1 / 3);
    close(ev.f1(0), 2 / 3);
    close(ev.f1(1), 2 / 3);
    close(ev.f1(2), 1 / 2);
    close(ev.precision(), (2 / 3 + 1 / 2 + 1) / 3);
    close(ev.recall(), (2 / 3 + 1 + 1 / 3) / 3);
    close(ev.f1(), (2 / 3 + 2 / 3 + 1 / 2) / 3);
    close(ev.precision('Micro'), 5 / 8);
    close(ev.recall('Micro'), 5 / 8);
    close(ev.f1('Micro'), 5 / 8);
  });

  it('false positive / negative rates, G-measure, Matthews correlation', () => {
    close(ev.falsePositiveRate(0), 1 / 5);
    close(ev.falsePositiveRate(1), 2 / 6);
    close(ev.falsePositiveRate(2), 0);
    close(ev.falsePositiveRate(), (1 / 5 + 2 / 6 + 0) / 3);
    close(ev.falseNegativeRate(2), 2 / 3);
    close(ev.falseNegativeRate(), (1 / 3 + 0 + 2 / 3) / 3);
    close(ev.falseAlarmRate(), ((1 / 5 + 2 / 6) / 3 + 1 / 3) / 2);
    close(ev.gMeasure(1), Math.sqrt(0.5));
    // class 0: tp 2, fp 1, fn 1, tn 4
    close(ev.matthewsCorrelation(0), (2 * 4 - 1 * 1) / Math.sqrt(3 * 3 * 5 * 5));
    // class 1: tp 2, fp 2, fn 0, tn 4; class 2: tp 1, fp 0, fn 2, tn 5
    const mcc = [(2 * 4 - 1) / Math.sqrt(3 * 3 * 5 * 5), (2 * 4 - 0) / Math.sqrt(4 * 2 * 6 * 4), (1 * 5 - 0) / Math.sqrt(1 * 3 * 5 * 7)];
    close(ev.matthewsCorrelation(), (mcc[0]! + mcc[1]! + mcc[2]!) / 3);
    close(ev.scoreForMetric('MCC'), ev.matthewsCorrelation());
    close(ev.scoreForMetric('ACCURACY'), 5 / 8);
    close(ev.scoreForMetric('F1'), (2 / 3 + 2 / 3 + 1 / 2) / 3);
    close(ev.gMeasure(), (Math.sqrt(4 / 9) + Math.sqrt(0.5) + Math.sqrt(1 / 3)) / 3);
  });

  it('stats() lays out metrics and the confusion matrix like DL4J', () => {
    const s = ev.stats();
    const lines = s.split('\n');
    assert.equal(lines[1], '========================Evaluation Metrics========================');
    assert.ok(lines.includes(' # of classes:    3'));
    assert.ok(lines.includes(' Accuracy:        0.6250'));
    assert.ok(lines.includes(` Precision:       ${((2 / 3 + 1 / 2 + 1) / 3).toFixed(4)}`));
    assert.ok(lines.includes(' Recall:          0.6667'));
    assert.ok(lines.includes(` F1 Score:        ${((2 / 3 + 2 / 3 + 1 / 2) / 3).toFixed(4)}`));
    assert.ok(lines.includes('Precision, recall & F1: macro-averaged (equally weighted avg. of 3 classes)'));
    assert.ok(lines.includes('=========================Confusion Matrix========================='));
    const at = lines.indexOf(' 0 1 2');
    assert.ok(at > 0, s);
    assert.deepEqual(lines.slice(at + 1, at + 5), ['-------', ' 2 1 0 | 0 = 0', ' 0 2 0 | 1 = 1', ' 1 1 1 | 2 = 2']);
    assert.ok(lines.includes('Confusion matrix format: Actual (rowClass) predicted as (columnClass) N times'));
    assert.equal(lines[lines.length - 1], '==================================================================');
    assert.ok(!s.includes('Warning'));
  });
});

// ---- plain-JS reference --------------------------------------------------------------------------

function argmax(row: number[]): number {
  let b = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[b]!) b = i;
  return b;
}

interface Ref { cm: number[][]; n: number }
function refConfusion(labels: number[], probs: number[][], classes: number, keep?: boolean[]): Ref {
  const cm = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let n = 0;
  labels.forEach((l, i) => {
    if (keep && !keep[i]) return;
    cm[l]![argmax(probs[i]!)]!++;
    n++;
  });
  return { cm, n };
}
function refMacroPrecision({ cm }: Ref): number {
  const vals: number[] = [];
  cm.forEach((_, c) => {
    const predicted = cm.reduce((s, row) => s + row[c]!, 0);
    if (predicted > 0) vals.push(cm[c]![c]! / predicted);
  });
  return vals.reduce((a, b) => a + b, 0) / vals.length;
}
function refMacroRecall({ cm }: Ref): number {
  const vals: number[] = [];
  cm.forEach((row, c) => {
    const actual = row.reduce((a, b) => a + b, 0);
    if (actual > 0) vals.push(row[c]! / actual);
  });
  return vals.reduce((a, b) => a + b, 0) / vals.length;
}

function randomBatch(rng: Rng, n: number, classes: number): { labels: number[]; probs: number[][] } {
  const labels = Array.from({ length: n }, () => rng.int(0, classes));
  const probs = labels.map((l) => {
    const raw = Array.from({ length: classes }, (_, c) => Math.exp(rng.uniform(-2, 2) + (c === l ? 1 : 0)));
    const s = raw.reduce((a, b) => a + b, 0);
    return raw.map((v) => v / s);
  });
  return { labels, probs };
}

describe('Evaluation: random batches against a plain-JS reference', () => {
  it('accumulates over batches; class-index labels, one-hot labels and merge agree', () => {
    const rng = new Rng(7);
    const C = 5;
    const a = randomBatch(rng, 60, C);
    const b = randomBatch(rng, 45, C);
    const ref = refConfusion([...a.labels, ...b.labels], [...a.probs, ...b.probs], C);

    const acc = new dl.Evaluation(C);
    acc.eval(dl.array(oneHot(a.labels, C), D), dl.array(a.probs, D));
    acc.eval(dl.array(oneHot(b.labels, C), D), dl.array(b.probs, D));
    assert.deepEqual(acc.confusionMatrix(), ref.cm);
    close(acc.accuracy(), ref.cm.reduce((s, row, i) => s + row[i]!, 0) / ref.n);
    close(acc.precision(), refMacroPrecision(ref));
    close(acc.recall(), refMacroRecall(ref));

    const byIndex = new dl.Evaluation();
    byIndex.eval(dl.array(a.labels, { dtype: 'INT32' }), dl.array(a.probs, D));
    const other = new dl.Evaluation();
    other.eval(dl.array(b.labels, [b.labels.length, 1], { dtype: 'INT32' }), dl.array(b.probs, D));
    byIndex.merge(other);
    assert.deepEqual(byIndex.confusionMatrix(), ref.cm);
  });

  it('skips masked rows ([N] and [N, 1] masks)', () => {
    const rng = new Rng(11);
    const { labels, probs } = randomBatch(rng, 40, 4);
    const keep = labels.map(() => rng.next() < 0.6);
    const ref = refConfusion(labels, probs, 4, keep);
    for (const shape of [[40], [40, 1]]) {
      const ev = new dl.Evaluation();
      ev.eval(dl.array(oneHot(labels, 4), D), dl.array(probs, D), dl.array(keep.map(Number), shape, D));
      assert.deepEqual(ev.confusionMatrix(), ref.cm);
      assert.equal(ev.numRowCounter(), keep.filter(Boolean).length);
    }
  });

  it('time series [N, C, T] with a [N, T] mask count every unmasked step', () => {
    const rng = new Rng(3);
    const N = 3, C = 3, T = 4;
    const labels: number[] = [];
    const probs: number[][] = [];
    const keep: boolean[] = [];
    const lab = new Float64Array(N * C * T), pr = new Float64Array(N * C * T), mask = new Float64Array(N * T);
    for (let n = 0; n < N; n++) {
      for (let t = 0; t < T; t++) {
        const l = rng.int(0, C);
        const row = Array.from({ length: C }, () => rng.next());
        const k = rng.next() < 0.7;
        labels.push(l); probs.push(row); keep.push(k);
        mask[n * T + t] = k ? 1 : 0;
        for (let c = 0; c < C; c++) {
          lab[(n * C + c) * T + t] = c === l ? 1 : 0;
          pr[(n * C + c) * T + t] = row[c]!;
        }
      }
    }
    const ev = new dl.Evaluation();
    ev.eval(dl.array(lab, [N, C, T]), dl.array(pr, [N, C, T]), dl.array(mask, [N, T]));
    assert.deepEqual(ev.confusionMatrix(), refConfusion(labels, probs, C, keep).cm);
  });

  it('top-N accuracy: the true class among the N most probable', () => {
    const rng = new Rng(5);
    const { labels, probs } = randomBatch(rng, 80, 6);
    for (const topN of [2, 3]) {
      const ev = new dl.Evaluation({ topN });
      ev.eval(dl.array(oneHot(labels, 6), D), dl.array(probs, D));
      let hits = 0;
      labels.forEach((l, i) => {
        const ranked = probs[i]!.map((p, c) => ({ p, c })).sort((x, y) => y.p - x.p).slice(0, topN);
        if (ranked.some((r) => r.c === l)) hits++;
      });
      close(ev.topNAccuracy(), hits / labels.length);
      assert.ok(ev.stats().includes(` Top ${topN} Accuracy:  ${(hits / labels.length).toFixed(4)}`));
    }
  });

  it('warns about classes never predicted, and leaves them out of the macro precision', () => {
    const ev = new dl.Evaluation();
    // actual [0,1,2,2], predicted [0,1,1,1]: class 2 is never predicted
    ev.eval(dl.array(oneHot([0, 1, 2, 2], 3), D), dl.array(probsFor([0, 1, 1, 1], 3), D));
    close(ev.precision(), (1 + 1 / 3) / 2);
    assert.equal(ev.precision(2), 0);
    assert.ok(ev.stats().includes('Warning: 1 class was never predicted by the model and was excluded from average precision'));
    assert.ok(ev.stats().includes('Classes excluded from average precision: [2]'));
  });
});

describe('Evaluation: binary', () => {
  // actual [1,1,0,0,1], p(class 1) [0.9,0.4,0.6,0.2,0.55]
  const actual = [1, 1, 0, 0, 1];
  const p1 = [0.9, 0.4, 0.6, 0.2, 0.55];

  it('two columns: metrics report the positive class 1', () => {
    const ev = new dl.Evaluation({ labels: ['neg', 'pos'] });
    ev.eval(dl.array(oneHot(actual, 2), D), dl.array(p1.map((p) => [1 - p, p]), D));
    // predicted [1,0,1,0,1]: tp 2, fp 1, fn 1, tn 1
    assert.deepEqual(ev.confusionMatrix(), [[1, 1], [1, 2]]);
    close(ev.precision(), 2 / 3);
    close(ev.recall(), 2 / 3);
    close(ev.f1(), 2 / 3);
    close(ev.precision('Macro'), (1 / 2 + 2 / 3) / 2);
    assert.ok(ev.stats().includes('Precision, recall & F1: reported for positive class (class 1 - "pos") only'));
    assert.ok(ev.stats().includes(' 1 1 | 0 = neg'));
  });

  it('confusion matrix cells widen with the largest count', () => {
    // 12 examples of class 0 all predicted 0, one of class 1 predicted 0: counts [[12, 0], [1, 0]]
    const actual = [...new Array<number>(12).fill(0), 1];
    const ev = new dl.Evaluation();
    ev.eval(dl.array(oneHot(actual, 2), D), dl.array(probsFor(actual.map(() => 0), 2), D));
    const lines = ev.confusionToString().split('\n');
    assert.deepEqual(lines.slice(0, 4), ['  0  1', '-------', ' 12  0 | 0 = 0', '  1  0 | 1 = 1']);
  });

  it('one sigmoid column, default 0.5 threshold and a custom decision threshold', () => {
    const ev = new dl.Evaluation();
    ev.eval(dl.array(actual, [5, 1], D), dl.array(p1, [5, 1], D));
    assert.deepEqual(ev.confusionMatrix(), [[1, 1], [1, 2]]);
    const t = new dl.Evaluation({ binaryDecisionThreshold: 0.58 });
    t.eval(dl.array(actual, [5, 1], D), dl.array(p1, [5, 1], D));
    // predicted [1,0,1,0,0]
    assert.deepEqual(t.confusionMatrix(), [[1, 1], [2, 1]]);
    const t2 = new dl.Evaluation({ binaryDecisionThreshold: 0.58 });
    t2.eval(dl.array(oneHot(actual, 2), D), dl.array(p1.map((p) => [1 - p, p]), D));
    assert.deepEqual(t2.confusionMatrix(), t.confusionMatrix());
  });

  it('binaryPositiveClass null gives macro averages', () => {
    const ev = new dl.Evaluation({ binaryPositiveClass: null });
    ev.eval(dl.array(oneHot(actual, 2), D), dl.array(p1.map((p) => [1 - p, p]), D));
    close(ev.precision(), (1 / 2 + 2 / 3) / 2);
  });
});

describe('Evaluation: errors', () => {
  it('names the shapes that do not fit', () => {
    const ev = new dl.Evaluation(3);
    assert.throws(() => ev.eval(dl.zeros([4, 3]), dl.zeros([4, 2])), /labels FLOAT\[4, 3\] and predictions FLOAT\[4, 2\]/);
    assert.throws(() => ev.eval(dl.zeros([4, 4]), dl.zeros([4, 4])), /3 classes/);
    assert.throws(() => ev.eval(dl.zeros([4, 3]), dl.zeros([4, 3]), dl.zeros([3])), /mask FLOAT\[3\]/);
    assert.throws(() => ev.eval(dl.array([0, 5], { dtype: 'INT32' }), dl.zeros([2, 3])), /label index 5/);
    assert.throws(() => new dl.Evaluation({ topN: 0 }), /topN/);
  });
});
