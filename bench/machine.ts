/** What machine the benchmark ran on, and its theoretical FP32/FP64 peak. */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { nativeCpu, type NativeCpu } from '../src/backend/cpu/native.js';

export interface Machine {
  readonly cpuModel: string;
  readonly logicalCpus: number;
  /** Physical cores from /proc/cpuinfo ('cpu cores' x sockets); logical CPUs where unknown. */
  readonly cores: number;
  /** /proc/cpuinfo 'cpu MHz': the nominal clock as the (virtual) machine reports it, not a measured boost clock. */
  readonly nominalMHz: number;
  readonly node: string;
  readonly date: string;
  /** 1-minute load average when the run started (other processes skew timings on a shared machine). */
  readonly loadAverage: number;
}

export interface Peak {
  /** The GEMM micro-kernels' instruction set, and how we know it. */
  readonly isa: string;
  readonly isaSource: string;
  readonly fp32Lanes: number;
  readonly fmaPipes: number;
  readonly fp32Gflops: number;
  readonly fp64Gflops: number;
  readonly derivation: string;
}

function cpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

function fields(text: string, key: string): string[] {
  const re = new RegExp(`^${key}\\s*:\\s*(.*)$`, 'gm');
  return [...text.matchAll(re)].map((m) => m[1]!.trim());
}

export function describeMachine(): Machine {
  const info = cpuinfo();
  const logical = cpus().length;
  const sockets = new Set(fields(info, 'physical id')).size || 1;
  const perSocket = Number(fields(info, 'cpu cores')[0]);
  const mhz = fields(info, 'cpu MHz').map(Number).filter((v) => v > 0);
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    logicalCpus: logical,
    cores: perSocket > 0 ? Math.min(logical, perSocket * sockets) : logical,
    nominalMHz: mhz.length ? Math.max(...mhz) : (cpus()[0]?.speed ?? 0),
    node: process.version,
    date: new Date().toISOString(),
    loadAverage: loadavg()[0]!,
  };
}

/**
 * The ISA the native GEMM dispatches to: asked of the addon when it says, else the dispatcher's
 * rule (gemm.cc) applied to the CPU flags: AVX-512 F/BW/VL/DQ, else AVX2+FMA, else generic,
 * capped by DL4TS_GEMM_ISA.
 */
function gemmIsa(): { isa: string; source: string } {
  const native = nativeCpu() as NativeCpu & { gemmIsa?: () => string };
  if (typeof native.gemmIsa === 'function') return { isa: native.gemmIsa(), source: 'reported by the addon (gemmIsa)' };
  const flags = new Set((fields(cpuinfo(), 'flags')[0] ?? '').split(/\s+/));
  const cap = process.env['DL4TS_GEMM_ISA'] ?? 'avx512';
  const has = (...f: string[]): boolean => f.every((x) => flags.has(x));
  const isa = cap === 'avx512' && has('avx512f', 'avx512bw', 'avx512vl', 'avx512dq') ? 'avx512' : cap !== 'generic' && has('avx2', 'fma') ? 'avx2' : 'generic';
  return { isa, source: 'inferred from /proc/cpuinfo flags by the GEMM dispatcher\'s rule' };
}

const LANES: Record<string, number> = { avx512: 16, avx2: 8, generic: 4 };

/** Peak = cores x FP32 lanes x 2 (FMA) x FMA pipes x clock; FP64 has half the lanes. */
export function theoreticalPeak(m: Machine): Peak {
  const { isa, source } = gemmIsa();
  const lanes = LANES[isa] ?? 4;
  const pipes = 2;
  const ghz = m.nominalMHz / 1000;
  const fp32 = m.cores * lanes * 2 * pipes * ghz;
  return {
    isa,
    isaSource: source,
    fp32Lanes: lanes,
    fmaPipes: pipes,
    fp32Gflops: fp32,
    fp64Gflops: fp32 / 2,
    derivation: `${m.cores} cores x ${lanes} FP32 lanes (${isa}) x 2 (FMA) x ${pipes} FMA pipes x ${ghz.toFixed(3)} GHz (nominal, /proc/cpuinfo 'cpu MHz') = ${fp32.toFixed(1)} GFLOP/s FP32, ${(fp32 / 2).toFixed(1)} FP64`,
  };
}
