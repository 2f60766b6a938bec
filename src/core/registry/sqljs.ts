// Loads sql.js (SQLite compiled to WASM) once, lazily: the first registry access pays for it,
// activation does not.
import * as fs from 'node:fs';
import type { SqlJsStatic } from 'sql.js';

let pending: Promise<SqlJsStatic> | undefined;
let pendingPath: string | undefined;

/** The WASM file: beside the bundle in the packaged extension, in node_modules in tests. */
function defaultWasmPath(): string {
  return require.resolve('sql.js/dist/sql-wasm.wasm');
}

export function loadSqlJs(wasmPath?: string): Promise<SqlJsStatic> {
  const file = wasmPath ?? defaultWasmPath();
  if (!pending || pendingPath !== file) {
    pendingPath = file;
    pending = (async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const init = require('sql.js') as (config?: { wasmBinary?: ArrayBuffer }) => Promise<SqlJsStatic>;
      const bytes = await fs.promises.readFile(file);
      return init({ wasmBinary: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer });
    })();
    pending.catch(() => (pending = undefined));
  }
  return pending;
}
