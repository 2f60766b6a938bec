// The Kubernetes export: the objects' structure, and a round trip through the official client's
// models (@kubernetes/client-node): every field the export writes is one the model knows, and every
// field the model requires is set.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Deployment } from 'kubernetes-types/apps/v1';
import type { PersistentVolumeClaim, Service } from 'kubernetes-types/core/v1';
import { parse } from 'yaml';
import { dnsLabel, healthProbe, type KubeObject, labelValue, sizeQuantity, STORAGE_NOTE_ANNOTATION, toKubernetes } from '../../../../src/core/stack/export/kubernetes';
import { LABEL_SERVICE, LABEL_STACK, type StackFile } from '../../../../src/core/stack/schema';

/* eslint-disable @typescript-eslint/no-explicit-any */
// The client is ESM-only and the tests compile to CommonJS: a real dynamic import, hidden from tsc.
const importEsm = new Function('s', 'return import(s)') as (s: string) => Promise<any>;
const CLIENT_DIR = path.resolve(__dirname, '../../../../../node_modules/@kubernetes/client-node');

const stack: StackFile = {
  name: 'my.stack_',
  runtimes: {
    llm: {
      kind: 'ollama',
      image: 'ollama/ollama:0.5',
      ports: ['11434', '0.0.0.0:9090:9090', '5353:53/udp'],
      volumes: ['models:/root/.ollama', './data:/data:ro', '/abs/cache:/cache'],
      gpu: 'all',
      params: { parallel: 2 },
      healthcheck: { test: 'wget -q -O- http://localhost:11434/api/version', interval: '5s', timeout: '500ms', retries: 5, startPeriod: '1m30s' },
      env: { OLLAMA_KEEP_ALIVE: 'no', HF_TOKEN: 'hf_realSecret' },
    },
    'vl_2.b': { kind: 'vllm', image: 'vllm/vllm-openai:v0.6', gpu: { count: 2 }, command: ['--model', 'x'], volumes: ['models:/models:ro'], state: 'stopped', shmSize: '8g' },
    '9cpu': { kind: 'llamacpp', image: 'ghcr.io/ggml-org/llama.cpp:server', gpu: { devices: ['0', '1'] }, healthcheck: { test: ['CMD', 'curl', '-f', 'http://localhost:8080/health'] } },
  },
  uis: {
    web: { kind: 'openwebui', image: 'ghcr.io/open-webui/open-webui:main', ports: ['3000:8080'], runtime: 'vl_2.b', restart: 'on-failure', env: { WEBUI_AUTH: false, 'OPENAI_API_KEY': 'sk-web' }, labels: { 'com.example/team': 'ml', 'bad key!': 'x' }, shmSize: '1.5g' },
    plain: { image: 'nginx:1' },
  },
};

const byKind = <T extends KubeObject>(objects: KubeObject[], kind: T['kind']) => objects.filter((o) => o.kind === kind) as T[];

describe('stack export: Kubernetes (unit)', () => {
  const r = toKubernetes(stack, { stackDir: '/work/stacks' });
  const deployments = byKind<Deployment>(r.objects, 'Deployment');
  const svcs = byKind<Service>(r.objects, 'Service');
  const pvcs = byKind<PersistentVolumeClaim>(r.objects, 'PersistentVolumeClaim');
  const dep = (name: string) => deployments.find((d) => d.metadata!.name === name)!;
  const ctr = (name: string) => dep(name).spec!.template.spec!.containers[0];

  it('makes DNS-1035 names and valid label values', () => {
    assert.equal(dnsLabel('vl_2.b'), 'vl-2-b');
    assert.equal(dnsLabel('9cpu'), 's-9cpu');
    assert.equal(dnsLabel('A--b__'), 'a-b');
    assert.equal(dnsLabel('x'.repeat(80)).length, 63);
    assert.equal(labelValue('my.stack_'), 'my.stack');
    for (const o of r.objects) assert.match(o.metadata!.name!, /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/);
    assert.deepEqual(
      deployments.map((d) => d.metadata!.name),
      ['llm', 'vl-2-b', 's-9cpu', 'web', 'plain'],
    );
    assert.ok(r.warnings.includes('vl_2.b: named "vl-2-b" in Kubernetes (DNS-1035 label).'));
  });

  it('writes one Deployment per service with labels, selector, replicas and Recreate for volumes', () => {
    const d = dep('llm');
    assert.equal(d.apiVersion, 'apps/v1');
    assert.equal(d.spec!.replicas, 1);
    assert.deepEqual(d.spec!.strategy, { type: 'Recreate' });
    assert.deepEqual(d.spec!.selector.matchLabels, { 'app.kubernetes.io/name': 'llm', 'app.kubernetes.io/part-of': 'my.stack' });
    assert.deepEqual(d.spec!.template.metadata!.labels, { 'app.kubernetes.io/name': 'llm', 'app.kubernetes.io/part-of': 'my.stack', [LABEL_STACK]: 'my.stack', [LABEL_SERVICE]: 'llm' });
    assert.equal(dep('vl-2-b').spec!.replicas, 0, 'state: stopped');
    assert.equal(dep('web').spec!.strategy, undefined);
    assert.deepEqual(dep('web').spec!.template.metadata!.annotations, { 'com.example/team': 'ml' });
    assert.ok(r.warnings.some((w) => /label "bad key!"/.test(w)));
  });

  it('sets image, args, env (with params and UI wiring to the Service name) and named ports', () => {
    const c = ctr('llm');
    assert.equal(c.name, 'llm');
    assert.equal(c.image, 'ollama/ollama:0.5');
    assert.deepEqual(c.env, [
      { name: 'OLLAMA_KEEP_ALIVE', value: 'no' },
      { name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: 'llm-secrets', key: 'HF_TOKEN' } } },
      { name: 'OLLAMA_NUM_PARALLEL', value: '2' },
    ]);
    assert.deepEqual(c.ports, [
      { name: 'api', containerPort: 11434, protocol: 'TCP' },
      { name: 'tcp-9090', containerPort: 9090, protocol: 'TCP' },
      { name: 'udp-53', containerPort: 53, protocol: 'UDP' },
    ]);
    assert.deepEqual(ctr('vl-2-b').args, ['--model', 'x']);
    assert.deepEqual(ctr('web').env, [
      { name: 'OPENAI_API_BASE_URL', value: 'http://vl-2-b:8000/v1' },
      { name: 'WEBUI_AUTH', value: 'false' },
      { name: 'OPENAI_API_KEY', valueFrom: { secretKeyRef: { name: 'web-secrets', key: 'OPENAI_API_KEY' } } },
    ]);
    for (const c2 of deployments.flatMap((d) => d.spec!.template.spec!.containers)) for (const p of c2.ports ?? []) assert.ok(p.name!.length <= 15 && /[a-z]/.test(p.name!));
  });

  it('limits nvidia.com/gpu: all → 1 with a warning, a count as is, devices → their number', () => {
    assert.deepEqual(ctr('llm').resources, { limits: { 'nvidia.com/gpu': '1' } });
    assert.deepEqual(ctr('vl-2-b').resources, { limits: { 'nvidia.com/gpu': '2' } });
    assert.deepEqual(ctr('s-9cpu').resources, { limits: { 'nvidia.com/gpu': '2' } });
    assert.equal(ctr('web').resources, undefined);
    assert.ok(r.warnings.some((w) => /llm: Kubernetes needs a number of GPUs; "all" exported as 1/.test(w)));
    assert.ok(r.warnings.some((w) => /9cpu: Kubernetes cannot pick GPUs by index/.test(w)));
  });

  it('turns the healthcheck into readiness and liveness exec probes', () => {
    const expected = {
      exec: { command: ['/bin/sh', '-c', 'wget -q -O- http://localhost:11434/api/version'] },
      periodSeconds: 5,
      timeoutSeconds: 1,
      failureThreshold: 5,
      initialDelaySeconds: 90,
    };
    assert.deepEqual(ctr('llm').readinessProbe, expected);
    assert.deepEqual(ctr('llm').livenessProbe, expected);
    // CMD form: the arguments as they are; Docker's defaults (30 s, 30 s, 3) where the file has none.
    assert.deepEqual(ctr('s-9cpu').readinessProbe, { exec: { command: ['curl', '-f', 'http://localhost:8080/health'] }, periodSeconds: 30, timeoutSeconds: 30, failureThreshold: 3 });
    assert.equal(healthProbe({ test: ['NONE'] }), undefined);
    assert.equal(ctr('web').readinessProbe, undefined);
  });

  it('mounts one claim per named volume (shared) and binds as hostPath with warnings', () => {
    assert.deepEqual(
      pvcs.map((p) => p.metadata!.name),
      ['models'],
    );
    const pvc = pvcs[0];
    assert.deepEqual(pvc.spec, { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } });
    assert.match(pvc.metadata!.annotations![STORAGE_NOTE_ANNOTATION], /10Gi is a default/);
    assert.deepEqual(ctr('llm').volumeMounts, [
      { name: 'models', mountPath: '/root/.ollama' },
      { name: 'host-1', mountPath: '/data', readOnly: true },
      { name: 'host-2', mountPath: '/cache' },
    ]);
    assert.deepEqual(dep('llm').spec!.template.spec!.volumes, [
      { name: 'models', persistentVolumeClaim: { claimName: 'models' } },
      { name: 'host-1', hostPath: { path: '/work/stacks/data' } },
      { name: 'host-2', hostPath: { path: '/abs/cache' } },
    ]);
    assert.deepEqual(ctr('vl-2-b').volumeMounts, [
      { name: 'models', mountPath: '/models', readOnly: true },
      { name: 'dshm', mountPath: '/dev/shm' },
    ]);
    assert.ok(r.warnings.some((w) => /Volume "models" is used by llm and vl_2\.b/.test(w)));
    assert.ok(r.warnings.some((w) => /llm: bind mount "\.\/data" became a hostPath volume/.test(w)));
    const noDir = toKubernetes(stack);
    assert.ok(noDir.warnings.some((w) => /"\.\/data" is relative/.test(w)));
    assert.equal(byKind<PersistentVolumeClaim>(toKubernetes(stack, { storage: '50Gi' }).objects, 'PersistentVolumeClaim')[0].spec!.resources!.requests!.storage, '50Gi');
  });

  it('gives shmSize as a memory-backed emptyDir "dshm" over /dev/shm, sized as a quantity', () => {
    assert.deepEqual(dep('vl-2-b').spec!.template.spec!.volumes, [
      { name: 'models', persistentVolumeClaim: { claimName: 'models' } },
      { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '8Gi' } },
    ]);
    assert.deepEqual(dep('web').spec!.template.spec!.volumes, [{ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1536Mi' } }]);
    assert.deepEqual(ctr('web').volumeMounts, [{ name: 'dshm', mountPath: '/dev/shm' }]);
    assert.equal(dep('web').spec!.strategy, undefined, '/dev/shm is per pod: no Recreate for it');
    assert.equal(ctr('llm').volumeMounts!.some((m) => m.mountPath === '/dev/shm'), false);
    assert.equal(dep('plain').spec!.template.spec!.volumes, undefined);

    assert.equal(sizeQuantity(1073741824), '1Gi');
    assert.equal(sizeQuantity(536870912), '512Mi');
    assert.equal(sizeQuantity(1048576), '1Mi');
    assert.equal(sizeQuantity(1536), '1536');
    assert.equal(sizeQuantity(2048), '2Ki');
    assert.equal(sizeQuantity(1000), '1000');
    assert.equal(sizeQuantity(2 * 1024 ** 4), '2Ti');

    // A volume of the stack named "dshm" does not take the pod volume's name.
    const clash = toKubernetes({ name: 's', runtimes: { v: { kind: 'vllm', image: 'v', volumes: ['dshm:/cache'], shmSize: 1048576 } } });
    const podVolumes = byKind<Deployment>(clash.objects, 'Deployment')[0].spec!.template.spec!.volumes!;
    assert.deepEqual(
      podVolumes.map((v) => v.name),
      ['dshm-2', 'dshm'],
    );
    assert.deepEqual(podVolumes[1].emptyDir, { medium: 'Memory', sizeLimit: '1Mi' });
  });

  it('writes a ClusterIP Service for each service with ports, named as the container ports', () => {
    assert.deepEqual(
      svcs.map((s) => s.metadata!.name),
      ['llm', 'vl-2-b', 's-9cpu', 'web'],
    );
    const web = svcs.find((s) => s.metadata!.name === 'web')!;
    assert.deepEqual(web.spec, {
      type: 'ClusterIP',
      selector: { 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/part-of': 'my.stack' },
      ports: [{ name: 'tcp-8080', port: 8080, targetPort: 'tcp-8080', protocol: 'TCP' }],
    });
    assert.ok(!svcs.some((s) => s.metadata!.name === 'plain'), 'no ports, no Service');
  });

  it('reads secret values from Secrets the file does not hold, and says how to create them', () => {
    assert.ok(!/hf_realSecret|sk-web/.test(r.text), 'no secret value in the text, not even base64');
    assert.ok(!r.text.includes(Buffer.from('hf_realSecret').toString('base64')));
    assert.equal(r.objects.filter((o) => (o.kind as string) === 'Secret').length, 0, 'applying the file again cannot overwrite a filled-in Secret');
    assert.deepEqual(r.secrets, [
      { service: 'llm', name: 'llm-secrets', keys: ['HF_TOKEN'] },
      { service: 'web', name: 'web-secrets', keys: ['OPENAI_API_KEY'] },
    ]);
    assert.match(r.text, /^# Secret values are not in this file\. Create each Secret once, with the values, before applying:$/m);
    assert.match(r.text, /^# {3}kubectl create secret generic llm-secrets -n my-stack --from-literal=HF_TOKEN=<value>$/m);
    assert.match(r.text, /^# {3}kubectl create secret generic web-secrets -n my-stack --from-literal=OPENAI_API_KEY=<value>$/m);
    assert.ok(r.warnings.includes('llm: HF_TOKEN is read from the Secret "llm-secrets", which the file does not hold: create it before the pod can start (see the file\'s header).'));
    const odd = toKubernetes({ name: 's', uis: { u: { image: 'x', env: { 'my token': 'v', A_KEY: 'k' } } } });
    assert.deepEqual(odd.secrets, [{ service: 'u', name: 'u-secrets', keys: ['my_token', 'A_KEY'] }]);
    assert.match(odd.warnings.join('\n'), /u: my_token, A_KEY are read from the Secret "u-secrets"/);
    assert.deepEqual(toKubernetes({ name: 's', uis: { u: { image: 'x' } } }).secrets, []);
  });

  it('warns about restart policies and start order Kubernetes does not have', () => {
    assert.ok(r.warnings.some((w) => /web: restart "on-failure" has no Deployment equivalent/.test(w)));
    assert.ok(r.warnings.some((w) => /web: Kubernetes has no start order; it starts together with vl_2\.b/.test(w)));
  });

  describe('with the official client models', () => {
    let k8s: any;
    before(async () => {
      // The modules the package's index re-exports, loaded one by one: the index also loads undici 8,
      // which needs Node 22.19+ (zlib zstd), while the project runs on Node 20.
      const [serializer, models, yaml] = await Promise.all([
        importEsm('@kubernetes/client-node/dist/gen/models/ObjectSerializer.js'),
        importEsm('@kubernetes/client-node/dist/gen/models/all.js'),
        importEsm('@kubernetes/client-node/dist/yaml.js'),
      ]);
      k8s = { ...models, ObjectSerializer: serializer.ObjectSerializer, loadAllYaml: yaml.loadAllYaml };
    });

    const typeOf = (o: KubeObject) => `V1${o.kind}`;
    const clean = (v: unknown) => JSON.parse(JSON.stringify(v));

    it('keeps every field through deserialize → serialize', () => {
      for (const obj of r.objects) {
        const type = typeOf(obj);
        assert.ok(k8s[type], type);
        const back = k8s.ObjectSerializer.serialize(k8s.ObjectSerializer.deserialize(clean(obj), type, ''), type, '');
        assert.deepEqual(clean(back), clean(obj), `${obj.kind} ${obj.metadata!.name} lost or changed a field`);
      }
    });

    /** Attributes the generated model declares without "?" (required by the OpenAPI document). */
    const requiredCache = new Map<string, string[]>();
    function required(type: string): string[] {
      let names = requiredCache.get(type);
      if (!names) {
        const dts = fs.readFileSync(path.join(CLIENT_DIR, 'dist/gen/models', `${type}.d.ts`), 'utf8');
        names = [...dts.matchAll(/^\s+'(\w+)': /gm)].map((m) => m[1]);
        requiredCache.set(type, names);
      }
      return names;
    }

    function checkRequired(value: any, type: string, at: string, seen: string[]): void {
      if (value === undefined || value === null) return;
      const arr = /^Array<(.+)>$/.exec(type);
      if (arr) return value.forEach((v: unknown, i: number) => checkRequired(v, arr[1], `${at}[${i}]`, seen));
      const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
      if (map) return Object.entries(value).forEach(([k, v]) => checkRequired(v, map[1], `${at}.${k}`, seen));
      const model = k8s[type];
      if (!model?.getAttributeTypeMap) return;
      seen.push(type);
      for (const name of required(type)) assert.notEqual(value[name], undefined, `${at}.${name} is required by ${type}`);
      for (const attr of model.getAttributeTypeMap() as { name: string; baseName: string; type: string }[]) {
        checkRequired(value[attr.baseName], attr.type, `${at}.${attr.baseName}`, seen);
      }
    }

    it('sets every field the models require, and the ones the API needs in practice', () => {
      const seen: string[] = [];
      for (const obj of r.objects) checkRequired(clean(obj), typeOf(obj), obj.kind!, seen);
      for (const t of ['V1DeploymentSpec', 'V1Container', 'V1ContainerPort', 'V1ServicePort', 'V1Probe', 'V1ExecAction', 'V1Volume', 'V1VolumeMount', 'V1HostPathVolumeSource', 'V1PersistentVolumeClaimVolumeSource', 'V1EmptyDirVolumeSource', 'V1EnvVar']) {
        assert.ok(seen.includes(t), `${t} was checked`);
      }
      assert.ok(required('V1DeploymentSpec').includes('selector') && required('V1DeploymentSpec').includes('template'));
      assert.ok(required('V1Container').includes('name'));
      for (const o of r.objects) {
        assert.ok(o.apiVersion && o.kind && o.metadata?.name, 'apiVersion, kind, metadata.name');
      }
      for (const d of deployments) for (const c of d.spec!.template.spec!.containers) assert.ok(c.name && c.image);
      for (const s of svcs) assert.ok(s.spec!.ports!.length && s.spec!.selector);
      for (const p of pvcs) assert.ok(p.spec!.accessModes!.length && p.spec!.resources!.requests!.storage);
    });

    it('writes YAML the client loads back as the same objects', () => {
      assert.match(r.text, /^# Generated by LLM Local Stack from the stack "my\.stack_"/);
      assert.match(r.text, /# Adjust the size \(10Gi is a default\)/);
      const docs = k8s.loadAllYaml(r.text);
      assert.deepEqual(clean(docs), clean(r.objects));
      // The yaml package (1.2) reads it the same way, with no anchors or aliases.
      assert.doesNotMatch(r.text, /[&*]a\d/);
      assert.deepEqual(
        r.text
          .split(/^---$/m)
          .slice(1)
          .map((t) => parse(t)),
        clean(r.objects),
      );
    });
  });
});
