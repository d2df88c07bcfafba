import type { Backend, BackendInfo } from './backend.js';
import { CpuBackend } from './cpu/cpu-backend.js';
import { cudaBackend, usableDevices } from './cuda/cuda-backend.js';

/** How a backend comes into being: its environment variable for priority and a factory that throws why it cannot run. */
export interface BackendProvider {
  readonly name: string;
  /** e.g. BACKEND_PRIORITY_CPU: an integer; the available backend with the highest wins (as in ND4J). */
  readonly priorityVariable: string;
  readonly defaultPriority: number;
  create(priority: number): Backend;
}

export interface BackendStatus {
  readonly name: string;
  readonly priority: number;
  readonly available: boolean;
  /** Why the backend could not be created, where it could not. */
  readonly reason?: string;
}

const providers: BackendProvider[] = [
  { name: 'cpu', priorityVariable: 'BACKEND_PRIORITY_CPU', defaultPriority: 0, create: (p) => new CpuBackend(p) },
  {
    name: 'cuda',
    priorityVariable: 'BACKEND_PRIORITY_GPU',
    defaultPriority: 100,
    create: (p) => {
      const [first] = usableDevices();
      if (first === undefined) throw new Error('no CUDA device is visible');
      return cudaBackend(first, p);
    },
  },
];

const created = new Map<string, Backend>();
const failures = new Map<string, string>();
let current: Backend | undefined;

/** Adds a backend (the CUDA backend registers itself this way). */
export function registerBackendProvider(provider: BackendProvider): void {
  if (providers.some((p) => p.name === provider.name)) throw new Error(`registerBackendProvider: '${provider.name}' is already registered`);
  providers.push(provider);
}

function priorityOf(p: BackendProvider): number {
  const raw = process.env[p.priorityVariable];
  if (raw === undefined || raw === '') return p.defaultPriority;
  const v = Number(raw);
  if (!Number.isInteger(v)) throw new Error(`${p.priorityVariable}='${raw}': expected an integer priority`);
  return v;
}

function tryCreate(p: BackendProvider): Backend | undefined {
  const existing = created.get(p.name);
  if (existing) return existing;
  if (failures.has(p.name)) return undefined;
  try {
    const b = p.create(priorityOf(p));
    created.set(p.name, b);
    return b;
  } catch (e) {
    failures.set(p.name, e instanceof Error ? e.message : String(e));
    return undefined;
  }
}

/** Every registered backend, whether it can run here, and why not. */
export function backendStatus(): BackendStatus[] {
  return providers
    .map((p) => {
      const b = tryCreate(p);
      const reason = failures.get(p.name);
      return { name: p.name, priority: priorityOf(p), available: b !== undefined, ...(reason ? { reason } : {}) };
    })
    .sort((a, b) => b.priority - a.priority);
}

/** The backend new arrays use: the available one with the highest priority, unless set. */
export function getBackend(): Backend {
  if (current) return current;
  for (const s of backendStatus()) {
    if (s.available) {
      current = created.get(s.name);
      if (current) return current;
    }
  }
  throw new Error(`dl4ts: no backend can run here: ${backendStatus().map((s) => `${s.name}: ${s.reason ?? 'unknown'}`).join('; ')}`);
}

const CUDA_DEVICE_NAME = /^cuda:(\d+)$/;

/** 'cuda:<k>': the CUDA backend of device k (one per thread, as ND4J binds a thread to a device). */
function cudaDeviceBackend(name: string, ordinal: number): Backend {
  const existing = created.get(name);
  if (existing) return existing;
  const cuda = providers.find((q) => q.name === 'cuda')!;
  try {
    const b = cudaBackend(ordinal, priorityOf(cuda));
    created.set(name, b);
    return b;
  } catch (e) {
    throw new Error(`dl4ts: backend '${name}' is unavailable: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** A backend by name ('cpu', 'cuda', or 'cuda:<device>'), created if needed; throws the reason when it cannot run. */
export function backendByName(name: string): Backend {
  const device = CUDA_DEVICE_NAME.exec(name);
  if (device) return cudaDeviceBackend(name, Number(device[1]));
  const p = providers.find((q) => q.name === name);
  if (!p) throw new Error(`dl4ts: unknown backend '${name}' (known: ${providers.map((q) => q.name).join(', ')})`);
  const b = tryCreate(p);
  if (!b) throw new Error(`dl4ts: backend '${name}' is unavailable: ${failures.get(name) ?? 'unknown reason'}`);
  return b;
}

/** Makes `name` the backend for new arrays. */
export function setBackend(name: string): Backend {
  current = backendByName(name);
  return current;
}

/** The current backend and its devices. */
export function backendInfo(): BackendInfo {
  return getBackend().info();
}
