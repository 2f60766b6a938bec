// Exports a stack file as a docker-compose.yaml that both Compose v2 (`docker compose`) and
// docker-compose 1.29 accept.
import type { Duration, StackFile } from '../schema';
import { LABEL_SERVICE, LABEL_STACK, services } from '../schema';
import { commandArgs, containerName, dependenciesOf, envStrings, findService, healthcheckTest, parsePort, parseVolume, uiWiringEnv, volumeName } from '../normalize';
import { isSecretEnv } from '../secrets';
import { commonWarnings, type ExportOptions, exportParams, exportYaml, gpuRequest } from './common';

interface ComposeExport {
  readonly text: string;
  readonly warnings: string[];
  /** The variables the file reads from the environment (or a .env file) instead of holding secret values. */
  readonly secrets: readonly ComposeSecret[];
}

/** A secret env value left out of the file: the service's `name` reads `${variable}` instead. */
interface ComposeSecret {
  readonly service: string;
  readonly name: string;
  readonly variable: string;
}

/** "${HF_TOKEN:?…}": Compose stops with the message when the variable is unset or empty (1.19+ and v2). */
const secretReference = (variable: string) => `\${${variable}:?set ${variable} in the environment or in a .env file next to this file}`;

/**
 * Which variable each secret reads: its own name, unless two services set that name to different
 * values, then <SERVICE>_<NAME> for each of them, so one .env file can hold both.
 */
function secretVariables(perService: readonly { service: string; env: Readonly<Record<string, string>> }[]): ComposeSecret[] {
  const values = new Map<string, Set<string>>();
  for (const { env } of perService) for (const [k, v] of Object.entries(env)) if (isSecretEnv(k, v)) (values.get(k) ?? values.set(k, new Set()).get(k)!).add(v);
  const out: ComposeSecret[] = [];
  for (const { service, env } of perService) {
    for (const [k, v] of Object.entries(env)) {
      if (!isSecretEnv(k, v)) continue;
      const shared = values.get(k)!.size === 1;
      out.push({ service, name: k, variable: shared ? k : `${service.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}_${k}` });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Compose
// ---------------------------------------------------------------------------------------------

/** A Compose duration ("10s", "1m30s", "500ms"); the file's numbers are seconds. */
export function composeDuration(d: Duration): string {
  return typeof d === 'number' ? `${d}s` : d;
}

/**
 * The stack as a Compose file. No `version:` (the Compose Specification: Compose v2 warns about
 * `version` and docker-compose 1.27+ reads a file without one as the spec) and no top-level `name:`
 * (docker-compose 1.29 rejects it): the project name comes from `-p <stack>`, as the header says.
 * Named volumes keep the engine names the extension gives them (`<stack>_<name>`), so a Compose run
 * finds the models the extension already downloaded.
 */
export function toCompose(file: StackFile, o: ExportOptions = {}): ComposeExport {
  const warnings: string[] = [];
  const all = services(file);
  const out: Record<string, unknown> = {};
  const volumes: Record<string, unknown> = {};
  const envs = all.map((entry) => {
    const p = exportParams(entry, o.params);
    const wiring = uiWiringEnv(file, entry);
    return { service: entry.name, p, wiring, env: { ...wiring.env, ...envStrings(entry.spec.env), ...p.env } };
  });
  // Secret values never go into the file (it is meant to be shared or committed): Compose reads them.
  const secrets = secretVariables(envs);
  for (const [i, entry] of all.entries()) {
    const spec = entry.spec;
    const { p, wiring } = envs[i];
    warnings.push(...p.warnings, ...commonWarnings(entry, 'Compose'));
    warnings.push(...wiring.warnings);
    const svc: Record<string, unknown> = { container_name: containerName(file.name, entry.name), image: spec.image };
    const args = [...commandArgs(spec.command), ...p.args];
    if (args.length) svc.command = args;
    const env = { ...envs[i].env };
    for (const x of secrets) if (x.service === entry.name) env[x.name] = secretReference(x.variable);
    if (Object.keys(env).length) svc.environment = env;
    // Short syntax: docker-compose 1.29 rejects host_ip in the long form. "127.0.0.1::80" is any free port.
    if (spec.ports?.length) {
      svc.ports = spec.ports.map((ps) => {
        const n = parsePort(ps);
        const ip = n.hostIp.includes(':') ? `[${n.hostIp}]` : n.hostIp;
        return `${ip}:${n.hostPort === 0 ? '' : n.hostPort}:${n.containerPort}${n.protocol === 'udp' ? '/udp' : ''}`;
      });
    }
    if (spec.volumes?.length) {
      svc.volumes = spec.volumes.map((vs) => {
        const v = parseVolume(vs);
        const ro = v.readOnly ? ':ro' : '';
        if (v.kind === 'bind') return `${v.source}:${v.target}${ro}`;
        volumes[v.name] = { name: volumeName(file.name, v.name), labels: { [LABEL_STACK]: file.name } };
        return `${v.name}:${v.target}${ro}`;
      });
    }
    // Both Compose versions read "1g" and a number of bytes: the file's own spelling is kept, less
    // blanks ("1 g" → "1g"; Compose v2 takes at most one).
    if (spec.shmSize !== undefined) svc.shm_size = typeof spec.shmSize === 'string' ? spec.shmSize.replace(/\s+/g, '') : spec.shmSize;
    if (spec.healthcheck) {
      const h = spec.healthcheck;
      const hc: Record<string, unknown> = { test: healthcheckTest(h) };
      if (h.interval !== undefined) hc.interval = composeDuration(h.interval);
      if (h.timeout !== undefined) hc.timeout = composeDuration(h.timeout);
      if (h.retries !== undefined) hc.retries = h.retries;
      if (h.startPeriod !== undefined) hc.start_period = composeDuration(h.startPeriod);
      svc.healthcheck = hc;
    }
    svc.restart = spec.restart ?? 'unless-stopped';
    // The long form with conditions: part of the Compose Specification, read by docker-compose 1.27+ and v2.
    const deps = dependenciesOf(entry);
    if (deps.length) {
      const dependsOn: Record<string, { condition: string }> = {};
      for (const d of deps) {
        const dep = findService(file, d);
        if (!dep) warnings.push(`${entry.name}: depends on "${d}", which is not in the stack; left out.`);
        else dependsOn[d] = { condition: dep.spec.healthcheck ? 'service_healthy' : 'service_started' };
      }
      if (Object.keys(dependsOn).length) svc.depends_on = dependsOn;
    }
    svc.labels = { ...(spec.labels ?? {}), [LABEL_STACK]: file.name, [LABEL_SERVICE]: entry.name };
    const gpu = gpuRequest(p.gpu);
    if (gpu) {
      const device: Record<string, unknown> = { driver: 'nvidia' };
      if ('count' in gpu) device.count = gpu.count;
      else device.device_ids = gpu.devices;
      device.capabilities = ['gpu'];
      svc.deploy = { resources: { reservations: { devices: [device] } } };
    }
    if (spec.state === 'stopped') warnings.push(`${entry.name}: state "stopped" has no Compose equivalent; \`up\` starts it (use \`docker compose stop ${entry.name}\`).`);
    out[entry.name] = svc;
  }
  const compose: Record<string, unknown> = { services: out };
  if (Object.keys(volumes).length) compose.volumes = volumes;
  const header: string[] = [
    `Generated by LLM Local Stack from the stack "${file.name}". Edit the stack file and export again`,
    'rather than editing this file.',
    `Run it with:  docker compose -p ${file.name} up -d   (or docker-compose -p ${file.name} up -d)`,
    'Relative bind mounts are relative to this file: keep it next to the stack file.',
  ];
  if (secrets.length) {
    const vars = [...new Set(secrets.map((x) => x.variable))];
    header.push(
      `Secret values are not in this file: set ${vars.join(', ')} in the environment, or in a .env file`,
      'next to this file (one NAME=value a line; keep it out of version control).',
    );
    warnings.push(`Secret values are not written to the Compose file: set ${vars.join(', ')} in the environment or a .env file next to it before \`up\`.`);
  }
  return { text: exportYaml(compose, header.join('\n')), warnings, secrets };
}
