// Fixtures the unit and integration tests share: a runtime endpoint as discovery makes one, and a
// logger that keeps what it was told.
import type { Logger } from '../../src/core/lifecycle';
import type { HostSource } from '../../src/core/metrics/host';
import type { ModelRuntimeKind, RuntimeEndpoint } from '../../src/core/runtimes/runtime';

/**
 * An endpoint with the id discovery gives it (`${kind}@${baseUrl}`) and the API its kind speaks;
 * a user-added server unless `over` says otherwise (a GGUF kind is a folder).
 */
export function testEndpoint(kind: ModelRuntimeKind, baseUrl: string, over: Partial<RuntimeEndpoint> = {}): RuntimeEndpoint {
  const api = kind === 'ollama' ? 'ollama' : kind === 'gguf' ? 'gguf' : 'openai';
  return { id: `${kind}@${baseUrl}`, kind, api, name: `${kind}-test`, baseUrl, source: kind === 'gguf' ? 'folder' : 'user', ...over };
}

/** A logger that keeps every line as "<level> <message>", in order. */
export function captureLog(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    debug: (m) => lines.push(`debug ${m}`),
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
}

/** A host whose CPU is 25 % busy between any two reads (for samplers without the real machine's noise). */
export function steadyHost(): HostSource {
  let n = 0;
  return {
    cpuTimes: async () => ((n += 1), { idle: n * 75, total: n * 100 }),
    memory: async () => ({ total: 16e9, available: 10e9 }),
    disk: async () => ({ used: 100e9, total: 500e9, mount: '/' }),
    netCounters: async () => ({ rx: n * 1000, tx: n * 10 }),
  };
}
