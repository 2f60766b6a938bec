// Forward-only schema migrations. Each runs in its own transaction and sets PRAGMA user_version;
// a backup is taken before the first one that touches an existing file.

interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'runtimes, models, versions, usage events, audit log',
    sql: `
      -- journal_seq: the last journaled transaction this database holds (see journal.ts).
      CREATE TABLE registry_meta (
        key TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO registry_meta (key, value) VALUES ('journal_seq', 0);
      CREATE TABLE runtimes (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        container_id TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (kind, endpoint)
      );
      CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        runtime_id INTEGER NOT NULL REFERENCES runtimes(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        tag TEXT NOT NULL DEFAULT 'latest',
        family TEXT,
        parameter_count INTEGER,
        quantization TEXT,
        context_length INTEGER,
        size_bytes INTEGER,
        digest TEXT,
        format TEXT,
        source TEXT,
        license TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_used_at INTEGER,
        UNIQUE (runtime_id, name, tag)
      );
      -- The Models view lists one runtime's models sorted by name, size or last use.
      CREATE INDEX models_runtime_size ON models (runtime_id, size_bytes);
      CREATE INDEX models_runtime_last_used ON models (runtime_id, last_used_at);
      CREATE INDEX models_family_name ON models (family, name, tag);
      -- The same lists narrowed to one family (the view's filter).
      CREATE INDEX models_runtime_family_name ON models (runtime_id, family, name, tag);
      CREATE INDEX models_runtime_family_size ON models (runtime_id, family, size_bytes);
      CREATE INDEX models_runtime_family_last_used ON models (runtime_id, family, last_used_at);
      CREATE TABLE model_versions (
        id INTEGER PRIMARY KEY,
        model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        digest TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        pinned INTEGER NOT NULL DEFAULT 0,
        UNIQUE (model_id, digest)
      );
      -- A model's versions, newest first.
      CREATE INDEX model_versions_model_last_seen ON model_versions (model_id, last_seen);
      CREATE TABLE usage_events (
        id INTEGER PRIMARY KEY,
        model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        ts INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('load','unload','generate','pull','benchmark','delete')),
        duration_ms INTEGER,
        prompt_tokens INTEGER,
        output_tokens INTEGER
      );
      -- A model's usage per day and kind (the details view): grouped in index order, no sort.
      CREATE INDEX usage_model_day_kind ON usage_events (model_id, date(ts / 1000, 'unixepoch'), kind);
      CREATE INDEX usage_ts ON usage_events (ts);
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        operation TEXT NOT NULL,
        target TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('ok','error')),
        error TEXT
      );
      CREATE INDEX audit_ts ON audit_log (ts);
    `,
  },
  {
    version: 2,
    description: 'benchmark results, tags, notes, retention settings',
    sql: `
      CREATE TABLE benchmark_results (
        id INTEGER PRIMARY KEY,
        model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        runtime_id INTEGER REFERENCES runtimes(id) ON DELETE SET NULL,
        hardware TEXT NOT NULL,
        prompt_set TEXT NOT NULL,
        ttft_ms REAL,
        prompt_tps REAL,
        gen_tps REAL,
        memory_bytes INTEGER,
        ts INTEGER NOT NULL
      );
      CREATE INDEX benchmarks_model_ts ON benchmark_results (model_id, ts);
      CREATE TABLE model_tags (
        model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        PRIMARY KEY (model_id, tag)
      ) WITHOUT ROWID;
      CREATE INDEX model_tags_tag ON model_tags (tag);
      CREATE TABLE model_notes (
        model_id INTEGER PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO settings (key, value) VALUES ('retention.usageDays', '365'), ('retention.auditDays', '365');
    `,
  },
  {
    version: 3,
    description: 'webhook subscriptions and their delivery queue; time to first token and client of a usage event',
    sql: `
      ALTER TABLE usage_events ADD COLUMN ttft_ms INTEGER;
      ALTER TABLE usage_events ADD COLUMN client TEXT;
      CREATE TABLE webhooks (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        url TEXT NOT NULL,
        events TEXT NOT NULL,
        allow_host TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE webhook_deliveries (
        id INTEGER PRIMARY KEY,
        webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
        event TEXT NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending','delivered','failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at INTEGER,
        last_status INTEGER,
        last_error TEXT,
        duration_ms INTEGER,
        created_at INTEGER NOT NULL,
        done_at INTEGER
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_at);
      CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, id);
      CREATE INDEX webhook_deliveries_done ON webhook_deliveries (done_at);
    `,
  },
  {
    version: 4,
    description: 'benchmark runs: concurrency, what makes them reproducible and their raw samples',
    sql: `
      ALTER TABLE benchmark_results ADD COLUMN concurrency INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE benchmark_results ADD COLUMN run_id TEXT;
      ALTER TABLE benchmark_results ADD COLUMN details TEXT;
      CREATE INDEX benchmarks_run ON benchmark_results (run_id);
    `,
  },
  {
    version: 5,
    description: 'usage rolled up per model and day; what loads measured (the fit estimate calibrates on them)',
    sql: `
      -- Raw usage events older than retention.usageRawDays are summed here, one row per model, UTC
      -- day and kind, then deleted: a year of heavy use stays a few thousand rows.
      CREATE TABLE usage_daily (
        model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        day TEXT NOT NULL,
        kind TEXT NOT NULL,
        events INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        ttft_ms_sum INTEGER NOT NULL DEFAULT 0,
        ttft_n INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (model_id, day, kind)
      ) WITHOUT ROWID;
      INSERT INTO settings (key, value) VALUES ('retention.usageRawDays', '30');
      -- Memory a runtime used with one model loaded, against what the model is (weights, KV cache).
      CREATE TABLE load_measurements (
        id INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        hardware TEXT NOT NULL,
        runtime_kind TEXT NOT NULL,
        model TEXT NOT NULL,
        context_size INTEGER NOT NULL,
        weights_bytes INTEGER NOT NULL,
        kv_bytes INTEGER NOT NULL,
        measured_bytes INTEGER NOT NULL,
        source TEXT NOT NULL
      );
      CREATE INDEX load_measurements_machine ON load_measurements (hardware, runtime_kind, ts);
    `,
  },
];

export const LATEST_VERSION = migrations[migrations.length - 1].version;
