// Writes dist/schemas/llmstack.schema.json from the zod schema (src/core/stack/jsonSchema.ts), so the
// JSON Schema contributed to VS Code (jsonValidation / yamlValidation) never drifts from the code.
// Runs standalone (`node scripts/gen-stack-schema.mjs`) or from scripts/build.mjs.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'src/core/stack/jsonSchema.ts');
const outFile = join(root, 'dist/schemas/llmstack.schema.json');

/** Bundles the module in memory and evaluates it as CommonJS; zod comes along in the bundle. */
async function loadModule(file) {
  const result = await build({ entryPoints: [file], bundle: true, platform: 'node', target: 'node20', write: false, format: 'cjs', logLevel: 'warning' });
  const module = { exports: {} };
  const run = new Function('module', 'exports', 'require', '__filename', '__dirname', result.outputFiles[0].text);
  run(module, module.exports, createRequire(file), file, dirname(file));
  return module.exports;
}

const { stackJsonSchema } = await loadModule(entry);
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, `${JSON.stringify(stackJsonSchema(), null, 2)}\n`);
console.log(`Wrote ${outFile.slice(root.length + 1)}`);
