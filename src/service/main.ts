// `llmstack serve`: runs the service in the foreground until a signal, a client's stop request, or
// (when a client started it) the idle timeout. Loaded only by `serve`, so other commands start fast.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorMessage } from '../core/lifecycle';
import { ServiceRunning } from './lock';
import { servicePaths } from './paths';
import { readConfig } from './config';
import { serviceLogger } from './logging';
import { ListenRefused, LocalService } from './service';

export async function serve(options: { version: string; idleExitMinutes?: number; bundleDir?: string; listen?: string; allowRemote?: boolean; tlsCert?: string; tlsKey?: string }): Promise<number> {
  const paths = servicePaths();
  // The config is read again by the service (and its problems logged there); here only for the log's own settings.
  const logs = readConfig(paths.dataDir).config.logs;
  const log = serviceLogger(paths.logFile, { alsoStderr: !!process.stderr.isTTY, level: logs.level, maxBytes: Math.max(0.01, logs.maxMegabytes) * 1024 * 1024, keep: Math.floor(logs.keep) });
  let service: LocalService;
  try {
    service = await LocalService.start({
      paths,
      version: options.version,
      idleExitMinutes: options.idleExitMinutes,
      listen: options.listen,
      allowRemote: options.allowRemote,
      tlsCert: options.tlsCert,
      tlsKey: options.tlsKey,
      log,
      // Beside the bundle (dist/); from node_modules when run from the compiled sources.
      wasmPath: options.bundleDir && fs.existsSync(path.join(options.bundleDir, 'sql-wasm.wasm')) ? path.join(options.bundleDir, 'sql-wasm.wasm') : undefined,
    });
  } catch (e) {
    process.stderr.write(`llmstack serve: ${errorMessage(e)}\n`);
    log.error(`Could not start: ${errorMessage(e)}`);
    return e instanceof ServiceRunning ? 3 : e instanceof ListenRefused ? 2 : 1;
  }
  const stop = (signal: string) => void service.stop(`signal ${signal}`);
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  const tcp = service.tcpAddress ? ` and on ${service.tcpAddress.tls ? 'https' : 'http'}://${service.tcpAddress.host}:${service.tcpAddress.port} (tokens: llmstack token create)` : '';
  if (process.stdout.isTTY) process.stdout.write(`llmstack service listening on ${paths.socket}${tcp} (log: ${paths.logFile}). Ctrl+C stops it.\n`);
  await service.stopped;
  return 0;
}
