// Writes docs/openapi.json: the local service's OpenAPI 3.1 document, generated from the use cases'
// zod schemas (src/service/openapi.ts), the same document the service serves at /openapi.json.
// Runs standalone (`node scripts/gen-openapi.mjs`) or from scripts/build.mjs.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'src/service/openapi.ts');
const outFile = join(root, 'docs/openapi.json');

const result = await build({ entryPoints: [entry], bundle: true, platform: 'node', target: 'node20', write: false, format: 'cjs', logLevel: 'warning', external: ['cpu-features', 'ssh2'] });
const module = { exports: {} };
new Function('module', 'exports', 'require', '__filename', '__dirname', result.outputFiles[0].text)(module, module.exports, createRequire(entry), entry, dirname(entry));
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, `${JSON.stringify(module.exports.openapiDocument(version), null, 2)}\n`);
console.log(`Wrote ${outFile.slice(root.length + 1)}`);
