import { loadLibrary, type Library } from './libraries.js';

/** NVRTC, the runtime compiler that turns the shipped CUDA C kernels into device code. */
export class NvrtcError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NvrtcError';
  }
}

interface NvrtcApi {
  version(major: [number], minor: [number]): number;
  getErrorString(status: number): string;
  createProgram(prog: [unknown], src: string, name: string, n: number, headers: null, names: null): number;
  compileProgram(prog: unknown, n: number, options: string[]): number;
  getCUBINSize(prog: unknown, size: [number]): number;
  getCUBIN(prog: unknown, out: Buffer): number;
  getProgramLogSize(prog: unknown, size: [number]): number;
  getProgramLog(prog: unknown, out: Buffer): number;
  destroyProgram(prog: [unknown]): number;
}

let api: NvrtcApi | undefined;

function bind(lib: Library): NvrtcApi {
  const f = <T>(sig: string): T => lib.func(sig) as unknown as T;
  return {
    version: f('int nvrtcVersion(_Out_ int *major, _Out_ int *minor)'),
    getErrorString: f('const char *nvrtcGetErrorString(int status)'),
    createProgram: f('int nvrtcCreateProgram(_Out_ void **prog, const char *src, const char *name, int numHeaders, void *headers, void *includeNames)'),
    compileProgram: f('int nvrtcCompileProgram(void *prog, int numOptions, const char **options)'),
    getCUBINSize: f('int nvrtcGetCUBINSize(void *prog, _Out_ size_t *size)'),
    getCUBIN: f('int nvrtcGetCUBIN(void *prog, _Out_ uint8_t *cubin)'),
    getProgramLogSize: f('int nvrtcGetProgramLogSize(void *prog, _Out_ size_t *size)'),
    getProgramLog: f('int nvrtcGetProgramLog(void *prog, _Out_ uint8_t *log)'),
    destroyProgram: f('int nvrtcDestroyProgram(_Inout_ void **prog)'),
  };
}

function nvrtc(): NvrtcApi {
  api ??= bind(loadLibrary('NVRTC (libnvrtc)', ['libnvrtc.so.13', 'libnvrtc.so.12', 'libnvrtc.so']));
  return api;
}

export function nvrtcVersion(): string {
  const major: [number] = [0];
  const minor: [number] = [0];
  nvrtc().version(major, minor);
  return `${major[0]}.${minor[0]}`;
}

function check(status: number, call: string, what: string): void {
  if (status !== 0) throw new NvrtcError(`compiling ${what}: ${call} failed with ${nvrtc().getErrorString(status)}`);
}

/** Compiles CUDA C source to a cubin for the given options (which name the architecture). */
export function compileToCubin(source: string, name: string, options: readonly string[]): Buffer {
  const n = nvrtc();
  const prog: [unknown] = [null];
  check(n.createProgram(prog, source, name, 0, null, null), 'nvrtcCreateProgram', name);
  try {
    const status = n.compileProgram(prog[0], options.length, [...options]);
    if (status !== 0) {
      const size: [number] = [0];
      n.getProgramLogSize(prog[0], size);
      const log = Buffer.alloc(Number(size[0]));
      n.getProgramLog(prog[0], log);
      throw new NvrtcError(`compiling ${name} failed (${n.getErrorString(status)}):\n${log.toString('utf8').replace(/\0+$/, '')}`);
    }
    const size: [number] = [0];
    check(n.getCUBINSize(prog[0], size), 'nvrtcGetCUBINSize', name);
    const cubin = Buffer.alloc(Number(size[0]));
    check(n.getCUBIN(prog[0], cubin), 'nvrtcGetCUBIN', name);
    return cubin;
  } finally {
    n.destroyProgram(prog);
  }
}
