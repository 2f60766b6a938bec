// The stack on Docker Swarm: the engine's swarm state, a single-node swarm on 127.0.0.1, and the
// stack deployed as services (or updated in place) and removed again.
import { z } from 'zod';
import { deploySwarm, removeSwarm, swarmStatus } from '../../core/stack/swarm';
import { defineUseCase } from '../useCase';
import { engineOf, prepare, stackFileInput, type StackDeps } from './deps';

const NOT_CONNECTED = 'The Docker Engine is not connected.';

export const swarmState = defineUseCase({
  name: 'swarm.status',
  summary: "The engine's swarm membership, as docker info shows it.",
  input: z.object({}),
  output: z.object({ state: z.enum(['active', 'inactive', 'pending', 'error', 'locked']) }),
  run: async (deps: StackDeps) => ({ state: await swarmStatus(engineOf(deps, NOT_CONNECTED)) }),
});

export const swarmInit = defineUseCase({
  name: 'swarm.init',
  summary: 'Initialises a single-node swarm on the engine, listening and advertised on 127.0.0.1 only.',
  input: z.object({}),
  output: z.object({ listenAddr: z.string(), advertiseAddr: z.string() }),
  run: async (deps: StackDeps) => {
    const docker = engineOf(deps, NOT_CONNECTED);
    const o = { ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1' };
    await (docker.swarmInit as (o: object) => Promise<unknown>)(o);
    deps.log?.info('Initialised a single-node swarm (127.0.0.1).');
    return { listenAddr: o.ListenAddr, advertiseAddr: o.AdvertiseAddr };
  },
});

export const swarmDeploy = defineUseCase({
  name: 'swarm.deploy',
  summary: 'Deploys the stack file to the swarm as services on an overlay network, or updates them in place.',
  input: stackFileInput.extend({
    /** Publish the file's ports through the routing mesh, on every interface of every node. */
    publishPorts: z.boolean().default(false),
  }),
  output: z.object({
    stack: z.string(),
    /** Swarm service names, `<stack>_<svc>`, in file order. */
    services: z.array(z.string()),
    created: z.array(z.string()),
    updated: z.array(z.string()),
    network: z.string(),
    warnings: z.array(z.string()),
  }),
  run: async (deps: StackDeps, input, o) => {
    const p = await prepare(deps, input);
    const result = await deploySwarm(engineOf(deps), p.file, { params: p.resolved.params, publishPorts: input.publishPorts, stackDir: p.stackDir, signal: o.signal });
    void deps.audit?.('stack.swarm.deploy', p.file.name);
    return { stack: p.file.name, ...result };
  },
});

export const swarmRemove = defineUseCase({
  name: 'swarm.remove',
  summary: "Removes the stack's swarm services and then its overlay network; volumes stay.",
  input: stackFileInput,
  output: z.object({ stack: z.string(), removed: z.array(z.string()), networkRemoved: z.boolean() }),
  run: async (deps: StackDeps, input) => {
    const p = await prepare(deps, input);
    const result = await removeSwarm(engineOf(deps), p.file.name);
    void deps.audit?.('stack.swarm.remove', p.file.name);
    return { stack: p.file.name, ...result };
  },
});
