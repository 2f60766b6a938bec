// The runtime both windows of the two-window run record uses of (no server answers there: only the
// registry hears of it). Apart from twoWindows.ts, which imports vscode, so the runner can read it.
import type { RuntimeEndpoint } from '../../src/core/runtimes/runtime';

export const SHARED: RuntimeEndpoint = { id: 'ollama@http://127.0.0.1:9/two-windows', kind: 'ollama', api: 'ollama', name: 'two-windows', baseUrl: 'http://127.0.0.1:9/two-windows', source: 'user' };
