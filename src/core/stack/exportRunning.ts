// Builds a stack file from containers that run now: those of a stack (by label) or any given ones
// (e.g. the runtimes the extension discovered), keeping only what differs from their images.
import type Docker from 'dockerode';
import { z } from 'zod';
import { withTimeout } from '../docker/connection';
import { createClassifier } from '../docker/containers';
import { exportYaml, type YamlNote } from './export/common';
import { isSecretEnv } from './secrets';
import type { GpuSpec, HealthcheckSpec, PortSpec, RuntimeSpec, StackFile, StackRuntimeKind, UiSpec } from './schema';
import { defaultRuntimePorts, LABEL_SERVICE, LABEL_STACK, STACK_FILE_VERSION, stackFileSchema, stackRuntimeKinds } from './schema';

interface ExportRunningOptions {
  /** Export the containers labelled with this stack. */
  readonly stack?: string;
  /** Export these containers (ids or names), with or without a stack label. */
  readonly containerIds?: readonly string[];
  /** Name of the exported stack (default: `stack`, else the containers' common stack label, else "local"). */
  readonly name?: string;
  /** The user's `llmStack.runtimes.imagePatterns`, so custom runtime images are recognised. */
  readonly imagePatterns?: Readonly<Record<string, string>>;
}

interface ExportRunningResult {
  readonly file: StackFile;
  readonly text: string;
  readonly warnings: string[];
}

const CALL_MS = 15_000;

/** Labels the engine, Compose or Swarm set themselves: not the user's, never exported. */
const ENGINE_LABEL = /^(io\.llmstack\.|com\.docker\.(compose|stack|swarm)\.)/;
/** Environment that belongs to the machine, not the service. */
const MACHINE_ENV = new Set(['PATH', 'HOSTNAME', 'HOME']);

const healthSchema = z.looseObject({
  Test: z.array(z.string()).nullish(),
  Interval: z.number().nullish(),
  Timeout: z.number().nullish(),
  Retries: z.number().nullish(),
  StartPeriod: z.number().nullish(),
});

const imageConfigSchema = z.looseObject({
  Env: z.array(z.string()).nullish(),
  Cmd: z.array(z.string()).nullish(),
  Entrypoint: z.array(z.string()).nullish(),
  Labels: z.record(z.string(), z.string()).nullish(),
  Healthcheck: healthSchema.nullish(),
  Volumes: z.record(z.string(), z.unknown()).nullish(),
});

const imageInspectSchema = z.looseObject({ Config: imageConfigSchema.nullish() });

const containerSchema = z.looseObject({
  Id: z.string(),
  Name: z.string().default(''),
  Image: z.string().default(''),
  State: z.looseObject({ Running: z.boolean().default(false) }),
  Config: imageConfigSchema.extend({ Image: z.string().default('') }),
  HostConfig: z.looseObject({
    PortBindings: z.record(z.string(), z.array(z.looseObject({ HostIp: z.string().nullish(), HostPort: z.string().nullish() })).nullish()).nullish(),
    RestartPolicy: z.looseObject({ Name: z.string().nullish() }).nullish(),
    DeviceRequests: z
      .array(z.looseObject({ Driver: z.string().nullish(), Count: z.number().nullish(), DeviceIDs: z.array(z.string()).nullish(), Capabilities: z.array(z.array(z.string())).nullish() }))
      .nullish(),
  }),
  Mounts: z.array(z.looseObject({ Type: z.string(), Name: z.string().nullish(), Source: z.string().default(''), Destination: z.string(), RW: z.boolean().default(true) })).nullish(),
});
type ContainerInfo = z.infer<typeof containerSchema>;
type ImageConfig = z.infer<typeof imageConfigSchema>;

/** A stack or service name from any container name: lower case, Docker's characters, 63 at most. */
export function toStackName(s: string): string {
  const out = s
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  return out || 'service';
}

/** Nanoseconds as a stack-file duration: "1m30s", "500ms". */
export function formatNs(ns: number): string {
  let ms = Math.round(ns / 1e6);
  let out = '';
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size) {
      out += `${Math.floor(ms / size)}${unit}`;
      ms %= size;
    }
  }
  if (ms) out += `${ms}ms`;
  return out || '0s';
}

function envMap(list: readonly string[] | null | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of list ?? []) {
    const i = e.indexOf('=');
    m.set(i < 0 ? e : e.slice(0, i), i < 0 ? '' : e.slice(i + 1));
  }
  return m;
}

const sameList = (a: readonly string[] | null | undefined, b: readonly string[] | null | undefined) => JSON.stringify(a ?? []) === JSON.stringify(b ?? []);

function ports(c: ContainerInfo): PortSpec[] {
  const out: { sort: number; spec: PortSpec }[] = [];
  for (const [key, bindings] of Object.entries(c.HostConfig.PortBindings ?? {})) {
    const [cp, proto = 'tcp'] = key.split('/');
    const container = Number(cp);
    if (proto !== 'tcp' && proto !== 'udp') continue;
    for (const b of bindings ?? []) {
      // An empty HostIp binds every interface: written out, since the stack's default is 127.0.0.1.
      const hostIp = b.HostIp || '0.0.0.0';
      const host = Number(b.HostPort || 0);
      if (!host) {
        out.push({ sort: container, spec: { container, host: 0, hostIp, ...(proto === 'udp' ? { protocol: 'udp' as const } : {}) } });
        continue;
      }
      const ip = hostIp === '127.0.0.1' ? '' : hostIp.includes(':') ? `[${hostIp}]:` : `${hostIp}:`;
      out.push({ sort: container, spec: `${ip}${host}:${container}${proto === 'udp' ? '/udp' : ''}` });
    }
  }
  return out.sort((a, b) => a.sort - b.sort).map((x) => x.spec);
}

function healthcheck(c: ContainerInfo, image: ImageConfig): HealthcheckSpec | undefined {
  const h = c.Config.Healthcheck;
  if (!h?.Test?.length || JSON.stringify(h) === JSON.stringify(image.Healthcheck ?? null)) return undefined;
  const test = h.Test[0] === 'CMD-SHELL' ? h.Test.slice(1).join(' ') : h.Test;
  // An empty shell command checks nothing (and a stack file cannot say it).
  if (typeof test === 'string' && !test.trim()) return undefined;
  const out: HealthcheckSpec = { test };
  if (h.Interval) out.interval = formatNs(h.Interval);
  if (h.Timeout) out.timeout = formatNs(h.Timeout);
  if (h.Retries) out.retries = h.Retries;
  if (h.StartPeriod) out.startPeriod = formatNs(h.StartPeriod);
  return out;
}

function gpu(c: ContainerInfo): GpuSpec {
  const req = (c.HostConfig.DeviceRequests ?? []).find((r) => r.Driver === 'nvidia' || (r.Capabilities ?? []).some((caps) => caps.includes('gpu')));
  if (!req) return 'none';
  if (req.DeviceIDs?.length) return { devices: req.DeviceIDs };
  if (req.Count === -1) return 'all';
  return req.Count && req.Count > 0 ? { count: req.Count } : 'all';
}

/**
 * Exports running (or stopped) containers as a stack file that passes the schema: kind from the
 * runtime label or the image, and only what differs from the image (environment, command,
 * healthcheck, labels), so the file stays short and keeps working when the image is updated.
 */
export async function exportRunningStack(docker: Docker, o: ExportRunningOptions): Promise<ExportRunningResult> {
  if (!o.stack && !o.containerIds?.length) throw new Error('Nothing to export: give a stack name or containers.');
  const warnings: string[] = [];
  const ids = new Set(o.containerIds ?? []);
  if (o.stack) {
    const list = await withTimeout('Listing containers', CALL_MS, () => docker.listContainers({ all: true, filters: { label: [`${LABEL_STACK}=${o.stack}`] } }));
    for (const c of list) ids.add(c.Id);
    if (!list.length && !o.containerIds?.length) throw new Error(`No container carries the label ${LABEL_STACK}=${o.stack}: is the stack applied on this engine?`);
  }
  const containers: ContainerInfo[] = [];
  const seen = new Set<string>();
  for (const id of ids) {
    const info = containerSchema.parse(await withTimeout(`Inspecting container ${id}`, CALL_MS, () => docker.getContainer(id).inspect()));
    if (seen.has(info.Id)) continue;
    seen.add(info.Id);
    containers.push(info);
  }
  const stackLabels = new Set(containers.map((c) => c.Config.Labels?.[LABEL_STACK]).filter((s): s is string => !!s));
  const name = toStackName(o.name ?? o.stack ?? (stackLabels.size === 1 ? [...stackLabels][0] : 'local'));

  const classifier = createClassifier(o.imagePatterns ?? {});
  const images = new Map<string, ImageConfig>();
  const runtimes: Record<string, RuntimeSpec> = {};
  const uis: Record<string, UiSpec> = {};
  const hostToService = new Map<string, string>();
  const usedNames = new Set<string>();
  const uiUrls: { service: string; key: string; url: URL }[] = [];
  /** Secret variables whose values were left out, by service. */
  const secrets: { service: string; section: 'runtimes' | 'uis'; key: string }[] = [];

  for (const c of containers.sort((a, b) => a.Name.localeCompare(b.Name))) {
    const containerName = c.Name.replace(/^\//, '');
    const labels = c.Config.Labels ?? {};
    let base = labels[LABEL_SERVICE] ?? containerName;
    if (!labels[LABEL_SERVICE] && base.startsWith(`${name}-`)) base = base.slice(name.length + 1);
    let svc = toStackName(base);
    for (let i = 2; usedNames.has(svc); i++) svc = `${toStackName(base).slice(0, 60)}-${i}`;
    usedNames.add(svc);
    hostToService.set(containerName.toLowerCase(), svc).set(svc, svc);

    let image = images.get(c.Image);
    if (!image) {
      try {
        image = imageInspectSchema.parse(await withTimeout(`Inspecting image ${c.Config.Image}`, CALL_MS, () => docker.getImage(c.Image).inspect())).Config ?? {};
      } catch {
        warnings.push(`${svc}: its image ${c.Config.Image} could not be inspected; everything the container has is exported, including what the image set.`);
        image = {};
      }
      images.set(c.Image, image);
    }

    const common: Partial<RuntimeSpec & UiSpec> = { image: c.Config.Image };
    const p = ports(c);
    if (p.length) common.ports = p;

    const vols: string[] = [];
    // The engine lists mounts in no fixed order: by target, so the same containers give the same file.
    const mounts = [...(c.Mounts ?? [])].sort((a, b) => (a.Destination < b.Destination ? -1 : a.Destination > b.Destination ? 1 : 0));
    for (const m of mounts) {
      if (m.Destination.includes(':') || (m.Type === 'bind' && m.Source.includes(':'))) {
        warnings.push(`${svc}: the mount at ${m.Destination} has a ":" in its path, which a stack file cannot write; left out.`);
        continue;
      }
      const ro = m.RW ? '' : ':ro';
      if (m.Type === 'bind') vols.push(`${m.Source}:${m.Destination}${ro}`);
      else if (m.Type === 'volume' && m.Name) {
        if (/^[0-9a-f]{64}$/.test(m.Name)) {
          if (!(m.Destination in (image.Volumes ?? {}))) warnings.push(`${svc}: the anonymous volume at ${m.Destination} is left out; name it in the file to keep its data.`);
          continue;
        }
        let vol = m.Name;
        if (vol.startsWith(`${name}_`)) vol = vol.slice(name.length + 1);
        else warnings.push(`${svc}: volume "${m.Name}" is not one of the stack's: applying the file creates "${name}_${m.Name}" (empty) instead.`);
        vols.push(`${vol}:${m.Destination}${ro}`);
      } else warnings.push(`${svc}: the ${m.Type} mount at ${m.Destination} is left out.`);
    }
    if (vols.length) common.volumes = vols;

    const imageEnv = envMap(image.Env);
    const env: Record<string, string> = {};
    const left: string[] = [];
    for (const [k, v] of envMap(c.Config.Env)) {
      if (MACHINE_ENV.has(k) || imageEnv.get(k) === v) continue;
      // A stack file has no way to read a value from elsewhere: a secret is written empty, with a note.
      if (isSecretEnv(k, v)) left.push(k);
      env[k] = isSecretEnv(k, v) ? '' : v;
    }
    if (Object.keys(env).length) common.env = env;
    if (left.length) warnings.push(`${svc}: the value${left.length === 1 ? '' : 's'} of ${left.join(', ')} ${left.length === 1 ? 'was' : 'were'} left out (secret); fill ${left.length === 1 ? 'it' : 'them'} in before applying the file.`);

    if (!sameList(c.Config.Entrypoint, image.Entrypoint)) warnings.push(`${svc}: its entrypoint (${(c.Config.Entrypoint ?? []).join(' ')}) differs from the image's; a stack file cannot set one, so it is left out.`);
    if (!sameList(c.Config.Cmd, image.Cmd) && c.Config.Cmd?.length) common.command = c.Config.Cmd;

    const hc = healthcheck(c, image);
    if (hc) common.healthcheck = hc;
    const restart = c.HostConfig.RestartPolicy?.Name || 'no';
    if (restart === 'no' || restart === 'always' || restart === 'on-failure') common.restart = restart;
    if (!c.State.Running) common.state = 'stopped';
    const own: Record<string, string> = {};
    for (const [k, v] of Object.entries(labels)) if (!ENGINE_LABEL.test(k) && image.Labels?.[k] !== v) own[k] = v;
    if (Object.keys(own).length) common.labels = own;

    const kind = classifier.classify({ image: c.Config.Image, labels });
    const section = kind && kind !== 'openwebui' && (stackRuntimeKinds as readonly string[]).includes(kind) ? 'runtimes' : 'uis';
    for (const key of left) secrets.push({ service: svc, section, key });
    if (section === 'runtimes') {
      const rt = { kind: kind as StackRuntimeKind, ...common } as RuntimeSpec;
      // The API is HTTP: only TCP ports can be it.
      const published = (c.HostConfig.PortBindings ? Object.keys(c.HostConfig.PortBindings) : []).filter((k) => !k.includes('/') || k.endsWith('/tcp')).map((k) => Number(k.split('/')[0]));
      const def = defaultRuntimePorts[rt.kind];
      if ((def === undefined || !published.includes(def)) && published.length) rt.port = Math.min(...published);
      rt.gpu = gpu(c);
      runtimes[svc] = rt;
    } else {
      if (!kind) warnings.push(`${svc}: ${c.Config.Image} is not a known runtime or UI; exported as a UI of kind "other".`);
      uis[svc] = { kind: kind === 'openwebui' ? 'openwebui' : 'other', ...common } as UiSpec;
      for (const key of ['OLLAMA_BASE_URL', 'OPENAI_API_BASE_URL']) {
        const value = env[key];
        if (!value) continue;
        try {
          uiUrls.push({ service: svc, key, url: new URL(value) });
        } catch {
          /* not a URL: left as it is */
        }
      }
    }
  }

  // A UI that points at an exported runtime by name gets `runtime:` (and the stack wires it).
  for (const u of uiUrls) {
    const target = hostToService.get(u.url.hostname.toLowerCase());
    const ui = uis[u.service];
    if (!target || !runtimes[target] || ui.runtime) continue;
    ui.runtime = target;
    if (ui.kind === 'openwebui') {
      delete ui.env![u.key];
      if (!Object.keys(ui.env!).length) delete ui.env;
    }
  }

  const draft: StackFile = { version: STACK_FILE_VERSION, name };
  if (Object.keys(runtimes).length) draft.runtimes = runtimes;
  if (Object.keys(uis).length) draft.uis = uis;
  const parsed = stackFileSchema.safeParse(draft);
  if (!parsed.success) {
    throw new Error(`The exported stack file does not pass its schema (please report this): ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const header = [
    `Exported by LLM Local Stack from the containers ${containers.map((c) => c.Name.replace(/^\//, '')).join(', ')}.`,
    'Only what differs from the images is written; review it before applying.',
    ...(secrets.length ? [`Secret values were left out (${secrets.map((x) => `${x.service}: ${x.key}`).join(', ')}): fill them in before applying.`] : []),
  ].join('\n');
  const notes: YamlNote[] = secrets.map((x) => ({ path: [x.section, x.service, 'env', x.key], comment: `value left out: ${x.key} looks like a secret; fill it in before applying` }));
  return { file: parsed.data, text: exportYaml(parsed.data, header, notes), warnings };
}

