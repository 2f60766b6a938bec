// Webhooks as every front end sees them: subscribe a URL to events (its signing secret is answered
// once and kept in the service's key store), list and remove subscriptions, read the delivery log,
// redeliver one, and send a ping. The queue and the sending are the core's (core/webhooks).
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { targetProblem } from '../../core/webhooks/deliverer';
import { deliverySchema, WEBHOOK_EVENTS, type WebhookStore } from '../../core/webhooks/store';
import { defineUseCase, InvalidInput } from '../useCase';

export interface WebhookDeps {
  readonly store: () => Promise<WebhookStore>;
  readonly secrets: { set(name: string, value: string): Promise<void>; delete(name: string): Promise<void> };
  /** Something was queued: send it now. */
  readonly wake: () => void;
}

/** The key store's name for a subscription's secret. */
export const webhookSecretName = (name: string) => `webhook:${name}`;

const nameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a name of letters, digits, dots, dashes and underscores (at most 64)');
const eventSchema = z.enum(['*', ...WEBHOOK_EVENTS]);
const hookSchema = z.object({ name: z.string(), url: z.string(), events: z.array(z.string()), allowHost: z.string().nullable(), createdAt: z.number() });

const create = defineUseCase({
  name: 'webhooks.create',
  summary: `Subscribes a URL to events (${WEBHOOK_EVENTS.filter((e) => e !== 'ping').join(', ')}, or * for all). Deliveries are signed (X-LLMStack-Signature: t=…,v1=HMAC-SHA256 of "t.body"); the secret is answered once. The URL must be loopback unless allowHost names its host.`,
  input: z.object({
    name: nameSchema,
    url: z.string().min(1).max(2000),
    events: z.array(eventSchema).min(1).max(WEBHOOK_EVENTS.length + 1),
    allowHost: z.string().min(1).max(253).optional(),
    secret: z.string().min(16).max(200).optional(),
  }),
  output: hookSchema.extend({ secret: z.string() }),
  run: async (deps: WebhookDeps, input) => {
    const problem = targetProblem(input.url, input.allowHost);
    if (problem) throw new InvalidInput('webhooks.create', [`url: ${problem}`]);
    const store = await deps.store();
    if (store.byName(input.name)) throw new InvalidInput('webhooks.create', [`a webhook named "${input.name}" exists; remove it first or pick another name`]);
    const secret = input.secret ?? `whsec_${randomBytes(32).toString('base64url')}`;
    await deps.secrets.set(webhookSecretName(input.name), secret);
    const h = store.create({ name: input.name, url: input.url, events: [...new Set(input.events)], allowHost: input.allowHost });
    return { name: h.name, url: h.url, events: [...h.events], allowHost: h.allowHost, createdAt: h.createdAt, secret };
  },
});

const list = defineUseCase({
  name: 'webhooks.list',
  summary: 'Lists the webhook subscriptions with their queued and failed deliveries and the last one (never the secret).',
  input: z.object({}),
  output: z.object({ webhooks: z.array(hookSchema.extend({ pending: z.number(), failed: z.number(), lastDelivery: deliverySchema.nullable() })) }),
  run: async (deps: WebhookDeps) => ({ webhooks: (await deps.store()).list().map(({ id: _id, ...h }) => ({ ...h, events: [...h.events] })) }),
});

const remove = defineUseCase({
  name: 'webhooks.delete',
  summary: 'Removes a webhook subscription, its queued deliveries and its secret.',
  input: z.object({ name: nameSchema }),
  output: z.object({ deleted: z.boolean() }),
  run: async (deps: WebhookDeps, input) => {
    const deleted = (await deps.store()).remove(input.name);
    if (deleted) await deps.secrets.delete(webhookSecretName(input.name));
    return { deleted };
  },
});

export const webhookDeliveries = defineUseCase({
  name: 'webhooks.deliveries',
  summary: 'The delivery log, newest first: event, state, attempts, the last status or error, and when the next attempt is.',
  input: z.object({ webhook: nameSchema.optional(), state: z.enum(['pending', 'delivered', 'failed']).optional(), limit: z.number().int().min(1).max(1000).optional() }),
  output: z.object({ deliveries: z.array(deliverySchema) }),
  run: async (deps: WebhookDeps, input) => ({ deliveries: (await deps.store()).deliveries(input) }),
});

export const webhookRedeliver = defineUseCase({
  name: 'webhooks.redeliver',
  summary: 'Queues a delivery again, with the same event and body, as a new delivery (the log of the old one stays).',
  input: z.object({ id: z.number().int().positive() }),
  output: z.object({ id: z.number() }),
  run: async (deps: WebhookDeps, input) => {
    const id = (await deps.store()).redeliver(input.id);
    if (id === undefined) throw new InvalidInput('webhooks.redeliver', [`id: no delivery ${input.id} (webhooks.deliveries lists them)`]);
    deps.wake();
    return { id };
  },
});

const ping = defineUseCase({
  name: 'webhooks.ping',
  summary: 'Queues a "ping" delivery to one subscription, to check its receiver and signature.',
  input: z.object({ name: nameSchema }),
  output: z.object({ id: z.number() }),
  run: async (deps: WebhookDeps, input) => {
    const [id] = (await deps.store()).enqueue('ping', { webhook: input.name }, input.name);
    if (id === undefined) throw new InvalidInput('webhooks.ping', [`name: no webhook "${input.name}" (webhooks.list lists them)`]);
    deps.wake();
    return { id };
  },
});

export const webhookUseCases = [create, list, remove, webhookDeliveries, webhookRedeliver, ping] as const;
