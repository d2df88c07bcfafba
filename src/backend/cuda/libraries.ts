import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import koffi from 'koffi';

export type Library = ReturnType<typeof koffi.load>;

/** Where CUDA libraries are looked for, after the loader's own search (LD_LIBRARY_PATH, ldconfig). */
function searchDirectories(): string[] {
  const dirs: string[] = [];
  for (const v of ['CUDA_HOME', 'CUDA_PATH']) {
    const root = process.env[v];
    if (root) dirs.push(join(root, 'lib64'), join(root, 'lib'), join(root, 'targets', 'x86_64-linux', 'lib'));
  }
  dirs.push('/usr/local/cuda/lib64', '/usr/local/cuda/lib', '/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/local/nvidia/lib64');
  // pip's nvidia-* wheels: site-packages/nvidia/<component>/lib
  for (const p of (process.env['PYTHONPATH'] ?? '').split(':').concat(['/usr/lib/python3/dist-packages', '/usr/local/lib/python3.12/dist-packages', '/usr/local/lib/python3.11/dist-packages'])) {
    const nv = join(p, 'nvidia');
    if (p && existsSync(nv)) for (const c of readdirSync(nv)) dirs.push(join(nv, c, 'lib'));
  }
  return dirs;
}

/**
 * Loads the first library that opens among `names` (e.g. libcublas.so.13, libcublas.so.12),
 * trying the system loader first and then the usual CUDA locations. Throws listing what was tried.
 */
export function loadLibrary(what: string, names: readonly string[]): Library {
  const tried: string[] = [];
  for (const name of names) {
    try {
      return koffi.load(name);
    } catch (e) {
      tried.push(`${name}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
  }
  for (const dir of searchDirectories()) {
    for (const name of names) {
      const path = join(dir, name);
      if (!existsSync(path)) continue;
      try {
        return koffi.load(path);
      } catch (e) {
        tried.push(`${path}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      }
    }
  }
  throw new Error(`${what} not found (tried ${names.join(', ')} on the loader path, CUDA_HOME/CUDA_PATH, /usr/local/cuda and pip nvidia-* folders)${tried.length ? `: ${tried.slice(0, 3).join('; ')}` : ''}`);
}
