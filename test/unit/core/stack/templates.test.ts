// The stack templates (each must parse cleanly and start from safe defaults) and the JSON Schema
// generated from the zod schema (shape, strictness, descriptions, and the generator script's output).
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseStackDocument } from '../../../../src/core/stack/document';
import { STACK_SCHEMA_ID, stackJsonSchema } from '../../../../src/core/stack/jsonSchema';
import { nameSchema, services } from '../../../../src/core/stack/schema';
import { parsePort } from '../../../../src/core/stack/normalize';
import { findStackTemplate, stackTemplates } from '../../../../src/core/stack/templates';

/** out/test/unit/core/stack → the repository root. */
const ROOT = resolve(__dirname, '../../../../..');

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `expected an object, got ${JSON.stringify(v)}`);
  return v as Json;
};

describe('stack templates (unit)', () => {
  it('offers the five templates, each for llmstack.yaml', () => {
    assert.deepEqual(
      stackTemplates.map((t) => t.id),
      ['ollama-openwebui', 'llamacpp-gguf', 'vllm-nvidia', 'tgi', 'cpu-small'],
    );
    for (const t of stackTemplates) {
      assert.equal(t.fileName, 'llmstack.yaml');
      assert.ok(t.label.length > 0 && t.description.length > 0, t.id);
    }
    assert.equal(findStackTemplate('tgi'), stackTemplates[3]);
    assert.equal(findStackTemplate('nope'), undefined);
  });

  for (const t of stackTemplates) {
    describe(t.id, () => {
      it('parses with no error or warning, and its default name is a valid stack name', () => {
        const doc = parseStackDocument(t.text());
        assert.deepEqual(
          doc.diagnostics.filter((d) => d.severity !== 'info').map((d) => `${d.range.start.line + 1}: ${d.message}`),
          [],
        );
        assert.ok(doc.file);
        assert.equal(nameSchema.safeParse(doc.file.name).success, true);
      });

      it('takes the name it is given, quoted when YAML would read it as something else', () => {
        assert.equal(parseStackDocument(t.text({ name: 'my-stack' })).file?.name, 'my-stack');
        for (const tricky of ['123', 'true', '1.5', 'null', '0x1f']) {
          assert.equal(parseStackDocument(t.text({ name: tricky })).file?.name, tricky, tricky);
        }
      });

      it('binds every port to this machine only and explains each section in a comment', () => {
        const text = t.text();
        const file = parseStackDocument(text).file!;
        for (const s of services(file)) {
          for (const p of s.spec.ports ?? []) assert.equal(parsePort(p).hostIp, '127.0.0.1', `${s.name}: ${JSON.stringify(p)}`);
        }
        assert.ok(!text.includes('yaml-language-server'), 'the extension associates the schema; no modeline');
        assert.match(text, /^# /, 'starts with a comment saying what the file is');
        // Each top-level section has a comment right above it.
        const rows = text.split('\n');
        for (const section of ['name:', 'runtimes:', 'uis:']) {
          const i = rows.findIndex((r) => r.startsWith(section));
          if (i < 0) continue;
          assert.match(rows[i - 1] ?? '', /^#/, `${section} is explained`);
        }
        assert.match(text, /127\.0\.0\.1/, 'says where ports bind');
      });
    });
  }

  it('ollama-openwebui: Ollama with a model kept loaded, Open WebUI on 3000 with sign-in on', () => {
    const file = parseStackDocument(findStackTemplate('ollama-openwebui')!.text()).file!;
    const ollama = file.runtimes!.ollama;
    assert.equal(ollama.image, 'ollama/ollama:latest');
    assert.deepEqual(ollama.ports, ['11434']);
    assert.deepEqual(ollama.volumes, ['models:/root/.ollama']);
    assert.equal(ollama.gpu, 'auto');
    assert.deepEqual(ollama.params, { contextSize: 'auto' });
    assert.deepEqual(ollama.models, [{ name: 'llama3.2:1b', keepLoaded: true }]);
    assert.equal(ollama.restart, 'unless-stopped');
    assert.deepEqual(ollama.healthcheck?.test, ['CMD', 'ollama', 'list']);
    const webui = file.uis!.webui;
    assert.equal(webui.kind, 'openwebui');
    assert.equal(webui.image, 'ghcr.io/open-webui/open-webui:main');
    assert.equal(webui.runtime, 'ollama');
    assert.deepEqual(webui.ports, ['3000:8080']);
    assert.deepEqual(webui.volumes, ['webui:/app/backend/data']);
    assert.equal(webui.env?.WEBUI_AUTH, undefined, 'authentication stays on');
    assert.match(findStackTemplate('ollama-openwebui')!.text(), /# +WEBUI_AUTH: "False"/, 'says how to turn it off');
  });

  it('llamacpp-gguf: a read-only GGUF folder, listening on 0.0.0.0 inside only', () => {
    const llm = parseStackDocument(findStackTemplate('llamacpp-gguf')!.text()).file!.runtimes!.llamacpp;
    assert.equal(llm.kind, 'llamacpp');
    assert.equal(llm.image, 'ghcr.io/ggml-org/llama.cpp:server');
    assert.deepEqual(llm.volumes, ['./models:/models:ro']);
    assert.deepEqual(llm.command, ['-m', '/models/model.gguf', '--host', '0.0.0.0', '--port', '8080']);
    assert.deepEqual(llm.params, { threads: 'auto', gpuLayers: 'auto', contextSize: 'auto' });
    assert.equal(llm.gpu, 'auto');
    assert.deepEqual(llm.healthcheck?.test, ['CMD', 'curl', '-f', 'http://localhost:8080/health']);
  });

  it('vllm-nvidia: every GPU, a cache volume, and no token in the file', () => {
    const text = findStackTemplate('vllm-nvidia')!.text();
    const v = parseStackDocument(text).file!.runtimes!.vllm;
    assert.equal(v.image, 'vllm/vllm-openai:latest');
    assert.equal(v.gpu, 'all');
    assert.deepEqual(v.command, ['--model', 'Qwen/Qwen2.5-0.5B-Instruct']);
    assert.deepEqual(v.ports, ['8000']);
    assert.deepEqual(v.volumes, ['hf-cache:/root/.cache/huggingface']);
    assert.deepEqual(v.params, { contextSize: 'auto' });
    assert.equal(v.env?.HF_TOKEN, undefined);
    assert.match(text, /HF_TOKEN.*never commit/);
  });

  it('tgi and cpu-small', () => {
    const tgi = parseStackDocument(findStackTemplate('tgi')!.text()).file!.runtimes!.tgi;
    assert.equal(tgi.kind, 'tgi');
    assert.equal(tgi.image, 'ghcr.io/huggingface/text-generation-inference:latest');
    assert.deepEqual(tgi.ports, ['8081:80']);
    assert.equal(tgi.gpu, 'auto');
    assert.equal((tgi.command as string[])[0], '--model-id');
    assert.deepEqual(tgi.volumes, ['data:/data']);

    const cpu = parseStackDocument(findStackTemplate('cpu-small')!.text()).file!;
    assert.deepEqual(Object.keys(cpu.runtimes!), ['llm']);
    assert.equal(cpu.uis, undefined);
    assert.equal(cpu.runtimes!.llm.kind, 'llamacpp');
    assert.equal(cpu.runtimes!.llm.gpu, 'none');
    assert.deepEqual(cpu.runtimes!.llm.params, { threads: 'auto', contextSize: 2048 });
  });
});

describe('stack JSON Schema (unit)', () => {
  const schema = stackJsonSchema();
  const props = obj(schema.properties);
  const runtime = obj(obj(props.runtimes).additionalProperties);
  const runtimeProps = obj(runtime.properties);

  it('is draft-07 with an id, a title and the top-level keys', () => {
    assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
    assert.equal(schema.$id, STACK_SCHEMA_ID);
    assert.match(String(schema.title), /llmstack\.yaml/);
    assert.deepEqual(Object.keys(props), ['version', 'name', 'runtimes', 'uis']);
    assert.deepEqual(schema.required, ['name']);
  });

  it('keeps strict objects strict: no unknown keys at the top, in a runtime, a UI or params', () => {
    assert.equal(schema.additionalProperties, false);
    assert.equal(runtime.additionalProperties, false);
    assert.equal(obj(obj(props.uis).additionalProperties).additionalProperties, false);
    assert.equal(obj(runtimeProps.params).additionalProperties, false);
    assert.deepEqual(runtime.required, ['kind', 'image']);
  });

  it('keeps the descriptions, for hovers and completion', () => {
    assert.match(String(schema.description), /LLM runtimes and UIs/);
    assert.match(String(obj(props.name).description), /Stack name/);
    assert.match(String(runtimeProps.kind && obj(runtimeProps.kind).description), /how params map/);
    assert.match(String(obj(obj(runtimeProps.params).properties).gpuLayers && obj(obj(obj(runtimeProps.params).properties).gpuLayers).description), /GPU/);
  });

  it('writes `auto` as an anyOf with const "auto"', () => {
    const threads = obj(obj(obj(runtimeProps.params).properties).threads);
    const anyOf = threads.anyOf as Json[];
    assert.ok(Array.isArray(anyOf));
    assert.deepEqual(anyOf[0], { type: 'string', const: 'auto' });
    assert.equal(anyOf[1].type, 'integer');
  });

  it('carries readable pattern messages, and patterns that compile as VS Code compiles them', () => {
    const port = ((obj(runtimeProps.ports).items as Json).anyOf as Json[])[0];
    assert.equal(port.patternErrorMessage, 'Expected a port such as "8080", "8080:80" or "127.0.0.1:8080:80"');
    const patterns: string[] = [];
    JSON.stringify(schema, (k, v: unknown) => {
      if (k === 'pattern' && typeof v === 'string') patterns.push(v);
      return v;
    });
    assert.ok(patterns.length >= 4);
    for (const p of patterns) assert.doesNotThrow(() => new RegExp(p, 'u'), p);
    assert.equal(new RegExp(String(port.pattern), 'u').test('127.0.0.1:8080:80'), true);
  });

  it('round-trips through JSON unchanged', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(schema)), schema);
  });

  it('scripts/gen-stack-schema.mjs writes the same schema to dist/schemas', function () {
    this.timeout(60_000);
    execFileSync(process.execPath, [join(ROOT, 'scripts/gen-stack-schema.mjs')], { cwd: ROOT, stdio: 'pipe' });
    const written = readFileSync(join(ROOT, 'dist/schemas/llmstack.schema.json'), 'utf8');
    assert.ok(written.endsWith('}\n'));
    assert.deepEqual(JSON.parse(written), schema);
    assert.equal(written, `${JSON.stringify(schema, null, 2)}\n`);
  });
});

describe("the README's stack file example (unit)", () => {
  it('parses with no diagnostics, so the README shows a file that works', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = /### A stack file\s+```yaml\n([\s\S]*?)```/.exec(readme);
    assert.ok(block, 'README.md has a "### A stack file" section with a yaml block');
    const doc = parseStackDocument(block[1]);
    assert.deepEqual(doc.diagnostics.map((d) => `${d.range.start.line + 1}: ${d.message}`), []);
    assert.deepEqual(services(doc.file!).map((s) => s.name), ['ollama', 'webui']);
  });
});
