import type { DataType } from '../ndarray/dtype.js';

/** A backend's storage handle: opaque to the front end. */
export interface BackendBuffer {
  readonly bytes: number;
}

/** A strided view of a buffer, as kernels receive it (offset and strides in elements). */
export interface TensorRef {
  readonly buffer: BackendBuffer;
  readonly dtype: DataType;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
}

export type UnaryOp =
  | 'identity' | 'neg' | 'abs' | 'sign' | 'exp' | 'log' | 'log1p' | 'expm1' | 'sqrt' | 'rsqrt' | 'square'
  | 'reciprocal' | 'sin' | 'cos' | 'tanh' | 'sigmoid' | 'relu' | 'leakyrelu' | 'elu' | 'selu' | 'gelu'
  | 'swish' | 'softplus' | 'hardtanh' | 'hardsigmoid' | 'floor' | 'ceil' | 'round' | 'not' | 'pow' | 'clip'
  | 'addScalar' | 'mulScalar' | 'rsubScalar' | 'rdivScalar' | 'fill';

export type BinaryOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min' | 'mod' | 'squaredDifference'
  | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'and' | 'or' | 'xor'
  | 'reluGrad' | 'leakyreluGrad' | 'eluGrad' | 'seluGrad' | 'geluGrad' | 'swishGrad' | 'softplusGrad'
  | 'hardtanhGrad' | 'hardsigmoidGrad' | 'sigmoidGrad' | 'tanhGrad';

export type ReduceOp =
  | 'sum' | 'mean' | 'prod' | 'max' | 'min' | 'argmax' | 'argmin' | 'variance' | 'std'
  | 'norm1' | 'norm2' | 'logsumexp' | 'any' | 'all';

export type RandomDistribution = 'uniform' | 'normal' | 'truncnormal' | 'bernoulli';

export interface Conv2dGeometry {
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly ph: number;
  readonly pw: number;
  readonly dh: number;
  readonly dw: number;
}

export type PoolOp = 'max' | 'avg';

/** Hyperparameters of one fused Adam-family step (Backend.adamStep). */
export interface AdamStepParams {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** Step size, the bias correction folded in. */
  readonly alpha: number;
  /** Factor on p before the step: AdamW's 1 - lr * weightDecay, 1 for Adam. */
  readonly decay: number;
}

/**
 * Convolutions a backend runs directly (cuDNN); without them the front end uses im2col + matmul.
 * Operands are packed NCHW: x [N, C, H, W], w [O, C, kh, kw], y [N, O, oh, ow].
 */
export interface DirectConvolution {
  supports(dtype: DataType): boolean;
  forward(x: TensorRef, w: TensorRef, y: TensorRef, g: Conv2dGeometry): void;
  backwardData(w: TensorRef, dy: TensorRef, dx: TensorRef, g: Conv2dGeometry): void;
  backwardFilter(x: TensorRef, dy: TensorRef, dw: TensorRef, g: Conv2dGeometry): void;
}

/**
 * Batch normalization in training mode as fused kernels (the backend's own, e.g. on the GPU);
 * without it the front end composes the same math from reductions and elementwise ops. x, y, dy and
 * dx are packed [N, C, S]; gamma, beta, dgamma, dbeta and the running mean/var are [C] of x's dtype;
 * mean and invStd are [C] in the statistics type (DOUBLE for DOUBLE, FLOAT otherwise).
 */
export interface FusedBatchNorm {
  supports(dtype: DataType): boolean;
  /** y = (x - mean) * invStd * gamma + beta with the batch's mean and biased variance, saved in mean/invStd; running = decay * running + (1 - decay) * batch. */
  forwardTraining(x: TensorRef, gamma: TensorRef, beta: TensorRef, y: TensorRef, mean: TensorRef, invStd: TensorRef, runMean: TensorRef, runVar: TensorRef, eps: number, decay: number): void;
  /** The gradients of forwardTraining's y with respect to x, gamma and beta. */
  backward(x: TensorRef, dy: TensorRef, gamma: TensorRef, mean: TensorRef, invStd: TensorRef, dx: TensorRef, dgamma: TensorRef, dbeta: TensorRef): void;
}

/** The activations the fused LSTM cell computes (DL4J's LSTM defaults are tanh and sigmoid). */
export type LstmCellActivation = 'tanh' | 'sigmoid' | 'hardsigmoid';

/**
 * The elementwise part of one LSTM step as fused kernels (the backend's own, e.g. on the GPU);
 * without it the front end composes it from ops. z = zx + zh (zh absent: z = zx) are the [N, 4H]
 * pre-activations in DL4J's block order (a, f, o, g); c = f * cPrev + g * a (cPrev absent: zeros) and
 * h = o * activation(c), with a = activation(z_a) and f, o, g = gate(z_f, z_o, z_g). gates [N, 4H]
 * keeps the activated blocks for backward. Every operand is contiguous and of one float dtype;
 * arithmetic runs in float (double for DOUBLE).
 */
export interface FusedLstmCell {
  supports(dtype: DataType): boolean;
  forward(zx: TensorRef, zh: TensorRef | null, cPrev: TensorRef | null, h: TensorRef, c: TensorRef, gates: TensorRef, activation: LstmCellActivation, gate: LstmCellActivation): void;
  /** dz (for zx and zh alike) and dcPrev (when wanted) from the gradients of h and c (absent: zeros). */
  backward(gates: TensorRef, cPrev: TensorRef | null, c: TensorRef, dh: TensorRef | null, dc: TensorRef | null, dz: TensorRef, dcPrev: TensorRef | null, activation: LstmCellActivation, gate: LstmCellActivation): void;
}

export interface DeviceInfo {
  readonly id: number;
  readonly name: string;
  readonly memoryBytes?: number;
}

export interface BackendInfo {
  readonly name: string;
  readonly priority: number;
  readonly devices: readonly DeviceInfo[];
  readonly details: Readonly<Record<string, string | number | boolean>>;
}

export interface MemoryInfo {
  readonly bytes: number;
  readonly buffers: number;
  readonly peakBytes: number;
}

/** A recorded sequence of device work, replayed as a whole (a CUDA graph). */
export interface CapturedGraph {
  /** Operations recorded (kernels, copies, library calls). */
  readonly nodes: number;
  /** Bytes of device memory kept for the replays. */
  readonly memoryBytes: number;
  /** Queues the recorded work again, with the arguments and addresses it had when recorded. */
  replay(): void;
  /** Frees the graph and returns its memory to the backend. */
  dispose(): void;
}

/**
 * Recording of the work a function queues, when the backend can replay it (CUDA stream capture). While
 * recording nothing runs, and operations that wait for the device or copy host data throw.
 */
export interface StepCapture {
  begin(): void;
  /** Ends the recording; the graph owns the memory the recording allocated or freed until disposed. */
  end(): CapturedGraph;
  /** Ends a recording that failed, releasing what it held. */
  abort(): void;
}

/**
 * What a backend implements: storage, copies and a small set of kernels. Everything else (shapes,
 * broadcasting, views, type promotion, autograd) lives in the front end, so a new backend is only
 * this. Kernels may run asynchronously; `read` waits for pending work.
 */
export interface Backend {
  readonly name: string;
  readonly priority: number;
  info(): BackendInfo;
  memory(): MemoryInfo;

  /** New storage; zero-filled when `zeroed`, else its contents are undefined (outputs overwrite them). */
  alloc(bytes: number, zeroed: boolean): BackendBuffer;
  free(buffer: BackendBuffer): void;
  write(buffer: BackendBuffer, byteOffset: number, data: ArrayBufferView): void;
  read(buffer: BackendBuffer, byteOffset: number, out: ArrayBufferView): void;
  /** Waits until every kernel queued so far has finished. */
  synchronize(): void;

  unary(op: UnaryOp, x: TensorRef, out: TensorRef, alpha?: number, beta?: number): void;
  binary(op: BinaryOp, a: TensorRef, b: TensorRef, out: TensorRef, alpha?: number, beta?: number): void;
  where(cond: TensorRef, a: TensorRef, b: TensorRef, out: TensorRef): void;
  reduce(op: ReduceOp, x: TensorRef, out: TensorRef, axes: readonly number[], ddof?: number): void;
  softmax(x: TensorRef, out: TensorRef, axis: number, log: boolean): void;
  softmaxGrad(y: TensorRef, g: TensorRef, out: TensorRef, axis: number, log: boolean): void;
  gather(x: TensorRef, indices: TensorRef, out: TensorRef, axis: number): void;
  scatterAdd(target: TensorRef, indices: TensorRef, updates: TensorRef, axis: number): void;
  random(dist: RandomDistribution, out: TensorRef, seed: bigint, stream: number, p1: number, p2: number): void;
  matmul(a: TensorRef, b: TensorRef, out: TensorRef, alpha: number, beta: number): void;
  im2col(x: TensorRef, cols: TensorRef, g: Conv2dGeometry): void;
  col2im(cols: TensorRef, x: TensorRef, g: Conv2dGeometry): void;
  pool2d(op: PoolOp, x: TensorRef, out: TensorRef, g: Conv2dGeometry, countIncludePad: boolean): void;
  pool2dGrad(op: PoolOp, x: TensorRef, gradOut: TensorRef, gradIn: TensorRef, g: Conv2dGeometry, countIncludePad: boolean): void;
  /**
   * One Adam step in place over four separate contiguous arrays of one shape and float dtype (FLOAT or
   * DOUBLE), each operation in that dtype: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
   * p = decay p - alpha (m / (sqrt(v) + epsilon)). One pass instead of a dozen elementwise kernels.
   */
  adamStep(p: TensorRef, g: TensorRef, m: TensorRef, v: TensorRef, h: AdamStepParams): void;
  /** Direct convolutions, when the backend has them (null or absent: im2col + matmul). */
  readonly convolution?: DirectConvolution | null;
  /** Fused batch normalization, when the backend has it (null or absent: composed from ops). */
  readonly batchNorm?: FusedBatchNorm | null;
  /** The fused elementwise part of an LSTM step, when the backend has it (null or absent: composed from ops). */
  readonly lstmCell?: FusedLstmCell | null;
  /** Recording and replay of whole steps, when the backend has it (null or absent: steps run eagerly). */
  readonly capture?: StepCapture | null;
}
