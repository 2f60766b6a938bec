// Who may call what over TCP: one table, every route of the service in it (a test checks that no
// route is missing), enforced for each request and printed in the OpenAPI document. On the Unix
// socket the folder's permissions are the authorisation: its clients are the user, as admin.
// Routes that name a file on the service's machine (stack files, registry export and import) are
// admin's: a token must not read or write the user's files by path.
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** The least role each route needs: use cases by name, the other routes by method and path. */
export const PERMISSIONS: Readonly<Record<string, Role>> = {
  // Reading state, metrics and events.
  'GET /v1/version': 'viewer',
  'GET /v1/status': 'viewer',
  'GET /v1/events': 'viewer',
  'GET /v1/metrics/events': 'viewer',
  'GET /openapi.json': 'viewer',
  'GET /metrics': 'viewer',
  'containers.list': 'viewer',
  'containers.inspect': 'viewer',
  'models.list': 'viewer',
  'models.details': 'viewer',
  'registry.audit': 'viewer',
  'registry.stats': 'viewer',
  'registry.listBackups': 'viewer',
  'registry.modelHistory': 'viewer',
  'registry.recordedDigest': 'viewer',
  'metrics.prometheus': 'viewer',
  'metrics.snapshot': 'viewer',
  'alerts.list': 'viewer',
  'stack.templates': 'viewer',
  'stack.list': 'viewer',
  'swarm.status': 'viewer',
  'bench.history': 'viewer',
  'bench.export': 'viewer',
  'bench.overview': 'viewer',
  'models.fit': 'viewer',
  'models.recommend': 'viewer',
  'models.unused': 'viewer',
  'updates.images': 'viewer',
  // The gateway to the runtimes' own APIs (/runtimes/<name>/…): reading, then everything else.
  'GET /runtimes/*': 'viewer',
  'POST /runtimes/*': 'operator',
  // Acting on containers and models, prompts, alerts.
  'containers.action': 'operator',
  'models.pull': 'operator',
  'models.load': 'operator',
  'models.unload': 'operator',
  'models.delete': 'operator',
  'models.verify': 'operator',
  'models.tryPrompt': 'operator',
  'models.acceptVersion': 'operator',
  'bench.run': 'operator',
  'bench.importLlamaBench': 'operator',
  'alerts.mute': 'operator',
  'alerts.unmute': 'operator',
  'alerts.expectStop': 'operator',
  'registry.backup': 'operator',
  // Stacks, the registry's restore and import, files by path, tokens, webhooks, the service itself, and
  // what an editor window hands the service.
  'stack.apply': 'admin',
  'stack.down': 'admin',
  'stack.new': 'admin',
  'stack.plan': 'admin',
  'stack.read': 'admin',
  'stack.export': 'admin',
  'stack.exportRunning': 'admin',
  'swarm.deploy': 'admin',
  'swarm.init': 'admin',
  'swarm.remove': 'admin',
  'registry.export': 'admin',
  'registry.import': 'admin',
  'registry.restore': 'admin',
  'registry.recordAudit': 'admin',
  'registry.recordDigest': 'admin',
  'registry.recordUsage': 'admin',
  'registry.syncListing': 'admin',
  'runtimes.setApiKey': 'admin',
  'service.attach': 'admin',
  'service.configure': 'admin',
  'tokens.create': 'admin',
  'tokens.list': 'admin',
  'tokens.revoke': 'admin',
  'webhooks.create': 'admin',
  'webhooks.list': 'admin',
  'webhooks.delete': 'admin',
  'webhooks.deliveries': 'admin',
  'webhooks.redeliver': 'admin',
  'webhooks.ping': 'admin',
  'POST /v1/service/stop': 'admin',
};

/** Whether `role` may call `route` (unknown routes: nobody). */
export function allowed(role: Role, route: string): boolean {
  const needed = PERMISSIONS[route];
  return needed !== undefined && ROLES.indexOf(role) >= ROLES.indexOf(needed);
}
