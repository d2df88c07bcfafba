/**
 * Checks that bench/networks_gpu_torch.py rebuilds the GPU benchmark's networks as the same functions
 * dl4ts computes. For each model dl4ts (CPU backend, FLOAT) trains three steps on a small random
 * batch, so weights and batch-normalization statistics leave their initial values; its parameters
 * (safetensors), the batch and its inference output then go to the PyTorch side (--check), which
 * loads them into its model and compares its softmax output in float64.
 *   node dist/bench/networks-gpu-check.js [--models mlp,lenet,resnet18,lstm]   (python3 with torch; no GPU needed)
 * Exits 1 when an output differs by more than TOLERANCE or a model cannot be compared.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as nd from '../src/index.js';
import { CLASSES, GPU_MODEL_NAMES, gpuModel, portableModel, type GpuModelName, type PortableModel } from './networks-gpu-spec.js';
import { fmt, markdownTable } from './report.js';
import { runTorchScript } from './torch-bridge.js';

/** dl4ts computes in FLOAT, PyTorch here in float64: probabilities agree to float32 rounding accumulated over the layers. */
const TOLERANCE = 1e-4;
const BATCH = 3;

interface CheckItem {
  readonly portable: PortableModel;
  readonly weights: string;
  readonly x: { readonly shape: readonly number[]; readonly data: readonly number[] };
  readonly output: readonly number[];
}

interface CheckAnswer {
  readonly torch: string;
  readonly results: Readonly<Record<string, { readonly max_abs_diff: number } | { readonly error: string }>>;
}

const { values } = parseArgs({ options: { models: { type: 'string' } } });
const picked = values.models?.split(',').map((s) => s.trim().toLowerCase()) ?? [...GPU_MODEL_NAMES];
const bad = picked.filter((m) => !(GPU_MODEL_NAMES as readonly string[]).includes(m));
if (bad.length > 0) {
  console.error(`networks-gpu-check: unknown models ${bad.join(', ')}; expected some of ${GPU_MODEL_NAMES.join(', ')}`);
  process.exit(2);
}
const models = GPU_MODEL_NAMES.filter((m) => picked.includes(m));

nd.setBackend('cpu');
const dir = mkdtempSync(join(tmpdir(), 'dl4ts-netcheck-'));

async function item(name: GpuModelName): Promise<CheckItem> {
  const spec = gpuModel(name);
  const model = spec.configuration('FLOAT');
  const net = model.kind === 'graph' ? new nd.ComputationGraph(model.conf).init() : new nd.MultiLayerNetwork(model.conf).init();
  const ds = nd.scope(() => new nd.DataSet(
    nd.randn([BATCH, ...spec.exampleShape], { seed: 5 }),
    nd.oneHot(nd.argmax(nd.randn([BATCH, CLASSES], { seed: 6 }), 1), CLASSES, { dtype: 'FLOAT' }),
  ));
  try {
    for (let i = 0; i < 3; i++) net.fit(ds);
    const weights = join(dir, `${name}.safetensors`);
    await nd.exportSafetensors(net, weights);
    const output = nd.scope(() => {
      const o = net.output(ds.features);
      return Array.from((Array.isArray(o) ? o[0]! : o).toFlatArray());
    });
    return { portable: portableModel(spec, 'FLOAT', BATCH), weights, x: { shape: ds.features.shape, data: Array.from(ds.features.toFlatArray()) }, output };
  } finally {
    ds.close();
    net.close();
  }
}

let failed = true;
try {
  const items: CheckItem[] = [];
  for (const m of models) items.push(await item(m));
  const answer = runTorchScript<CheckAnswer>('networks_gpu_torch.py', ['--check'], { models: items });
  const rows = models.map((m) => {
    const r = answer.results[m];
    if (!r || 'error' in r) return [m, 'n/a', `FAILED: ${r ? r.error : 'no answer'}`];
    return [m, fmt(r.max_abs_diff, 9), r.max_abs_diff <= TOLERANCE ? 'same function' : `FAILED: above ${TOLERANCE}`];
  });
  console.log(`dl4ts (CPU, FLOAT, 3 SGD steps, batch ${BATCH}) against the PyTorch ${answer.torch} rebuild (float64) with dl4ts's parameters loaded:\n`);
  console.log(markdownTable(['model', 'max abs difference of softmax outputs', `verdict (tolerance ${TOLERANCE})`], rows));
  failed = rows.some((r) => r[2] !== 'same function');
} catch (e) {
  console.error(`networks-gpu-check: ${e instanceof Error ? e.message : String(e)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
