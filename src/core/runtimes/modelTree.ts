// The Models view as plain data: runtime groups and their models, filtered and sorted, with the
// labels, descriptions and tooltips a tree shows. Pure: it reads the catalog's state, no I/O.
import { formatParameterCount } from './gguf';
import { formatBytes, formatSeconds } from './pullProgress';
import { canVerify, capabilitiesOf, runtimeKindLabels, type RuntimeModel } from './runtime';
import type { RuntimeState } from './catalog';

export type ModelSort = 'name' | 'size' | 'lastUsed';

export interface ModelViewOptions {
  /** Case-insensitive substring of the model name, family or quantization. */
  readonly filter?: string;
  readonly sort?: ModelSort;
  readonly loadedOnly?: boolean;
}

export interface ModelTimes {
  lastUsed(runtimeId: string, name: string): number | undefined;
  unloadsAt?(runtime: RuntimeState, model: RuntimeModel): number | undefined;
  stopsAt?(runtime: RuntimeState): number | undefined;
}

export interface RuntimeNode {
  readonly type: 'runtime';
  readonly id: string;
  readonly runtimeId: string;
  readonly label: string;
  readonly description: string;
  readonly tooltip: string;
  readonly status: RuntimeState['status'];
  readonly refreshing: boolean;
  /** e.g. "runtime ollama pull unload" — feeds the context menu's when clauses. */
  readonly contextValue: string;
  readonly matching: number;
}

export interface ModelNode {
  readonly type: 'model';
  readonly id: string;
  readonly runtimeId: string;
  readonly name: string;
  readonly label: string;
  readonly description: string;
  readonly tooltip: string;
  readonly loaded: boolean;
  readonly problem?: string;
  readonly contextValue: string;
}

interface MessageNode {
  readonly type: 'message';
  readonly id: string;
  readonly label: string;
  readonly tooltip?: string;
}

export type ModelTreeNode = RuntimeNode | ModelNode | MessageNode;

export function ago(ms: number): string {
  const s = Math.max(0, ms / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

function params(m: RuntimeModel): string | undefined {
  return m.parameterSize ?? (m.parameterCount ? formatParameterCount(m.parameterCount) : undefined);
}

/** One collator for every sort: localeCompare with options builds a new one per comparison (30× slower). */
const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });

function matches(m: RuntimeModel, needle: string): boolean {
  return [m.name, m.family, m.quantization].some((v) => v?.toLowerCase().includes(needle));
}

function passing(state: RuntimeState, options: ModelViewOptions): RuntimeModel[] {
  const needle = options.filter?.trim().toLowerCase();
  return state.models.filter((m) => (!needle || matches(m, needle)) && (!options.loadedOnly || !!m.loaded));
}

/** The models of one runtime that pass the filter, in the chosen order. */
export function visibleModels(state: RuntimeState, options: ModelViewOptions, times: ModelTimes): RuntimeModel[] {
  let list = passing(state, options);
  const sort = options.sort ?? 'name';
  const byName = (a: RuntimeModel, b: RuntimeModel) => collator.compare(a.name, b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  if (sort === 'name') list = list.sort(byName);
  else if (sort === 'size') list = list.sort((a, b) => (b.sizeBytes ?? -1) - (a.sizeBytes ?? -1) || byName(a, b));
  else {
    const used = new Map(list.map((m) => [m.name, times.lastUsed(state.endpoint.id, m.name) ?? -1]));
    list = list.sort((a, b) => used.get(b.name)! - used.get(a.name)! || byName(a, b));
  }
  return list;
}

/** Whether "loaded" tells models apart here: not where a server holds every model it lists. */
function tracksLoaded(state: RuntimeState): boolean {
  return state.endpoint.api !== 'openai' || capabilitiesOf(state).unload || state.endpoint.kind === 'lmstudio';
}

export function runtimeNode(state: RuntimeState, options: ModelViewOptions, times: ModelTimes, now: number): RuntimeNode {
  const e = state.endpoint;
  const kind = runtimeKindLabels[e.kind];
  // Counting needs no sort.
  const matching = state.status === 'ok' ? passing(state, options).length : 0;
  const loaded = state.models.filter((m) => m.loaded).length;
  let description: string;
  if (state.status === 'pending') description = `${kind} · connecting…`;
  else if (state.status === 'error') description = `${kind} · ${state.errorKind === 'unauthorized' ? 'API key needed' : 'not answering'}`;
  else {
    const filtered = options.filter?.trim() || options.loadedOnly ? `${matching} of ${state.models.length}` : `${state.models.length}`;
    description = `${kind} · ${filtered} model${state.models.length === 1 ? '' : 's'}${loaded && tracksLoaded(state) ? ` · ${loaded} loaded` : ''}`;
  }
  const lines = [`${e.name} — ${kind}${state.version ? ` ${state.version}` : ''}`, e.api === 'gguf' ? `Folder: ${e.baseUrl}` : `Endpoint: ${e.baseUrl}`];
  for (const [k, v] of state.info ?? []) lines.push(`${k}: ${v}`);
  lines.push(e.source === 'container' ? 'Found from its running container' : e.source === 'user' ? 'Added in llmStack.runtimes.endpoints' : 'From llmStack.models.ggufFolders');
  if (state.error) lines.push('', `Error: ${state.error}`);
  const stop = times.stopsAt?.(state);
  if (stop !== undefined) lines.push(`Container stops when idle in ${formatSeconds(Math.max(0, (stop - now) / 1000))}`);
  const caps: string[] = [`runtime`, e.api, e.source];
  if (capabilitiesOf(state).pull) caps.push('pull');
  if (e.containerId && e.source !== 'container') caps.push('container');
  if (e.requiresKey || state.errorKind === 'unauthorized') caps.push('key');
  if (state.status === 'error') caps.push('error');
  return {
    type: 'runtime',
    id: `runtime:${e.id}`,
    runtimeId: e.id,
    label: e.name,
    description,
    tooltip: lines.join('\n'),
    status: state.status,
    refreshing: state.refreshing,
    contextValue: caps.join(' '),
    matching,
  };
}

export function modelNode(state: RuntimeState, m: RuntimeModel, times: ModelTimes, now: number): ModelNode {
  const e = state.endpoint;
  const can = capabilitiesOf(state);
  const p = params(m);
  const bits: string[] = [];
  if (m.sizeBytes !== undefined) bits.push(formatBytes(m.sizeBytes));
  if (m.quantization) bits.push(m.quantization);
  if (m.family) bits.push(m.family);
  if (p) bits.push(p);
  if (m.loaded && tracksLoaded(state)) bits.push('loaded');
  if (m.status) bits.push(m.status.value);
  if (m.problem) bits.push('unreadable');
  const lines = [m.name];
  const row = (k: string, v: string | number | undefined) => v !== undefined && v !== '' && lines.push(`${k}: ${v}`);
  row('Size', m.sizeBytes !== undefined ? formatBytes(m.sizeBytes) : undefined);
  row('Family', m.family);
  row('Parameters', p);
  row('Quantization', m.quantization);
  row('Context length', m.contextLength);
  row('Format', m.format);
  row('Digest', m.digest);
  row('File', m.file);
  if (m.status) lines.push(`Status: ${m.status.value}${m.status.detail ? ` — ${m.status.detail}` : ''}`);
  if (m.loaded) {
    const mem = [m.loaded.ramBytes ? `${formatBytes(m.loaded.ramBytes)} RAM` : undefined, m.loaded.vramBytes ? `${formatBytes(m.loaded.vramBytes)} VRAM` : undefined].filter(Boolean).join(', ');
    lines.push(`Loaded${mem ? ` (${mem})` : ''}${m.loaded.contextLength ? ` with a context of ${m.loaded.contextLength} tokens` : ''}`);
    const until = times.unloadsAt?.(state, m);
    if (until !== undefined) lines.push(`Unloads in ${formatSeconds(Math.max(0, (until - now) / 1000))} unless used`);
    else if (m.loaded.expiresAt && m.loaded.expiresAt - now < 365 * 86_400_000) lines.push(`The runtime unloads it in ${formatSeconds(Math.max(0, (m.loaded.expiresAt - now) / 1000))}`);
  }
  const used = times.lastUsed(e.id, m.name);
  lines.push(`Last used: ${used ? ago(now - used) : 'never (by this extension)'}`);
  if (m.problem) lines.push('', `Problem: ${m.problem}`);
  const ctx = ['model', e.api];
  if (m.loaded) ctx.push('loaded');
  else if (can.load && m.status?.value !== 'loading') ctx.push('unloaded');
  if (m.loaded && can.unload) ctx.push('unload');
  if (can.delete) ctx.push('deletable');
  if (m.file) ctx.push('file');
  // A GGUF file, or an Ollama blob the extension may reach through its container's mounts.
  if (canVerify(state, m)) ctx.push('verifiable');
  if (can.generate) ctx.push('generate');
  return {
    type: 'model',
    id: `model:${e.id}\u0000${m.name}`,
    runtimeId: e.id,
    name: m.name,
    label: m.name,
    description: bits.join(' · '),
    tooltip: lines.join('\n'),
    loaded: !!m.loaded,
    problem: m.problem,
    contextValue: ctx.join(' '),
  };
}

/** Children of a runtime group: its models, or one line saying why there are none. */
export function runtimeChildren(state: RuntimeState, options: ModelViewOptions, times: ModelTimes, now: number): (ModelNode | MessageNode)[] {
  if (state.status === 'pending') return [{ type: 'message', id: `msg:${state.endpoint.id}:pending`, label: 'Listing models…' }];
  if (state.status === 'error' && !state.models.length) {
    return [{ type: 'message', id: `msg:${state.endpoint.id}:error`, label: state.error ?? 'The runtime did not answer.', tooltip: state.error }];
  }
  const models = visibleModels(state, options, times);
  if (!models.length) {
    const label = state.models.length ? 'No model matches the filter' : capabilitiesOf(state).pull ? 'No models yet — use Pull Model…' : state.endpoint.api === 'gguf' ? 'No .gguf files in this folder' : 'The server lists no models';
    return [{ type: 'message', id: `msg:${state.endpoint.id}:empty`, label }];
  }
  return models.map((m) => modelNode(state, m, times, now));
}
