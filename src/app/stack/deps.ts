// What the stack use cases need from the rest of the program: the engine (while connected), the
// hardware `auto` is resolved against, the model catalog, a log and an audit trail. Plain
// interfaces, so a script, the CLI or the HTTP API can pass its own objects.
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type Docker from 'dockerode';
import { z } from 'zod';
import type { Logger } from '../../core/lifecycle';
import type { HardwareInfo } from '../../core/stack/types';
import type { StackModelHost } from '../../core/stack/stackModels';
import { prepareStack, type PreparedStack } from '../../core/stack/workflow';

export interface StackDeps {
  /** The engine; `docker` is undefined while it is not connected (an EngineConnection is one). */
  readonly engine: { readonly docker: Docker | undefined };
  /** What `auto` is resolved against (a HardwareProbe, cached). */
  readonly hardware: { get(): Promise<HardwareInfo> };
  readonly log?: Logger;
  /** Records what was done to which stack, and the error when it failed. */
  readonly audit?: (operation: string, target: string, error?: string) => unknown;
  /** The model catalog: pulls and loads the models the file lists after an apply. */
  readonly models?: StackModelHost;
  /** Queues a `pull: idle` model (the service's IdlePulls); absent: such models are pulled at apply. Returns what to tell the user. */
  readonly queueIdlePull?: (runtimeId: string, name: string) => string;
  /** The user's runtime image patterns (llmStack.runtimes.imagePatterns), read when needed. */
  readonly imagePatterns?: () => Readonly<Record<string, string>>;
}

const CONNECT = 'The Docker Engine is not connected: start Docker, then run LLM Stack: Reconnect to Docker.';

/** The connected engine, or the error a front end shows ("…not connected."). */
export function engineOf(deps: StackDeps, message = CONNECT): Docker {
  const d = deps.engine.docker;
  if (!d) throw new Error(message);
  return d;
}

/** Which stack file: its path, and the text the editor holds when it differs from the disk. */
export const stackFileInput = z.object({
  /** Absolute path of the stack file (llmstack.yaml, *.llmstack.json…): relative paths in it resolve against its folder. */
  file: z.string().min(1).refine((f) => path.isAbsolute(f), 'must be an absolute path'),
  /** The file's current text, unsaved edits included; read from disk when absent. */
  text: z.string().optional(),
});
type StackFileInput = z.output<typeof stackFileInput>;

/** Loads, checks and resolves the file (StackFileError lists every problem); nothing touches the engine. */
export async function prepare(deps: StackDeps, input: StackFileInput): Promise<PreparedStack> {
  const text = input.text ?? (await readFile(input.file, 'utf8'));
  return prepareStack(text, input.file, await deps.hardware.get());
}
