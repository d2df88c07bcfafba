import type { CapturedGraph, StepCapture } from '../backend.js';
import type { GraphMemory } from './allocator.js';
import type { CudaDevice } from './device.js';
import { check, cu, out, type Handle } from './driver.js';

/**
 * Relaxed: the allocator may take a new segment from cuMemAlloc mid-capture (the stricter modes refuse
 * it). Calls that would wait for the stream are refused by CudaDevice.assertNotCapturing instead.
 */
const CU_STREAM_CAPTURE_MODE_RELAXED = 2;
const OP = 'captureStep';

/**
 * A CUDA graph instantiated from a stream capture: one cuGraphLaunch replays every kernel, copy and
 * library call that was recorded, with the arguments they had then. It owns the memory the recording
 * used (the allocator keeps it from other arrays) until dispose().
 */
class CudaGraph implements CapturedGraph {
  private exec: Handle | null;

  constructor(
    private readonly device: CudaDevice,
    exec: Handle,
    private readonly memory: GraphMemory,
    readonly nodes: number,
  ) {
    this.exec = exec;
  }

  get memoryBytes(): number {
    return this.memory.bytes;
  }

  replay(): void {
    if (this.exec === null) throw new Error(`${OP}: the graph was disposed`);
    check(cu().graphLaunch(this.exec, this.device.stream), 'cuGraphLaunch', OP);
  }

  dispose(): void {
    if (this.exec === null) return;
    // A replay still running completes first; later work on the stream is queued after it, so the memory may be reused.
    const exec = this.exec;
    this.exec = null;
    this.device.allocator.releaseGraph(this.memory);
    check(cu().graphExecDestroy(exec), 'cuGraphExecDestroy', OP);
  }
}

/** Stream capture on one device (CUDA graphs): what the backend offers as `capture`. */
export class CudaStepCapture implements StepCapture {
  constructor(private readonly device: CudaDevice) {}

  begin(): void {
    const d = this.device;
    if (d.capturing) throw new Error(`${OP}: cuda:${d.ordinal} is already capturing a step (captures do not nest)`);
    d.makeCurrent();
    d.allocator.beginCapture();
    const status = cu().streamBeginCapture(d.stream, CU_STREAM_CAPTURE_MODE_RELAXED);
    if (status !== 0) {
      d.allocator.releaseGraph(d.allocator.endCapture());
      check(status, 'cuStreamBeginCapture', OP);
    }
    d.capturing = true;
  }

  end(): CapturedGraph {
    const d = this.device;
    const graph = this.stop();
    const memory = d.allocator.endCapture();
    try {
      if (graph === null) throw new Error(`${OP}: the capture on cuda:${d.ordinal} was invalidated (an operation in the step cannot be captured)`);
      const count: [number] = [0];
      check(cu().graphGetNodes(graph, null, count), 'cuGraphGetNodes', OP);
      const exec = out('cuGraphInstantiateWithFlags', (o) => cu().graphInstantiate(o, graph, 0), null as Handle, OP);
      return new CudaGraph(d, exec, memory, Number(count[0]));
    } catch (e) {
      d.allocator.releaseGraph(memory);
      throw e;
    } finally {
      if (graph !== null) cu().graphDestroy(graph);
    }
  }

  abort(): void {
    const graph = this.stop();
    if (graph !== null) cu().graphDestroy(graph);
    this.device.allocator.releaseGraph(this.device.allocator.endCapture());
  }

  /** Ends the stream capture: the recorded graph, or null when the capture was invalidated. */
  private stop(): Handle | null {
    const d = this.device;
    if (!d.capturing) throw new Error(`${OP}: cuda:${d.ordinal} is not capturing`);
    d.capturing = false;
    const graph: [Handle | null] = [null];
    const status = cu().streamEndCapture(d.stream, graph);
    // CUDA_ERROR_STREAM_CAPTURE_INVALIDATED: a call in the step broke the capture; the caller reports it.
    if (status !== 0 && status !== 901) check(status, 'cuStreamEndCapture', OP);
    return status === 0 ? graph[0] : null;
  }
}
