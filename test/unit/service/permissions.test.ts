// The permission table covers every route the service serves, and the roles are ordered.
import * as assert from 'node:assert/strict';
import { openapiDocument } from '../../../src/service/openapi';
import { allowed, PERMISSIONS } from '../../../src/service/permissions';

describe('service permissions (unit)', () => {
  it('names a role for every route in the OpenAPI document, and prints it there', () => {
    const doc = openapiDocument('0.0.0') as { paths: Record<string, Record<string, { operationId: string; 'x-llmstack-role'?: string }>> };
    const missing: string[] = [];
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (method === 'parameters') continue;
        const key = p.startsWith('/runtimes/') ? `${method === 'get' ? 'GET' : 'POST'} /runtimes/*` : method === 'post' && p.startsWith('/v1/') && op.operationId.includes('.') && !['service.stop'].includes(op.operationId) ? op.operationId : `${method.toUpperCase()} ${p}`;
        if (!(key in PERMISSIONS)) missing.push(key);
        if (op['x-llmstack-role'] !== undefined || (method === 'post' && key === op.operationId)) assert.equal(op['x-llmstack-role'], PERMISSIONS[key], key);
      }
    }
    assert.deepEqual(missing, []);
  });

  it('orders the roles: admin may do all, viewer only reading; an unknown route is nobody\'s', () => {
    assert.ok(allowed('viewer', 'models.list') && allowed('operator', 'models.list') && allowed('admin', 'models.list'));
    assert.ok(!allowed('viewer', 'models.load') && allowed('operator', 'models.load'));
    assert.ok(!allowed('operator', 'stack.apply') && allowed('admin', 'stack.apply'));
    assert.ok(!allowed('admin', 'no.such'));
  });
});
