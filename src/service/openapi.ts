// The OpenAPI 3.1 document of the service, generated from the use cases' own zod schemas: the
// routes validate with the schemas the document shows, so the two cannot drift.
import { z } from 'zod';
import { containersUseCases } from '../app/containers/useCases';
import { modelsUseCases } from '../app/models';
import { registryPortUseCases } from '../app/registry/portUseCases';
import { registryUseCases } from '../app/registry/useCases';
import { stackUseCases } from '../app/stack';
import { healthUseCases } from '../app/health/useCases';
import { metricsUseCases } from '../app/metrics/useCases';
import { setApiKey } from '../app/models/apiKeys';
import { attach } from './attach';
import { PERMISSIONS } from './permissions';
import { tokenUseCases } from './tokens';
import { webhookUseCases } from '../app/webhooks/useCases';
import { benchUseCases } from '../app/bench/useCases';
import { fitModel, recommendModels, unusedModels } from '../app/bench/fit';
import { checkImageUpdates } from '../app/updates/useCases';
import { configure } from './configure';
import { errorBodySchema, metricsEventSchema, NDJSON, routeOf, serviceEventSchema, versionSchema } from './protocol';

interface Described {
  readonly name: string;
  readonly summary: string;
  readonly input: z.ZodType;
  readonly output: z.ZodType;
}

function schema(s: z.ZodType, io: 'input' | 'output'): unknown {
  // Refinements and transforms have no JSON Schema form: they show as what they accept.
  const json = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

/** Every use case the service serves, whatever it runs on. */
const servedUseCases: readonly Described[] = [...containersUseCases, ...modelsUseCases, ...registryUseCases, ...stackUseCases, ...registryPortUseCases, ...healthUseCases, ...metricsUseCases, configure, attach, setApiKey, ...tokenUseCases, ...webhookUseCases, ...benchUseCases, fitModel, recommendModels, unusedModels, checkImageUpdates];

/** The document of the service's API (docs/openapi.json is this, written by the build). */
export function openapiDocument(version: string, useCases: readonly Described[] = servedUseCases): unknown {
  const paths: Record<string, unknown> = {
    '/v1/version': { get: { operationId: 'service.version', summary: 'The service and protocol versions (a client of another protocol restarts the service or refuses).', responses: { 200: { description: 'The versions.', content: { 'application/json': { schema: schema(versionSchema, 'output') } } } } } },
    '/v1/status': { get: { operationId: 'service.status', summary: 'The engine connection, the runtimes, the registry and the clients, in one answer.', responses: { 200: { description: 'The status.', content: { 'application/json': { schema: {} } } } } } },
    '/v1/events': {
      get: {
        operationId: 'service.events',
        summary: 'Server-sent events: what changed (engine, containers, models, registry, alerts). With ?client=ID, what that client attached (service.attach) lasts while the stream is open. Each event names its type; the data is JSON.',
        responses: { 200: { description: 'The event stream.', content: { 'text/event-stream': { schema: schema(serviceEventSchema, 'output') } } } },
      },
    },
    '/v1/metrics/events': {
      get: {
        operationId: 'metrics.events',
        summary: 'Server-sent events: the metrics history (metrics.init), then each sample (metrics.sample). The sampler runs while any client is subscribed.',
        responses: { 200: { description: 'The metrics stream.', content: { 'text/event-stream': { schema: schema(metricsEventSchema, 'output') } } } },
      },
    },
    '/runtimes/{runtime}/{path}': {
      parameters: [
        { name: 'runtime', in: 'path', required: true, schema: { type: 'string' }, description: "The runtime's name or id (GET /v1/status lists them)." },
        { name: 'path', in: 'path', required: true, schema: { type: 'string' }, description: "The runtime's own route, e.g. api/generate or v1/chat/completions." },
      ],
      get: { operationId: 'gateway.get', summary: "Forwards to the runtime's own API (streamed); its key is added, the caller's Host, Origin and Authorization are dropped.", 'x-llmstack-role': PERMISSIONS['GET /runtimes/*'], responses: { 200: { description: "The runtime's answer, with x-llmstack-gateway-ms." }, 404: errorResponse('No such runtime.'), 502: errorResponse('The runtime could not be reached.') } },
      post: { operationId: 'gateway.post', summary: "Forwards to the runtime's own API (streamed); a token with a model list may only name those models.", 'x-llmstack-role': PERMISSIONS['POST /runtimes/*'], responses: { 200: { description: "The runtime's answer, with x-llmstack-gateway-ms." }, 403: errorResponse('A model outside the token\'s list.'), 404: errorResponse('No such runtime.'), 502: errorResponse('The runtime could not be reached.') } },
    },
    '/metrics': { get: { operationId: 'service.metrics', summary: "Prometheus text: the service's own figures (requests by route and status, durations, gateway overhead) and the sampler's (host, GPU, containers, models). A scrape keeps the sampler running for a minute.", 'x-llmstack-role': PERMISSIONS['GET /metrics'], responses: { 200: { description: 'Prometheus text format 0.0.4.', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
    '/v1/service/stop': { post: { operationId: 'service.stop', summary: 'Finishes the running work, saves the registry, and stops the service.', responses: { 202: { description: 'Stopping.' } } } },
  };
  for (const u of [...useCases].sort((a, b) => a.name.localeCompare(b.name))) {
    paths[routeOf(u.name)] = {
      post: {
        operationId: u.name,
        summary: u.summary,
        // The least role a token needs on the TCP listener (the Unix socket needs none).
        'x-llmstack-role': PERMISSIONS[u.name],
        tags: [u.name.split('.')[0]],
        requestBody: { required: false, content: { 'application/json': { schema: schema(u.input, 'input') } } },
        responses: {
          200: {
            description: `The result. With \`Accept: ${NDJSON}\`, progress lines ({"progress": …}) come first, then one {"result": …} or {"error": …} line.`,
            content: { 'application/json': { schema: schema(u.output, 'output') }, [NDJSON]: { schema: {} } },
          },
          400: errorResponse('The input does not match the schema (the issues list each problem).'),
          401: errorResponse('TCP listener only: no token, or an unknown, expired or revoked one.'),
          403: errorResponse('TCP listener only: a foreign Host or a browser Origin, or a role or model the token does not have.'),
          499: errorResponse('The client closed the request: the work was cancelled.'),
          500: errorResponse('The work failed; the message says why and what to do.'),
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'llmstack local service', version, description: 'One process per user owns the engine connections, the model catalog and the registry; editor windows, the CLI and HTTP clients call these routes on its Unix socket.' },
    paths,
    components: { schemas: { Error: schema(errorBodySchema, 'output') }, securitySchemes: { token: { type: 'http', scheme: 'bearer', description: 'On the TCP listener (llmstack serve --listen): a token from llmstack token create. The Unix socket needs none: its folder is private.' } } },
    security: [{}, { token: [] }],
  };
}
