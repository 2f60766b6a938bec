// What every export (Compose, Kubernetes, Swarm, a running stack) shares: a runtime's params and GPUs
// without this machine's hardware, what no export can carry, and YAML text every parser reads alike.
import { Document, isMap, isScalar, parse as parseYaml, visit } from 'yaml';
import type { GpuSpec, ServiceEntry } from '../schema';
import { paramMapping } from '../params';
import type { ResolvedGpu, ResolvedParams } from '../types';

export interface ExportOptions {
  /** Resolved params per runtime service; without them `auto` values are left to the runtime's default. */
  readonly params?: ReadonlyMap<string, ResolvedParams>;
}

/** What a runtime's params and gpu become in an export. UIs get empty args/env and no GPU. */
interface ExportedParams {
  readonly args: string[];
  readonly env: Record<string, string>;
  readonly gpu: ResolvedGpu;
  readonly warnings: string[];
}

/**
 * The params of a service for an export. With resolved params (from this machine's hardware) they
 * are used as they are. Without, `auto` values are treated as absent (the runtime's default), and
 * `gpu: auto` means all GPUs: an export usually runs on another machine, whose GPUs this one cannot
 * see, and "all" is what `auto` becomes on any machine that has NVIDIA GPUs. An absent `gpu` is none.
 */
export function exportParams(entry: ServiceEntry, params?: ReadonlyMap<string, ResolvedParams>): ExportedParams {
  if (entry.section !== 'runtimes') return { args: [], env: {}, gpu: { kind: 'none' }, warnings: [] };
  const spec = entry.spec;
  const warnings: string[] = [];
  let resolved = params?.get(entry.name);
  if (!resolved) {
    const num = (v: number | 'auto' | undefined) => (v === 'auto' ? undefined : v);
    const p = spec.params ?? {};
    resolved = {
      threads: num(p.threads),
      gpuLayers: num(p.gpuLayers),
      contextSize: num(p.contextSize),
      parallel: p.parallel,
      gpu: gpuWithoutHardware(spec.gpu),
    };
    const autos = (['threads', 'gpuLayers', 'contextSize'] as const).filter((k) => p[k] === 'auto');
    if (autos.length) warnings.push(`${entry.name}: ${autos.join(', ')} "auto" left to the runtime's default (no hardware was resolved for this export).`);
    if (spec.gpu === 'auto') warnings.push(`${entry.name}: gpu "auto" exported as all GPUs; remove the GPU request on machines without NVIDIA GPUs.`);
  }
  const m = paramMapping(spec.kind, resolved);
  if (m.ignored.length) warnings.push(`${entry.name}: ${spec.kind} takes no ${m.ignored.join(', ')} at container level; ignored.`);
  return { args: m.args, env: m.env, gpu: resolved.gpu, warnings };
}

function gpuWithoutHardware(gpu: GpuSpec | undefined): ResolvedGpu {
  if (gpu === undefined || gpu === 'none') return { kind: 'none' };
  if (gpu === 'all' || gpu === 'auto') return { kind: 'all' };
  if (gpu.devices) return { kind: 'devices', devices: gpu.devices };
  return { kind: 'count', count: gpu.count ?? 1 };
}

/** The GPUs a resolved gpu asks for, or undefined for none. */
export function gpuRequest(gpu: ResolvedGpu): { count: number | 'all' } | { devices: string[] } | undefined {
  switch (gpu.kind) {
    case 'none':
      return undefined;
    case 'all':
      return { count: 'all' };
    case 'count':
      return { count: gpu.count };
    case 'devices':
      return { devices: [...gpu.devices] };
  }
}

/** Warnings for what no export can carry: models to pull, a stopped state. */
export function commonWarnings(entry: ServiceEntry, target: string): string[] {
  const out: string[] = [];
  if (entry.section === 'runtimes' && entry.spec.models?.length) {
    out.push(`${entry.name}: ${target} does not pull models; pull ${entry.spec.models.map((m) => (typeof m === 'string' ? m : m.name)).join(', ')} once it runs.`);
  }
  return out;
}

/** A comment written above the key at `path` (["runtimes", "vllm", "env", "HF_TOKEN"]). */
export interface YamlNote {
  readonly path: readonly string[];
  readonly comment: string;
}

/**
 * YAML text read the same by YAML 1.1 parsers (PyYAML in docker-compose 1.29, go-yaml in kubectl)
 * and YAML 1.2 ones: any string that either would read as something else ("no", "on", "22:22",
 * "0o17", "1e3") is double-quoted.
 */
export function exportYaml(value: unknown, header: string, notes: readonly YamlNote[] = []): string {
  const doc = new Document(value, { version: '1.1', aliasDuplicateObjects: false });
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && !plainIsString(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  for (const n of notes) {
    const map = doc.getIn(n.path.slice(0, -1), true);
    const pair = isMap(map) ? map.items.find((p) => isScalar(p.key) && p.key.value === n.path[n.path.length - 1]) : undefined;
    if (pair && isScalar(pair.key)) pair.key.commentBefore = ` ${n.comment}`;
  }
  if (header) doc.commentBefore = header.split('\n').map((l) => (l ? ` ${l}` : '')).join('\n');
  return doc.toString({ lineWidth: 0 });
}

function plainIsString(s: string): boolean {
  if (s === '' || s !== s.trim()) return false;
  try {
    return parseYaml(s, { version: '1.1', logLevel: 'silent' }) === s && parseYaml(s, { version: '1.2', logLevel: 'silent' }) === s;
  } catch {
    return false;
  }
}
