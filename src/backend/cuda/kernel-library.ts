import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cu, out, type Handle } from './driver.js';
import { KernelCache } from './kernel-cache.js';
import { Kernel, type ParamKind } from './launch.js';
import { compileToCubin, nvrtcVersion } from './nvrtc.js';

/** The package's kernels/cuda folder, from src/ or dist/src/. */
function kernelsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'kernels', 'cuda');
    if (existsSync(join(candidate, 'common.cuh'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('dl4ts: the CUDA kernel sources (kernels/cuda) are missing from the package');
}

const expanded = new Map<string, string>();

/** A kernel file with its local #include "..." lines inlined (each header once), so the hash covers everything. */
function expandSource(file: string): string {
  const cached = expanded.get(file);
  if (cached) return cached;
  const dir = kernelsDir();
  const seen = new Set<string>();
  const expand = (name: string): string =>
    readFileSync(join(dir, name), 'utf8')
      .split('\n')
      .map((line) => {
        const m = /^\s*#include\s+"([^"]+)"/.exec(line);
        if (!m) return line.startsWith('#pragma once') ? '' : line;
        if (seen.has(m[1]!)) return '';
        seen.add(m[1]!);
        return expand(m[1]!);
      })
      .join('\n');
  const src = expand(file);
  expanded.set(file, src);
  return src;
}

interface SpecNode {
  spec?: KernelSpec;
  readonly next: Map<string, SpecNode>;
}
const interned: SpecNode = { next: new Map() };

/**
 * Interns specs by the parts that name them (module, entry, op, dtypes), so hot paths look kernels up
 * by object identity. The parts are matched one by one: a key joined per call cost more than the launch.
 */
export function internSpec(parts: readonly string[], make: () => KernelSpec): KernelSpec {
  let node = interned;
  for (const p of parts) {
    let child = node.next.get(p);
    if (!child) node.next.set(p, (child = { next: new Map() }));
    node = child;
  }
  return (node.spec ??= make());
}

export interface KernelSpec {
  /** Source file in kernels/cuda. */
  readonly file: string;
  /** Macros that specialise the file (op, types, kind). */
  readonly defines: Readonly<Record<string, string>>;
  readonly entry: string;
  readonly params: readonly ParamKind[];
}

/**
 * Compiles kernels for one device on first use (NVRTC, for the device's architecture), caching the
 * code on disk and the loaded functions in memory. Must be used with the device's context current.
 */
export class KernelLibrary {
  private readonly kernels = new Map<string, Kernel>();
  private readonly bySpec = new WeakMap<KernelSpec, Kernel>();
  private readonly modules = new Map<string, Handle>();
  private readonly cache = new KernelCache();
  private compilerVersion: string | undefined;
  /** Compile and load statistics, for the first-use benchmark. */
  readonly stats = { compiled: 0, cacheHits: 0, compileMs: 0, loadMs: 0 };

  constructor(private readonly arch: string) {}

  get(spec: KernelSpec, op: string): Kernel {
    return this.bySpec.get(spec) ?? this.load(spec, op);
  }

  private load(spec: KernelSpec, op: string): Kernel {
    const defines = Object.entries(spec.defines).map(([k, v]) => `#define ${k} ${v}`).join('\n');
    const id = `${spec.file}|${defines}|${spec.entry}`;
    const hit = this.kernels.get(id);
    if (hit) {
      this.bySpec.set(spec, hit);
      return hit;
    }
    const module = this.module(spec.file, defines, op);
    const fn = out('cuModuleGetFunction', (o) => cu().moduleGetFunction(o, module, spec.entry), null as Handle, op);
    const k = new Kernel(`${spec.entry}[${Object.values(spec.defines).join(',')}]`, fn, spec.params);
    this.kernels.set(id, k);
    this.bySpec.set(spec, k);
    return k;
  }

  private module(file: string, defines: string, op: string): Handle {
    const key = `${file}|${defines}`;
    const existing = this.modules.get(key);
    if (existing) return existing;
    const source = `${defines}\n${expandSource(file)}`;
    const options = [`--gpu-architecture=${this.arch}`, '--std=c++17', '-default-device'];
    this.compilerVersion ??= nvrtcVersion();
    const hash = KernelCache.key(source, options, this.compilerVersion);
    let cubin = this.cache.get(hash);
    if (cubin) {
      this.stats.cacheHits++;
    } else {
      const t0 = performance.now();
      cubin = compileToCubin(source, `${file} (${defines.replace(/\n/g, '; ')})`, options);
      this.stats.compileMs += performance.now() - t0;
      this.stats.compiled++;
      this.cache.put(hash, cubin);
    }
    const t1 = performance.now();
    const mod = out('cuModuleLoadData', (o) => cu().moduleLoadData(o, cubin), null as Handle, op);
    this.stats.loadMs += performance.now() - t1;
    this.modules.set(key, mod);
    return mod;
  }
}

