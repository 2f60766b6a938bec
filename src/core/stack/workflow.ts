// The steps every front end (commands, a CLI, the REST API later) takes with a stack file: load and
// validate it, fill in `auto` from the hardware, build the desired containers, read the engine and plan.
import type Docker from 'dockerode';
import * as path from 'node:path';
import { loadStackFile, stackFormatOf } from './document';
import { desiredContainers, type DesiredService } from './containerSpec';
import type { HardwareProbe } from './hardware';
import { realHostPath } from './hostPaths';
import { planStack, readStackState, type StackPlan, type StackState } from './plan';
import { resolveStack, stackModelInfo } from './resolve';
import type { StackFile } from './schema';
import type { HardwareInfo, ResolvedStack } from './types';

export interface PreparedStack {
  readonly file: StackFile;
  /** Folder of the stack file: relative bind mounts resolve against it. */
  readonly stackDir: string;
  readonly resolved: ResolvedStack;
  readonly desired: DesiredService[];
}

/**
 * Loads (throws StackFileError with every diagnostic when the file is invalid), resolves `auto`
 * against the hardware (GGUF headers give llama.cpp models' layers and size) and builds the
 * desired containers. Nothing touches the engine.
 */
export async function prepareStack(text: string, fileName: string, hardware: HardwareProbe | HardwareInfo): Promise<PreparedStack> {
  const file = loadStackFile(text, stackFormatOf(fileName));
  return prepareFile(file, path.dirname(fileName), 'get' in hardware ? await hardware.get() : hardware);
}

export async function prepareFile(file: StackFile, stackDir: string, hw: HardwareInfo): Promise<PreparedStack> {
  const resolved = resolveStack(file, hw, { modelInfo: await stackModelInfo(file, stackDir) });
  const desired = desiredContainers(file, { stackDir, params: resolved.params });
  return { file, stackDir, resolved, desired };
}

/** Reads the stack's containers, network, volumes and images from the engine, and plans. */
export async function planPrepared(docker: Docker, p: PreparedStack, signal?: AbortSignal): Promise<{ state: StackState; plan: StackPlan }> {
  const images = [...new Set(p.desired.map((d) => d.image))];
  const state = await readStackState(docker, p.file.name, images, signal);
  return { state, plan: planStack(p.desired, state, { stack: p.file.name, realpath: realHostPath }) };
}
