import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The on-disk cache of compiled kernels. Keys hash the source, the compile options (architecture
 * included) and the NVRTC version, so a changed kernel or toolkit never loads stale code. Writes go
 * to a unique temporary file renamed into place, so processes sharing the folder never see a partial
 * file. DL4TS_CUDA_CACHE sets the folder; DL4TS_CUDA_CACHE=off disables it.
 */
export class KernelCache {
  readonly dir: string | null;

  constructor(dir = process.env['DL4TS_CUDA_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'dl4ts', 'cuda')) {
    this.dir = dir === 'off' ? null : dir;
  }

  static key(source: string, options: readonly string[], compilerVersion: string): string {
    return createHash('sha256').update(compilerVersion).update('\0').update(options.join('\0')).update('\0').update(source).digest('hex');
  }

  get(key: string): Buffer | null {
    if (!this.dir) return null;
    try {
      return readFileSync(join(this.dir, `${key}.cubin`));
    } catch {
      return null;
    }
  }

  put(key: string, cubin: Buffer): void {
    if (!this.dir) return;
    try {
      mkdirSync(this.dir, { recursive: true });
      const tmp = join(this.dir, `${key}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      writeFileSync(tmp, cubin);
      renameSync(tmp, join(this.dir, `${key}.cubin`));
    } catch {
      // A read-only or full cache folder only costs a recompile next time.
    }
  }
}
