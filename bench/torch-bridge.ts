/** Runs a PyTorch script of bench/ with `python3`: a JSON request on stdin, its last stdout line parsed as the JSON answer. */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/bench or .out-<name>/bench). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The script's stderr (progress, tracebacks) goes to ours; a failure throws with python3's message. */
export function runTorchScript<T>(script: string, args: readonly string[], request: unknown): T {
  const out = execFileSync('python3', [join(REPO_ROOT, 'bench', script), ...args], {
    input: JSON.stringify(request), encoding: 'utf8', maxBuffer: 1 << 22, stdio: ['pipe', 'pipe', 'inherit'],
  });
  const last = out.trim().split('\n').pop();
  if (!last) throw new Error(`${script} printed nothing on stdout`);
  return JSON.parse(last) as T;
}
