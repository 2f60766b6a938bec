// Builds the extension bundle (esbuild) or, with --tests, compiles src/test/bench with tsc into out/.
import { build, context } from 'esbuild';
import { execFileSync } from 'node:child_process';

const args = new Set(process.argv.slice(2));

if (args.has('--tests')) {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { stdio: 'inherit' });
  process.exit(0);
}

const options = {
  entryPoints: ['src/extension.ts'],
  bundle: true,
  outfile: 'dist/extension.js',
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // ssh2 (pulled in by docker-modem) loads optional native helpers in try/catch; they stay out of the bundle.
  external: ['vscode', 'cpu-features', './crypto/build/Release/sshcrypto.node'],
  sourcemap: args.has('--production') ? false : 'linked',
  minify: args.has('--production'),
  metafile: true,
  logLevel: 'warning',
};

if (args.has('--watch')) {
  const ctx = await context(options);
  await ctx.watch();
  console.log('watching src/ …');
} else {
  const result = await build(options);
  const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
  console.log(`dist/extension.js ${(bytes / 1024).toFixed(0)} KiB`);
}
