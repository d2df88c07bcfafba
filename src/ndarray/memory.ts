import { backendStatus, backendByName } from '../backend/registry.js';
import type { DataType } from './dtype.js';
import { OpenHandles, Storage } from './storage.js';

export interface MemoryReport {
  /** Open array handles (views count separately). */
  readonly arrays: number;
  /** Live allocations behind them. */
  readonly storages: number;
  /** Live bytes by backend, then by dtype. */
  readonly bytes: Readonly<Record<string, Partial<Record<DataType, number>>>>;
  /** Total live bytes. */
  readonly totalBytes: number;
  /** What each available backend reports of its own memory. */
  readonly backends: Readonly<Record<string, { bytes: number; buffers: number; peakBytes: number }>>;
}

/** Live arrays and their memory, by backend and dtype (for leak checks and tuning). */
export function memoryReport(): MemoryReport {
  const bytes: Record<string, Partial<Record<DataType, number>>> = {};
  let totalBytes = 0;
  for (const [backend, byType] of Storage.liveBytes) {
    for (const [dtype, { bytes: n }] of byType) {
      if (n === 0) continue;
      (bytes[backend] ??= {})[dtype] = n;
      totalBytes += n;
    }
  }
  const backends: Record<string, { bytes: number; buffers: number; peakBytes: number }> = {};
  for (const s of backendStatus()) if (s.available) backends[s.name] = backendByName(s.name).memory();
  return { arrays: OpenHandles.count, storages: Storage.liveCount, bytes, totalBytes, backends };
}
