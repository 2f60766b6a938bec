// Exports a stack file as Kubernetes objects (a Deployment and a Service per service, a
// PersistentVolumeClaim per named volume), typed with kubernetes-types, and as multi-document YAML.
import * as path from 'node:path';
import type { Deployment } from 'kubernetes-types/apps/v1';
import type { Container, ContainerPort, EnvVar, PersistentVolumeClaim, Probe, Service, ServicePort, Volume, VolumeMount } from 'kubernetes-types/core/v1';
import type { Duration, HealthcheckSpec, StackFile } from '../schema';
import { LABEL_SERVICE, LABEL_STACK, services } from '../schema';
import { commandArgs, dependenciesOf, durationMs, envStrings, healthcheckTest, parsePort, parseVolume, runtimeApiPort, sizeBytes } from '../normalize';
import { commonWarnings, type ExportOptions, exportParams, exportYaml, gpuRequest } from './common';
import { uiWiringEnv } from '../normalize';
import { isSecretEnv } from '../secrets';

export type KubeObject = Deployment | Service | PersistentVolumeClaim;

interface KubernetesExportOptions extends ExportOptions {
  /** The stack file's folder: relative bind mounts become absolute hostPath volumes against it. */
  readonly stackDir?: string;
  /** Size of each PersistentVolumeClaim (default 10Gi). */
  readonly storage?: string;
}

interface KubernetesExport {
  readonly objects: KubeObject[];
  readonly text: string;
  readonly warnings: string[];
  /** The Secrets the Deployments read (secretKeyRef) and the file does not hold: the user creates them. */
  readonly secrets: readonly KubernetesSecretRef[];
}

/** A Secret a Deployment reads its secret env from, with the keys it needs. */
interface KubernetesSecretRef {
  readonly service: string;
  readonly name: string;
  readonly keys: readonly string[];
}

const DEFAULT_STORAGE = '10Gi';
/** Annotation on each claim saying its size is a default. */
export const STORAGE_NOTE_ANNOTATION = 'io.llmstack.storage-note';

/** The memory-backed emptyDir mounted at /dev/shm when a service sets shmSize. */
const SHM_VOLUME = 'dshm';

/**
 * Bytes as a Kubernetes quantity: the largest binary suffix that divides them exactly ("1Gi",
 * "512Mi", "1536Mi" for 1.5g), else plain bytes ("1000").
 */
export function sizeQuantity(bytes: number): string {
  const units = [
    ['Ti', 1024 ** 4],
    ['Gi', 1024 ** 3],
    ['Mi', 1024 ** 2],
    ['Ki', 1024],
  ] as const;
  for (const [suffix, size] of units) if (bytes > 0 && bytes % size === 0) return `${bytes / size}${suffix}`;
  return String(bytes);
}

/** Docker's healthcheck defaults, kept so a probe behaves as the container's healthcheck does. */
const DOCKER_INTERVAL_S = 30;
const DOCKER_TIMEOUT_S = 30;
const DOCKER_RETRIES = 3;

/**
 * A DNS-1035 label (what Service names need; also a valid DNS-1123 label and subdomain): lower
 * case letters, digits and "-", starting with a letter, at most 63 characters.
 */
export function dnsLabel(s: string): string {
  let out = s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!/^[a-z]/.test(out)) out = `s-${out}`;
  return out.slice(0, 63).replace(/-+$/, '');
}

/** A label value: at most 63 of [A-Za-z0-9-_.], starting and ending with a letter or digit. */
export function labelValue(s: string): string {
  return s
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** Hands out DNS labels, adding "-2", "-3" when two names sanitize to the same one. */
class Names {
  private readonly used = new Set<string>();
  take(s: string): string {
    const base = dnsLabel(s);
    let name = base;
    for (let i = 2; this.used.has(name); i++) name = `${base.slice(0, 60)}-${i}`;
    this.used.add(name);
    return name;
  }
}

function seconds(d: Duration): number {
  return Math.max(1, Math.ceil(durationMs(d) / 1000));
}

/** The healthcheck as an exec probe; Docker's defaults where the file gives none. */
export function healthProbe(h: HealthcheckSpec): Probe | undefined {
  const test = healthcheckTest(h);
  if (test[0] === 'NONE') return undefined;
  const command = test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', test.slice(1).join(' ')] : test.slice(1);
  const probe: Probe = {
    exec: { command },
    periodSeconds: h.interval !== undefined ? seconds(h.interval) : DOCKER_INTERVAL_S,
    timeoutSeconds: h.timeout !== undefined ? seconds(h.timeout) : DOCKER_TIMEOUT_S,
    failureThreshold: h.retries ?? DOCKER_RETRIES,
  };
  if (h.startPeriod !== undefined) probe.initialDelaySeconds = Math.ceil(durationMs(h.startPeriod) / 1000);
  return probe;
}

/**
 * The stack as Kubernetes objects, meant for one namespace per stack (`kubectl apply -n <ns>`).
 * Objects are named after the service (the Service name is the host a UI reaches its runtime by),
 * claims after the volume. Published ports become ClusterIP Service ports: there is no 127.0.0.1
 * in a cluster, `kubectl port-forward` brings them to this machine.
 */
export function toKubernetes(file: StackFile, o: KubernetesExportOptions = {}): KubernetesExport {
  const warnings: string[] = [];
  const stackLabel = labelValue(file.name);
  const storage = o.storage ?? DEFAULT_STORAGE;
  const all = services(file);
  const serviceNames = new Names();
  const hostOf = new Map(all.map((e) => [e.name, serviceNames.take(e.name)]));
  const claimNames = new Names();
  // A volume of the stack named "dshm" gets a claim "dshm-2": the pod volume name is taken by /dev/shm.
  claimNames.take(SHM_VOLUME);
  const claims = new Map<string, { name: string; users: string[] }>();
  const workloads: KubeObject[] = [];
  const secrets: KubernetesSecretRef[] = [];

  for (const entry of all) {
    const spec = entry.spec;
    const name = hostOf.get(entry.name)!;
    if (name !== entry.name) warnings.push(`${entry.name}: named "${name}" in Kubernetes (DNS-1035 label).`);
    const p = exportParams(entry, o.params);
    warnings.push(...p.warnings, ...commonWarnings(entry, 'Kubernetes'));
    const wiring = uiWiringEnv(file, entry, (s) => hostOf.get(s) ?? dnsLabel(s));
    warnings.push(...wiring.warnings);
    const selector = { 'app.kubernetes.io/name': labelValue(entry.name), 'app.kubernetes.io/part-of': stackLabel };
    const labels = { ...selector, [LABEL_STACK]: stackLabel, [LABEL_SERVICE]: labelValue(entry.name) };

    const container: Container = { name, image: spec.image };
    const args = [...commandArgs(spec.command), ...p.args];
    if (args.length) container.args = args;
    // Secret values stay out of the manifests (base64 in a Secret is no protection, and a Secret in
    // a file that is applied again would overwrite the one the user filled in): the Deployment reads
    // them from a Secret the user creates; until then the pod waits, naming the missing Secret.
    const secretName = dnsLabel(`${name}-secrets`);
    const secretKeys: string[] = [];
    const env: EnvVar[] = Object.entries({ ...wiring.env, ...envStrings(spec.env), ...p.env }).map(([k, value]) => {
      if (!isSecretEnv(k, value)) return { name: k, value };
      // A Secret's keys take [-._a-zA-Z0-9] only.
      const key = k.replace(/[^-._a-zA-Z0-9]/g, '_');
      secretKeys.push(key);
      return { name: k, valueFrom: { secretKeyRef: { name: secretName, key } } };
    });
    if (env.length) container.env = env;
    if (secretKeys.length) {
      secrets.push({ service: entry.name, name: secretName, keys: secretKeys });
      warnings.push(`${entry.name}: ${secretKeys.join(', ')} ${secretKeys.length === 1 ? 'is' : 'are'} read from the Secret "${secretName}", which the file does not hold: create it before the pod can start (see the file's header).`);
    }

    // Container ports: the published ones plus a runtime's API port, named for the Service.
    const ports: ContainerPort[] = [];
    const seen = new Set<string>();
    const addPort = (port: number, protocol: 'tcp' | 'udp', portName: string) => {
      if (seen.has(`${port}/${protocol}`)) return;
      seen.add(`${port}/${protocol}`);
      ports.push({ name: portName, containerPort: port, protocol: protocol === 'udp' ? 'UDP' : 'TCP' });
    };
    const api = runtimeApiPort(entry);
    if (api !== undefined) addPort(api, 'tcp', 'api');
    for (const ps of spec.ports ?? []) {
      const n = parsePort(ps);
      addPort(n.containerPort, n.protocol, `${n.protocol}-${n.containerPort}`);
    }
    if (ports.length) container.ports = ports;

    const gpu = gpuRequest(p.gpu);
    if (gpu) {
      let count: number;
      if ('devices' in gpu) {
        count = gpu.devices.length;
        warnings.push(`${entry.name}: Kubernetes cannot pick GPUs by index or UUID; asks for ${count} GPU(s) instead.`);
      } else if (gpu.count === 'all') {
        count = 1;
        warnings.push(`${entry.name}: Kubernetes needs a number of GPUs; "all" exported as 1 (nvidia.com/gpu), raise it as needed.`);
      } else count = gpu.count;
      container.resources = { limits: { 'nvidia.com/gpu': String(count) } };
    }

    if (spec.healthcheck) {
      const probe = healthProbe(spec.healthcheck);
      if (probe) {
        container.readinessProbe = probe;
        container.livenessProbe = { ...probe, exec: { command: [...probe.exec!.command!] } };
      }
    }

    const volumes: Volume[] = [];
    const mounts: VolumeMount[] = [];
    let binds = 0;
    for (const vs of spec.volumes ?? []) {
      const v = parseVolume(vs);
      if (v.kind === 'named') {
        let claim = claims.get(v.name);
        if (!claim) claims.set(v.name, (claim = { name: claimNames.take(v.name), users: [] }));
        if (!claim.users.includes(entry.name)) claim.users.push(entry.name);
        if (!volumes.some((x) => x.name === claim!.name)) volumes.push({ name: claim.name, persistentVolumeClaim: { claimName: claim.name } });
        mounts.push({ name: claim.name, mountPath: v.target, ...(v.readOnly ? { readOnly: true } : {}) });
      } else {
        const volName = `host-${++binds}`;
        let source = v.source;
        if (source.startsWith('~')) {
          warnings.push(`${entry.name}: bind mount "${v.source}" starts with "~", which a node does not expand; set an absolute path.`);
        } else if (!path.isAbsolute(source)) {
          if (o.stackDir) source = path.resolve(o.stackDir, source);
          else warnings.push(`${entry.name}: bind mount "${v.source}" is relative; hostPath needs an absolute path on the node.`);
        }
        warnings.push(`${entry.name}: bind mount "${v.source}" became a hostPath volume: it reads the folder of whichever node runs the pod.`);
        volumes.push({ name: volName, hostPath: { path: source } });
        mounts.push({ name: volName, mountPath: v.target, ...(v.readOnly ? { readOnly: true } : {}) });
      }
    }
    // Two pods of one service would share these (see the strategy below); /dev/shm is per pod.
    const shared = volumes.length > 0;
    // Docker's --shm-size as Kubernetes does it: a memory-backed emptyDir over /dev/shm (what it
    // holds counts as the pod's memory).
    if (spec.shmSize !== undefined) {
      volumes.push({ name: SHM_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: sizeQuantity(sizeBytes(spec.shmSize)) } });
      mounts.push({ name: SHM_VOLUME, mountPath: '/dev/shm' });
    }
    if (mounts.length) container.volumeMounts = mounts;

    const annotations: Record<string, string> = {};
    for (const [k, value] of Object.entries(spec.labels ?? {})) {
      if (QUALIFIED_NAME.test(k)) annotations[k] = value;
      else warnings.push(`${entry.name}: label "${k}" is not a valid Kubernetes annotation key; left out.`);
    }

    const restart = spec.restart ?? 'unless-stopped';
    if (restart === 'no' || restart === 'on-failure') {
      warnings.push(`${entry.name}: restart "${restart}" has no Deployment equivalent; Kubernetes always restarts the container.`);
    }
    const deps = dependenciesOf(entry);
    if (deps.length) {
      warnings.push(`${entry.name}: Kubernetes has no start order; it starts together with ${deps.join(', ')} and must retry until they answer.`);
    }

    const deployment: Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, labels },
      spec: {
        replicas: spec.state === 'stopped' ? 0 : 1,
        // Two pods of one service would share its volumes (and ReadWriteOnce claims refuse that).
        ...(shared ? { strategy: { type: 'Recreate' } } : {}),
        selector: { matchLabels: selector },
        template: {
          metadata: { labels, ...(Object.keys(annotations).length ? { annotations } : {}) },
          spec: { containers: [container], ...(volumes.length ? { volumes } : {}) },
        },
      },
    };
    workloads.push(deployment);

    if (ports.length) {
      const servicePorts: ServicePort[] = ports.map((cp) => ({ name: cp.name, port: cp.containerPort, targetPort: cp.name, protocol: cp.protocol }));
      workloads.push({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, labels },
        spec: { type: 'ClusterIP', selector, ports: servicePorts },
      });
    }
  }

  const pvcs: PersistentVolumeClaim[] = [];
  for (const [vol, claim] of claims) {
    if (claim.users.length > 1) {
      warnings.push(`Volume "${vol}" is used by ${claim.users.join(' and ')}: a ReadWriteOnce claim mounts on one node only; use ReadWriteMany storage or keep them on one node.`);
    }
    pvcs.push({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: claim.name,
        labels: { 'app.kubernetes.io/part-of': stackLabel, [LABEL_STACK]: stackLabel },
        annotations: { [STORAGE_NOTE_ANNOTATION]: `${storage} is a default: set the size (and storageClassName) the models need.` },
      },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } },
    });
  }

  const objects: KubeObject[] = [...pvcs, ...workloads];
  const header: string[] = [
    `Generated by LLM Local Stack from the stack "${file.name}". Edit the stack file and export again`,
    'rather than editing this file.',
    `Apply it with:  kubectl create namespace ${dnsLabel(file.name)} && kubectl apply -n ${dnsLabel(file.name)} -f <this file>`,
    'Published ports are ClusterIP Service ports; reach one from this machine with',
    '  kubectl port-forward -n <namespace> svc/<service> <local port>:<port>',
  ];
  if (secrets.length) {
    header.push('Secret values are not in this file. Create each Secret once, with the values, before applying:');
    for (const x of secrets) {
      header.push(`  kubectl create secret generic ${x.name} -n ${dnsLabel(file.name)} ${x.keys.map((k) => `--from-literal=${k}=<value>`).join(' ')}`);
    }
  }
  const docs = objects.map((obj) => {
    const comment = obj.kind === 'PersistentVolumeClaim' ? `Adjust the size (${storage} is a default) and set a storageClassName if the cluster has no default.` : '';
    return `---\n${exportYaml(obj, comment)}`;
  });
  const text = `${header.map((l) => `# ${l}`).join('\n')}\n${docs.join('')}`;
  return { objects, text, warnings, secrets };
}
