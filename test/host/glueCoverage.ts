// Coverage of the VS Code glue (src/vscode and src/extension.ts) from the host tier: the extension host
// inherits NODE_V8_COVERAGE from code-server, and c8 maps dist/extension.js back to the sources.
// A report only: the glue has no threshold.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';

const v8FileSchema = z.looseObject({ result: z.array(z.looseObject({ url: z.string() })) });
const sourceMapSchema = z.looseObject({ sources: z.array(z.string()), sourceRoot: z.string().optional() });

/**
 * Where the host processes write their V8 coverage (emptied first); set NODE_V8_COVERAGE to it
 * before starting any. Under test-results/: code-server's helper processes may still write there
 * after the report, once their grace period ends.
 */
export function glueCoverageDir(resultsDir: string): string {
  const dir = path.join(resultsDir, 'coverage-glue', 'v8');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Prints c8's text summary and per-file table of the glue and writes them to reportsDir, from the
 * V8 coverage the host processes left in rawDir.
 */
export function reportGlueCoverage(root: string, rawDir: string, reportsDir: string): void {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstack-glue-cov-'));
  try {
    const bundle = path.join(root, 'dist', 'extension.js');
    const bundleUrl = pathToFileURL(bundle).href;
    // esbuild writes sources relative to dist/; c8 filters (--include) before it resolves them, so
    // a relative path never matches src/** and the numbers come out 100 %. A copy of the bundle
    // with a map of absolute paths sidesteps that; the code, and so every offset, is the same.
    const copy = path.join(work, 'extension.js');
    fs.copyFileSync(bundle, copy);
    const map = sourceMapSchema.parse(JSON.parse(fs.readFileSync(`${bundle}.map`, 'utf8')));
    const base = path.resolve(path.dirname(bundle), map.sourceRoot ?? '');
    fs.writeFileSync(`${copy}.map`, JSON.stringify({ ...map, sourceRoot: undefined, sources: map.sources.map((s) => path.resolve(base, s)) }));
    const v8Dir = path.join(work, 'v8');
    fs.mkdirSync(v8Dir);
    let files = 0;
    for (const f of fs.readdirSync(rawDir)) {
      if (!f.endsWith('.json')) continue;
      const parsed = v8FileSchema.safeParse(JSON.parse(fs.readFileSync(path.join(rawDir, f), 'utf8')));
      // Only the extension's bundle: code-server's and VS Code's own scripts would take minutes to map.
      const ours = parsed.success ? parsed.data.result.filter((r) => r.url === bundleUrl) : [];
      if (!ours.length) continue;
      fs.writeFileSync(path.join(v8Dir, f), JSON.stringify({ result: ours.map((r) => ({ ...r, url: pathToFileURL(copy).href })) }));
      files++;
    }
    if (!files) {
      console.log('[coverage] no V8 coverage of dist/extension.js came back from the extension hosts');
      return;
    }
    console.log(`[coverage] glue (src/vscode and src/extension.ts) in the real extension host, ${files} host process(es):`);
    execFileSync(
      process.execPath,
      [
        path.join(root, 'node_modules', 'c8', 'bin', 'c8.js'), 'report',
        '--temp-directory', v8Dir, '--reports-dir', reportsDir,
        '--reporter', 'text-summary', '--reporter', 'text',
        '--exclude-after-remap', '--include', 'src/**', '--exclude', 'src/core/**', '--exclude', 'src/app/**',
      ],
      { cwd: root, stdio: 'inherit' },
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
