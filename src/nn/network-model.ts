/**
 * What MultiLayerNetwork and ComputationGraph share, all kept by their TrainingCore: the counters,
 * listeners, gradient exchange, parameters, updater state, gradients and release. Each subclass adds
 * its forward pass, its data and DL4J's model-specific methods.
 */
import type { NDArray } from '../ndarray/ndarray.js';
import { scopeChildren, type HoldsArrays } from '../ndarray/scope.js';
import type { TrainingListener } from './listeners.js';
import type { GradientExchange, TrainingCapture, TrainingCore } from './training-core.js';
import type { RecordableBatch } from './recorded-backprop.js';

export abstract class NetworkModel<B extends RecordableBatch<B>> implements HoldsArrays {
  protected abstract readonly core: TrainingCore<B>;

  /** Minibatch steps done so far (DL4J's iterationCount). */
  get iterationCount(): number {
    return this.core.iterationCount;
  }

  set iterationCount(n: number) {
    this.core.iterationCount = n;
  }

  /** Epochs completed so far (DL4J's epochCount). */
  get epochCount(): number {
    return this.core.epochCount;
  }

  set epochCount(n: number) {
    this.core.epochCount = n;
  }

  get closed(): boolean {
    return this.core.closed;
  }

  [scopeChildren](): Iterable<NDArray> {
    return this.core.arrays();
  }

  /**
   * Installs (or removes, with null) a hook that every backprop calls right after the data-loss
   * gradients exist, before gradient normalization and before the l1/l2 gradients are added. It gets
   * the trainable parameters' .grad arrays in flat parameter order and may replace their values in
   * place: data-parallel training averages them over workers here, so normalization and
   * regularization then act identically on every replica (DL4J's SHARED_GRADIENTS).
   */
  setGradientExchange(fn: GradientExchange | null): void {
    this.core.setGradientExchange(fn);
  }

  /** Whether fit replays its forward and backward passes as CUDA graphs, and if not although enabled, why. */
  get trainingCapture(): TrainingCapture {
    return this.core.trainingCapture;
  }

  /** The gradients of the last computeGradientAndScore, keyed like the parameters (paramTable()); owned by the model. */
  gradient(): Map<string, NDArray> {
    return this.core.gradient();
  }

  setListeners(...listeners: TrainingListener[]): void {
    this.core.setListeners(listeners);
  }

  addListeners(...listeners: TrainingListener[]): void {
    this.core.addListeners(listeners);
  }

  get listeners(): readonly TrainingListener[] {
    return this.core.listeners;
  }

  numParams(): number {
    return this.core.numParams();
  }

  /** All parameters as one new 1-D array, in paramTable() order, each row-major (DL4J's params()). */
  params(): NDArray {
    return this.core.params();
  }

  /** Copies a flat vector laid out as params() into the parameters (in place). */
  setParams(flat: NDArray): void {
    this.core.setParams(flat);
  }

  /** The parameters by DL4J key ('0_W', '0_b', ... in a network; '<vertex>_W', ... in a graph); owned by the model. */
  paramTable(): Map<string, NDArray> {
    return this.core.paramTable();
  }

  /** Updater state keyed `${paramIndex}/${stateName}` over the flat parameter list; arrays owned by the model. */
  updaterState(): Record<string, NDArray> {
    return this.core.updaterState();
  }

  /** Restores state saved by updaterState() (values are copied). */
  setUpdaterState(state: Readonly<Record<string, NDArray>>): void {
    this.core.setUpdaterState(state);
  }

  /** Releases the parameters, gradients, updater state, score and the layers' recurrent state. */
  close(): void {
    this.core.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
