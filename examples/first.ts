/**
 * A first tour of dl4ts (`npm run example:first`): arrays, broadcasting, reductions, matrix products, and a
 * small neural network trained with autograd to separate two interleaved spirals.
 */
import {
  argmax, array, concat, cos, eq, linspace, logSoftmax, matmul, mean, mul, neg, noGrad, oneHot,
  ones, randn, relu, scope, setSeed, sin, stack, sum, zeros, zerosLike, type NDArray,
} from '../src/index.js';

// ---- 1. Arrays -------------------------------------------------------------------------------------
const a = array([
  [1, 2, 3],
  [4, 5, 6],
]); // FLOAT [2, 3]: float32 is the default type
const row = array([10, 20, 30]); // [3]

console.log(`a: ${a.dtype} [${a.shape.join(', ')}]\n${a}\n`);
// Broadcasting: row [3] is stretched over a's 2 rows, without copying it.
console.log(`a + row (broadcast):\n${a.add(row)}\n`);
// Reductions: sum over axis 0 (down the columns), mean of everything.
console.log(`sum over axis 0: ${a.sum(0)}   mean: ${a.mean().item()}\n`);
// Matrix product; transpose() is a view, the kernel reads its strides.
console.log(`a @ a^T:\n${matmul(a, a.transpose())}\n`);

// ---- 2. Data: two interleaved spirals ------------------------------------------------------------
setSeed(42); // every random draw below is reproducible

/** Class 0 winds out from the centre; class 1 is the same arm turned by half a turn; noise blurs both. */
function spirals(perClass: number, turns: number, noise: number): { x: NDArray; labels: NDArray } {
  return scope(() => {
    const radius = linspace(0.05, 1, perClass);
    const angle = mul(radius, 2 * Math.PI * turns);
    const arm = stack([mul(radius, cos(angle)), mul(radius, sin(angle))], 1); // [perClass, 2]
    const points = concat([arm, neg(arm)], 0); // [2 * perClass, 2]
    const x = points.add(randn(points.shape, { std: noise }));
    const labels = concat([zeros([perClass], { dtype: 'INT32' }), ones([perClass], { dtype: 'INT32' })]);
    return { x, labels }; // returned arrays survive the scope; the temporaries are freed
  });
}

const { x, labels } = spirals(300, 1.5, 0.04);
const targets = oneHot(labels, 2); // [600, 2] FLOAT

// ---- 3. Model: 2 -> 64 -> 2 with relu ------------------------------------------------------------
const HIDDEN = 64;
/** He initialisation: normal with std sqrt(2 / fan-in), so relu layers keep their scale. */
const weight = (fanIn: number, fanOut: number): NDArray => randn([fanIn, fanOut], { std: Math.sqrt(2 / fanIn) }).requireGrad();
const params = [weight(2, HIDDEN), zeros([HIDDEN]).requireGrad(), weight(HIDDEN, 2), zeros([2]).requireGrad()];
const [w1, b1, w2, b2] = params as [NDArray, NDArray, NDArray, NDArray];
const velocity = params.map((p) => zerosLike(p)); // momentum buffers

const logits = (input: NDArray): NDArray => relu(input.mmul(w1).add(b1)).mmul(w2).add(b2);

/** Mean softmax cross-entropy: -mean over the batch of log p(true class). */
const crossEntropy = (z: NDArray, oneHotTargets: NDArray): NDArray => neg(mean(sum(mul(oneHotTargets, logSoftmax(z)), -1)));

const accuracy = (): number => scope(() => noGrad(() => mean(eq(argmax(logits(x), 1), labels)).item()));

// ---- 4. Training: full-batch gradient descent with momentum --------------------------------------
const LEARNING_RATE = 0.2;
const MOMENTUM = 0.9;
const EPOCHS = 1500;
const start = performance.now();

for (let epoch = 1; epoch <= EPOCHS; epoch++) {
  // scope(): every array made in the step is freed at its end, so memory stays flat.
  const loss = scope(() => {
    const l = crossEntropy(logits(x), targets);
    l.backward(); // fills w1.grad, b1.grad, w2.grad, b2.grad
    return l.item();
  });

  // noGrad(): the update itself must not be recorded for autograd.
  noGrad(() =>
    scope(() => {
      params.forEach((p, i) => {
        const v = velocity[i]!;
        v.muli(MOMENTUM).addi(p.grad!); // v = momentum * v + grad
        p.subi(v.mul(LEARNING_RATE)); // p -= lr * v
        p.grad!.close(); // gradients accumulate across backward() calls: drop them
        p.grad = null;
      });
    }),
  );

  if (epoch % 150 === 0 || epoch === 1) console.log(`epoch ${String(epoch).padStart(4)}  loss ${loss.toFixed(4)}`);
}

const seconds = (performance.now() - start) / 1000;
console.log(`\ntraining accuracy: ${(100 * accuracy()).toFixed(1)}% after ${EPOCHS} epochs in ${seconds.toFixed(1)} s`);

// Arrays made outside any scope can be closed explicitly (or left to the garbage collector).
for (const t of [a, row, x, labels, targets, ...params, ...velocity]) t.close();
