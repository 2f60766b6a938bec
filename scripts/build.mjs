// Builds the extension bundle (esbuild) or, with --tests, compiles src/test/bench with tsc into out/.
import { build, context } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';

const args = new Set(process.argv.slice(2));

if (args.has('--tests')) {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { stdio: 'inherit' });
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

// sql.js loads its WASM at run time from beside the bundle.
mkdirSync('dist', { recursive: true });
copyFileSync('node_modules/sql.js/dist/sql-wasm.wasm', 'dist/sql-wasm.wasm');

if (args.has('--watch')) {
  const ctx = await context(options);
  await ctx.watch();
  console.log('watching src/ …');
} else {
  const result = await build(options);
  const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
  console.log(`dist/extension.js ${(bytes / 1024).toFixed(0)} KiB`);
}
