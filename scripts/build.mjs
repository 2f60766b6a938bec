// Builds the extension bundle and the metrics panel's webview bundle (esbuild) or, with --tests,
// compiles src/test/bench with tsc into out/.
import { build, context } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';

const args = new Set(process.argv.slice(2));

if (args.has('--tests')) {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { stdio: 'inherit' });
  // The webview app is bundled by esbuild, which does not type-check: tsc checks it here.
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'webview-ui', '--noEmit'], { stdio: 'inherit' });
  process.exit(0);
}

// dockerode pulls in gRPC and protobuf only for BuildKit sessions (image builds), which the
// extension never runs; stubbing them keeps the bundle and activation small.
const noBuildKit = {
  name: 'no-buildkit',
  setup(b) {
    b.onResolve({ filter: /^\.\/(session|buildkit)$/ }, (args) =>
      /dockerode[\\/]lib/.test(args.importer) ? { path: args.path, namespace: 'no-buildkit' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'no-buildkit' }, () => ({
      contents: 'module.exports = function () { throw new Error("BuildKit sessions are not bundled in LLM Local Stack"); };',
      loader: 'js',
    }));
  },
};

const options = {
  plugins: [noBuildKit],
  entryPoints: ['src/extension.ts'],
  bundle: true,
  outfile: 'dist/extension.js',
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // ssh2 (pulled in by docker-modem) loads optional native helpers in try/catch; they stay out of the bundle.
  external: ['vscode', 'cpu-features', './crypto/build/Release/sshcrypto.node', 'sql.js/dist/sql-wasm.wasm'],
  sourcemap: args.has('--production') ? false : 'linked',
  minify: args.has('--production'),
  metafile: true,
  logLevel: 'warning',
};

// zod's `z` namespace re-exports every locale (~260 KiB minified) that no message of ours uses;
// the webview bundle keeps English only (the default error map), which halves its size.
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer) ? { path: 'locales', namespace: 'zod-english-only', pluginData: args.resolveDir } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, (args) => ({
      contents: 'export { default as en } from "../locales/en.js";',
      resolveDir: args.pluginData,
      loader: 'js',
    }));
  },
};

// The metrics panel (webview-ui/metrics): its own browser bundle. main.ts imports uPlot's CSS and
// style.css, so esbuild writes dist/webview/metrics.css beside metrics.js.
const webviewOptions = {
  plugins: [zodEnglishOnly],
  entryPoints: { metrics: 'webview-ui/metrics/main.ts', bench: 'webview-ui/bench/main.ts' },
  bundle: true,
  outdir: 'dist/webview',
  platform: 'browser',
  target: 'es2022',
  format: 'iife',
  sourcemap: args.has('--production') ? false : 'linked',
  minify: args.has('--production'),
  metafile: true,
  logLevel: 'warning',
};

// The `llmstack` CLI (and the service it runs with `serve`): one Node bundle, run as `node dist/cli.js`
// or through package.json's `bin`. esbuild keeps the service's modules behind their dynamic import
// un-run until `serve`, so client commands start fast.
const serviceApart = {
  name: 'service-apart',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/service\/main$/ }, () => ({ path: './service.js', external: true }));
  },
};
const cliOptions = {
  ...options,
  plugins: [serviceApart, zodEnglishOnly],
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/cli.js',
  external: [],
  banner: { js: '#!/usr/bin/env node' },
};
// What `llmstack serve` loads (the engine client, sql.js, the use cases): apart from the client commands.
const serviceOptions = { ...options, plugins: [noBuildKit, zodEnglishOnly], entryPoints: ['src/service/main.ts'], outfile: 'dist/service.js', external: options.external.filter((e) => e !== 'vscode') };

// sql.js loads its WASM at run time from beside the bundle.
mkdirSync('dist', { recursive: true });
copyFileSync('node_modules/sql.js/dist/sql-wasm.wasm', 'dist/sql-wasm.wasm');
// The stack file's JSON Schema (contributed as jsonValidation/yamlValidation), from the zod schema.
await import('./gen-stack-schema.mjs');
// The local service's OpenAPI document, checked in as docs/openapi.json.
await import('./gen-openapi.mjs');

if (args.has('--watch')) {
  const contexts = await Promise.all([context(options), context(webviewOptions), context(cliOptions), context(serviceOptions)]);
  await Promise.all(contexts.map((c) => c.watch()));
  console.log('watching src/ and webview-ui/ …');
} else {
  const [result, webview, cli] = await Promise.all([build(options), build(webviewOptions), build(cliOptions), build(serviceOptions)]);
  chmodSync('dist/cli.js', 0o755);
  const cliBytes = Object.values(cli.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
  console.log(`dist/cli.js ${(cliBytes / 1024).toFixed(0)} KiB`);
  const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
  console.log(`dist/extension.js ${(bytes / 1024).toFixed(0)} KiB`);
  for (const [file, out] of Object.entries(webview.metafile.outputs)) {
    if (!file.endsWith('.map')) console.log(`${file} ${(out.bytes / 1024).toFixed(0)} KiB`);
  }
}
