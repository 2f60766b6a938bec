// Tests with EXPLAIN QUERY PLAN that every hot registry query (the exact SQL the repositories run) is served by an index, without sorting or full scans.
import * as assert from 'node:assert/strict';
import { Registry } from '../../../../src/core/registry/registry';
import { RegistryRepositories } from '../../../../src/core/registry/repositories';
import { WebhookStore } from '../../../../src/core/webhooks/store';
import { Clock, DAY, digestOf, queryPlan, Sandbox } from './support';

const INDEXED = /USING (COVERING )?INDEX |USING INTEGER PRIMARY KEY|USING PRIMARY KEY/;

/** Problems with a plan: a sort in a temp B-tree, a full scan of a table, or no index at all. */
function planProblems(plan: string[], sql = ''): string[] {
  const problems: string[] = [];
  for (const line of plan) {
    if (/USE TEMP B-TREE/.test(line)) problems.push(`sorts: ${line}`);
    // "SCAN t" alone reads the whole table. "SCAN t USING INDEX i" walks a whole index in order:
    // fine only when a LIMIT stops it after a page.
    if (/^SCAN \w+$/.test(line.trim())) problems.push(`full scan: ${line}`);
    else if (/^SCAN \w+ USING /.test(line.trim()) && !/\bLIMIT\b/i.test(sql)) problems.push(`full index scan without LIMIT: ${line}`);
  }
  if (!plan.some((l) => INDEXED.test(l))) problems.push('no index used');
  return problems;
}

/**
 * The statements a repository call prepares, read from the registry's statement cache: a compaction
 * empties the cache (export() frees prepared statements), so after compact() the cache holds
 * exactly the SQL the call ran, text for text.
 */
async function statementsOf(registry: Registry, call: () => unknown): Promise<string[]> {
  await registry.compact();
  const cache = (registry as unknown as { statements: Map<string, unknown> }).statements;
  assert.ok(cache instanceof Map && cache.size === 0, 'the registry caches prepared statements by SQL text and a compaction clears them');
  call();
  return [...cache.keys()].filter((sql) => !/^SELECT last_insert_rowid\(\)/.test(sql));
}

describe('registry query plans (unit)', () => {
  const box = new Sandbox();
  let registry: Registry;
  let repos: RegistryRepositories;
  let runtimeId: number;
  let modelId: number;
  let hooks: WebhookStore;
  let deliveryId: number;

  before(async () => {
    const clock = new Clock(Date.UTC(2026, 0, 15), 1000);
    registry = await Registry.open({ file: box.file(), persistDelayMs: 60_000, now: clock.now });
    repos = new RegistryRepositories(registry, clock.now);
    // Enough rows that a bad plan would matter; the planner has no statistics (no ANALYZE), as in the field.
    for (let r = 0; r < 3; r++) {
      const rt = repos.upsertRuntime({ kind: 'ollama', name: `rt${r}`, endpoint: `http://h${r}` });
      for (let m = 0; m < 40; m++) {
        const { id } = repos.upsertModel({ runtimeId: rt, name: `model-${m}`, family: `fam${m % 4}`, sizeBytes: m * 1000, digest: digestOf(m) });
        repos.upsertModel({ runtimeId: rt, name: `model-${m}`, digest: digestOf(m + 1000) });
        for (let u = 0; u < 5; u++) repos.recordUsage({ modelId: id, kind: 'generate', ts: Date.UTC(2026, 0, 15) - u * DAY, outputTokens: u });
        repos.recordBenchmark({ modelId: id, runtimeId: rt, hardware: 'cpu', promptSet: 'short' });
        repos.setTags(id, ['chat', `t${m % 3}`]);
        repos.audit({ operation: 'pull', target: `model-${m}`, outcome: 'ok' });
        runtimeId = rt;
        modelId = id;
      }
    }
    hooks = new WebhookStore(registry, clock.now);
    for (const name of ['a', 'b', 'c']) hooks.create({ name, url: `http://127.0.0.1:1/${name}`, events: ['*'] });
    for (let i = 0; i < 100; i++) {
      const ids = hooks.enqueue('ping', { i });
      ids.forEach((d, j) => hooks.recordAttempt(d, { status: j === 0 ? 200 : 500, durationMs: 1, retryAt: j === 2 ? clock.now() + i : undefined }));
      deliveryId = ids[0];
    }
  });

  after(async () => {
    await registry.close();
    await box.cleanup();
  });

  const hot: [string, () => unknown][] = [];
  for (const sort of ['name', 'size', 'lastUsed'] as const) {
    for (const descending of [false, true]) hot.push([`listModels runtimeId sort=${sort} ${descending ? 'desc' : 'asc'}`, () => repos.listModels({ runtimeId, sort, descending, limit: 50, offset: 10 })]);
  }
  hot.push(
    ['listModels family (by name) asc', () => repos.listModels({ family: 'fam1' })],
    ['listModels family (by name) desc', () => repos.listModels({ family: 'fam1', descending: true })],
    ['listModels runtimeId + family', () => repos.listModels({ runtimeId, family: 'fam1' })],
    ['listModels runtimeId + search', () => repos.listModels({ runtimeId, search: 'del-1' })],
    ['usageByDay', () => repos.usageByDay(modelId, 30)],
    ['versions', () => repos.versions(modelId)],
    ['benchmarks', () => repos.benchmarks(modelId)],
    ['recentAudit', () => repos.recentAudit(100)],
    ['tags', () => repos.tags(modelId)],
    ['modelsWithTag', () => repos.modelsWithTag('chat')],
    ['note', () => repos.note(modelId)],
    ['getModel', () => repos.getModel(modelId)],
    ['findModel', () => repos.findModel(runtimeId, 'model-3')],
    ['retention + prune deletes', () => repos.prune(Date.UTC(2027, 0, 1))],
    ['upsertModel lookups (existing model, known digest)', () => repos.upsertModel({ runtimeId, name: 'model-3', digest: digestOf(1003) })],
    ['recordUsage', () => repos.recordUsage({ modelId, kind: 'load' })],
    ['stats usage range', () => repos.stats(0)],
    ['benchmark history of a model on a machine', () => repos.benchmarkHistory(modelId, 'cpu', 'short', 1)],
    ['webhook deliveries due', () => hooks.due(20, Date.UTC(2027, 0, 1))],
    ['webhook next due', () => hooks.nextDue()],
    ['webhook delivery log', () => hooks.deliveries({ limit: 50 })],
    ['webhook delivery log of one subscription', () => hooks.deliveries({ webhook: 'b', limit: 50 })],
    ['webhook record attempt', () => hooks.recordAttempt(deliveryId, { status: 200, durationMs: 1 })],
    ['webhook redeliver', () => hooks.redeliver(deliveryId)],
  );

  for (const [name, call] of hot) {
    it(`${name} uses an index, no temp B-tree, no full scan`, async () => {
      const statements = await statementsOf(registry, call);
      assert.ok(statements.length > 0, 'the call ran SQL');
      for (const sql of statements) {
        if (/^\s*(SELECT count\(\*\) FROM \w+|SELECT name FROM sqlite_master)/.test(sql)) continue; // stats' table counts scan by design
        if (/^\s*INSERT INTO \w+ \(/.test(sql) && !/SELECT/.test(sql)) continue; // plain INSERT ... VALUES has no plan to speak of
        const plan = queryPlan(registry, sql);
        // Sorts of a bounded few rows: the day totals of one model over the asked days (raw and
        // rolled up, summed), and the roll-up of the raw events past retention (maintenance, once
        // per open and per backup interval, over at most the raw window).
        // The removal of roll-ups past usageDays scans them: no index on the day (it would cost
        // 7 MB at 100,000 models for a pass that runs once per open).
        const bounded = /^\s*SELECT day, kind, sum\(n\)|^\s*INSERT INTO usage_daily/.test(sql)
          ? (p: string) => p !== 'sorts: USE TEMP B-TREE FOR GROUP BY'
          : /^\s*DELETE FROM usage_daily WHERE day </.test(sql)
            ? (p: string) => !p.startsWith('full scan') && p !== 'no index used'
            : () => true;
        assert.deepEqual(planProblems(plan, sql).filter(bounded), [], `${sql.replace(/\s+/g, ' ')}\n  plan: ${plan.join(' | ')}`);
      }
    });
  }

  it('listModels with a runtime filters and sorts in index order (plan names the index)', async () => {
    const [sql] = await statementsOf(registry, () => repos.listModels({ runtimeId, sort: 'size', descending: true }));
    assert.match(queryPlan(registry, sql).join('\n'), /SEARCH models USING INDEX models_runtime_size \(runtime_id=\?\)/);
    const [byDay] = await statementsOf(registry, () => repos.usageByDay(modelId));
    assert.match(queryPlan(registry, byDay).join('\n'), /SEARCH usage_events USING INDEX usage_model_day_kind/);
  });

  it('the checker itself flags sorts, full scans and unbounded index scans', () => {
    const minMax = 'SELECT min(ts) AS lo, max(ts) AS hi FROM usage_events';
    assert.deepEqual(planProblems(queryPlan(registry, minMax), minMax), ['full index scan without LIMIT: SCAN usage_events USING COVERING INDEX usage_ts']);
    assert.deepEqual(planProblems(queryPlan(registry, 'SELECT * FROM usage_events WHERE duration_ms > 5 ORDER BY output_tokens')), [
      'full scan: SCAN usage_events',
      'sorts: USE TEMP B-TREE FOR ORDER BY',
      'no index used',
    ]);
  });
});
