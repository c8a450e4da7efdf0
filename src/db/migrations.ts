import type { Database } from "better-sqlite3";
import { createRegisterTriggers, REGISTERED_SOURCE } from "./register.js";
import { createSearchIndex, fillSearchIndex, rebuildSearchIndex } from "./search.js";
import { SCHEMA_VERSION } from "./version.js";

/**
 * The schema, as an ordered list of migrations. A database records the last one applied in
 * obs_meta.schema_version; opening it for writing applies the rest, each in its own
 * transaction. Migrations only add (tables, columns, indexes, views), so an upgrade never
 * loses rows. Every statement tolerates objects that already exist, because other producers
 * (the seeds' Python classes) create some of these tables themselves.
 */
export interface Migration {
  version: number;
  name: string;
  up(db: Database): void;
}

/** Adds a column unless the table already has it (ALTER TABLE has no IF NOT EXISTS). */
function addColumn(db: Database, table: string, column: string, decl: string): void {
  const cols = db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[];
  if (!cols.some((c) => c.name === column)) {
    db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${decl}`);
  }
}

const NOW = `(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

/** Seed 000's migration 087 plus the context tables it references but does not define. */
const m1: Migration = {
  version: 1,
  name: "core observability schema (seed migration 087) and its context tables",
  up(db) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS task_list_execution_runs (
        id            TEXT PRIMARY KEY,
        task_list_id  TEXT,
        status        TEXT,
        started_at    TEXT,
        completed_at  TEXT,
        source        TEXT,
        message       TEXT,
        status_at     TEXT
      );

      CREATE TABLE IF NOT EXISTS tasks (
        id            TEXT PRIMARY KEY,
        execution_id  TEXT REFERENCES task_list_execution_runs(id),
        display_id    TEXT,
        title         TEXT,
        status        TEXT,
        file_path     TEXT,
        started_at    TEXT,
        completed_at  TEXT,
        status_at     TEXT
      );

      CREATE TABLE IF NOT EXISTS task_dependencies (
        task_id             TEXT NOT NULL REFERENCES tasks(id),
        depends_on_task_id  TEXT NOT NULL REFERENCES tasks(id),
        PRIMARY KEY (task_id, depends_on_task_id)
      );

      CREATE TABLE IF NOT EXISTS parallel_execution_waves (
        id                TEXT PRIMARY KEY,
        execution_run_id  TEXT REFERENCES task_list_execution_runs(id),
        wave_number       INTEGER,
        status            TEXT,
        started_at        TEXT,
        completed_at      TEXT
      );

      CREATE TABLE IF NOT EXISTS wave_task_assignments (
        wave_id       TEXT NOT NULL REFERENCES parallel_execution_waves(id),
        task_id       TEXT NOT NULL REFERENCES tasks(id),
        instance_id   TEXT,
        status        TEXT,
        started_at    TEXT,
        completed_at  TEXT,
        PRIMARY KEY (wave_id, task_id)
      );

      CREATE TABLE IF NOT EXISTS build_agent_instances (
        id                 TEXT PRIMARY KEY,
        execution_id       TEXT REFERENCES task_list_execution_runs(id),
        task_id            TEXT REFERENCES tasks(id),
        wave_id            TEXT REFERENCES parallel_execution_waves(id),
        status             TEXT,
        spawned_at         TEXT,
        completed_at       TEXT,
        last_heartbeat_at  TEXT,
        error_message      TEXT
      );

      CREATE TABLE IF NOT EXISTS agent_heartbeats (
        id               TEXT PRIMARY KEY,
        instance_id      TEXT REFERENCES build_agent_instances(id),
        execution_id     TEXT,
        timestamp        TEXT NOT NULL,
        status           TEXT,
        current_task_id  TEXT,
        metrics          TEXT
      );

      CREATE TABLE IF NOT EXISTS events (
        id              TEXT PRIMARY KEY,
        execution_id    TEXT,
        timestamp       TEXT NOT NULL,
        source          TEXT,
        event_type      TEXT,
        correlation_id  TEXT,
        severity        TEXT,
        category        TEXT,
        human_summary   TEXT,
        task_id         TEXT,
        payload         TEXT
      );

      CREATE TABLE IF NOT EXISTS transcript_entries (
        id            TEXT PRIMARY KEY,
        timestamp     TEXT NOT NULL,
        sequence      INTEGER NOT NULL,
        execution_id  TEXT NOT NULL REFERENCES task_list_execution_runs(id),
        task_id       TEXT REFERENCES tasks(id),
        instance_id   TEXT,
        wave_number   INTEGER,
        entry_type    TEXT NOT NULL,
        category      TEXT,
        summary       TEXT,
        details       TEXT,
        duration_ms   INTEGER,
        created_at    TEXT DEFAULT ${NOW}
      );

      CREATE TABLE IF NOT EXISTS skill_traces (
        id             TEXT PRIMARY KEY,
        execution_id   TEXT REFERENCES task_list_execution_runs(id),
        task_id        TEXT REFERENCES tasks(id),
        instance_id    TEXT,
        skill_name     TEXT,
        skill_file     TEXT,
        line_number    INTEGER,
        section_title  TEXT,
        status         TEXT,
        error_message  TEXT,
        tool_calls     TEXT,
        start_time     TEXT,
        end_time       TEXT,
        duration_ms    INTEGER
      );

      CREATE TABLE IF NOT EXISTS tool_uses (
        id                   TEXT PRIMARY KEY,
        execution_id         TEXT REFERENCES task_list_execution_runs(id),
        task_id              TEXT REFERENCES tasks(id),
        transcript_entry_id  TEXT REFERENCES transcript_entries(id),
        tool                 TEXT,
        tool_category        TEXT,
        input                TEXT,
        input_summary        TEXT,
        result_status        TEXT,
        output               TEXT,
        output_summary       TEXT,
        is_error             INTEGER NOT NULL DEFAULT 0,
        is_blocked           INTEGER NOT NULL DEFAULT 0,
        block_reason         TEXT,
        error_message        TEXT,
        start_time           TEXT,
        end_time             TEXT,
        duration_ms          INTEGER,
        within_skill         TEXT REFERENCES skill_traces(id),
        parent_tool_use_id   TEXT
      );

      CREATE TABLE IF NOT EXISTS assertion_chains (
        id                TEXT PRIMARY KEY,
        execution_id      TEXT REFERENCES task_list_execution_runs(id),
        task_id           TEXT REFERENCES tasks(id),
        description       TEXT,
        overall_result    TEXT,
        pass_count        INTEGER NOT NULL DEFAULT 0,
        fail_count        INTEGER NOT NULL DEFAULT 0,
        skip_count        INTEGER NOT NULL DEFAULT 0,
        first_failure_id  TEXT REFERENCES assertion_results(id),
        started_at        TEXT,
        completed_at      TEXT
      );

      CREATE TABLE IF NOT EXISTS assertion_results (
        id                   TEXT PRIMARY KEY,
        execution_id         TEXT REFERENCES task_list_execution_runs(id),
        task_id              TEXT REFERENCES tasks(id),
        chain_id             TEXT REFERENCES assertion_chains(id),
        category             TEXT,
        description          TEXT,
        result               TEXT,
        evidence             TEXT,
        timestamp            TEXT,
        duration_ms          INTEGER,
        transcript_entry_id  TEXT REFERENCES transcript_entries(id)
      );

      CREATE TABLE IF NOT EXISTS message_bus_log (
        id                   TEXT PRIMARY KEY,
        event_id             TEXT REFERENCES events(id),
        timestamp            TEXT,
        source               TEXT,
        event_type           TEXT,
        correlation_id       TEXT,
        human_summary        TEXT,
        severity             TEXT,
        category             TEXT,
        transcript_entry_id  TEXT REFERENCES transcript_entries(id),
        task_id              TEXT,
        execution_id         TEXT,
        payload              TEXT,
        created_at           TEXT DEFAULT ${NOW}
      );

      -- transcript_entries
      CREATE INDEX IF NOT EXISTS idx_transcript_execution     ON transcript_entries(execution_id);
      CREATE INDEX IF NOT EXISTS idx_transcript_task          ON transcript_entries(task_id);
      CREATE INDEX IF NOT EXISTS idx_transcript_type          ON transcript_entries(entry_type);
      CREATE INDEX IF NOT EXISTS idx_transcript_timestamp     ON transcript_entries(timestamp);
      CREATE INDEX IF NOT EXISTS idx_transcript_exec_sequence ON transcript_entries(execution_id, sequence);
      -- tool_uses
      CREATE INDEX IF NOT EXISTS idx_tool_use_execution ON tool_uses(execution_id);
      CREATE INDEX IF NOT EXISTS idx_tool_use_task      ON tool_uses(task_id);
      CREATE INDEX IF NOT EXISTS idx_tool_use_tool      ON tool_uses(tool);
      CREATE INDEX IF NOT EXISTS idx_tool_use_category  ON tool_uses(tool_category);
      CREATE INDEX IF NOT EXISTS idx_tool_use_status    ON tool_uses(result_status);
      CREATE INDEX IF NOT EXISTS idx_tool_use_timestamp ON tool_uses(start_time);
      CREATE INDEX IF NOT EXISTS idx_tool_use_skill     ON tool_uses(within_skill);
      CREATE INDEX IF NOT EXISTS idx_tool_use_errors    ON tool_uses(is_error) WHERE is_error = 1;
      CREATE INDEX IF NOT EXISTS idx_tool_use_blocked   ON tool_uses(is_blocked) WHERE is_blocked = 1;
      -- skill_traces
      CREATE INDEX IF NOT EXISTS idx_skill_trace_execution ON skill_traces(execution_id);
      CREATE INDEX IF NOT EXISTS idx_skill_trace_skill     ON skill_traces(skill_name);
      CREATE INDEX IF NOT EXISTS idx_skill_trace_task      ON skill_traces(task_id);
      CREATE INDEX IF NOT EXISTS idx_skill_trace_status    ON skill_traces(status);
      -- assertion_results
      CREATE INDEX IF NOT EXISTS idx_assertion_task      ON assertion_results(task_id);
      CREATE INDEX IF NOT EXISTS idx_assertion_execution ON assertion_results(execution_id);
      CREATE INDEX IF NOT EXISTS idx_assertion_result    ON assertion_results(result);
      CREATE INDEX IF NOT EXISTS idx_assertion_chain     ON assertion_results(chain_id);
      CREATE INDEX IF NOT EXISTS idx_assertion_category  ON assertion_results(category);
      CREATE INDEX IF NOT EXISTS idx_assertion_failures  ON assertion_results(result) WHERE result = 'fail';
      -- assertion_chains
      CREATE INDEX IF NOT EXISTS idx_chain_execution ON assertion_chains(execution_id);
      CREATE INDEX IF NOT EXISTS idx_chain_task      ON assertion_chains(task_id);
      -- message_bus_log
      CREATE INDEX IF NOT EXISTS idx_mbus_log_timestamp   ON message_bus_log(timestamp);
      CREATE INDEX IF NOT EXISTS idx_mbus_log_severity    ON message_bus_log(severity);
      CREATE INDEX IF NOT EXISTS idx_mbus_log_category    ON message_bus_log(category);
      CREATE INDEX IF NOT EXISTS idx_mbus_log_source      ON message_bus_log(source);
      CREATE INDEX IF NOT EXISTS idx_mbus_log_event_type  ON message_bus_log(event_type);
      CREATE INDEX IF NOT EXISTS idx_mbus_log_correlation ON message_bus_log(correlation_id);
      CREATE INDEX IF NOT EXISTS idx_mbus_log_errors      ON message_bus_log(severity) WHERE severity IN ('error', 'critical');

      -- Every bus event is also a human-readable log line (seed 000: message_bus_log is derived).
      CREATE TRIGGER IF NOT EXISTS tr_event_to_log AFTER INSERT ON events
      BEGIN
        INSERT OR IGNORE INTO message_bus_log (
          id, event_id, timestamp, source, event_type, correlation_id, human_summary,
          severity, category, task_id, execution_id, payload
        ) VALUES (
          'mbl-' || NEW.id, NEW.id, NEW.timestamp, NEW.source, NEW.event_type, NEW.correlation_id,
          NEW.human_summary, NEW.severity, NEW.category, NEW.task_id, NEW.execution_id, NEW.payload
        );
      END;
    `);
  },
};

/** Seed 000's migration 088: waves, concurrent sessions, wave ids and the two views. */
const m2: Migration = {
  version: 2,
  name: "parallel execution extensions (seed migration 088)",
  up(db) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS concurrent_execution_sessions (
        id                      TEXT PRIMARY KEY,
        execution_count         INTEGER,
        peak_concurrent_agents  INTEGER,
        status                  TEXT,
        started_at              TEXT,
        completed_at            TEXT
      );

      CREATE TABLE IF NOT EXISTS wave_statistics (
        wave_id              TEXT PRIMARY KEY REFERENCES parallel_execution_waves(id),
        execution_id         TEXT,
        wave_number          INTEGER,
        task_count           INTEGER,
        completed_count      INTEGER,
        failed_count         INTEGER,
        pass_rate            REAL,
        started_at           TEXT,
        completed_at         TEXT,
        duration_ms          INTEGER,
        max_parallel_agents  INTEGER
      );
    `);
    addColumn(db, "transcript_entries", "wave_id", "TEXT REFERENCES parallel_execution_waves(id)");
    addColumn(db, "tool_uses", "wave_id", "TEXT REFERENCES parallel_execution_waves(id)");
    addColumn(db, "assertion_results", "wave_id", "TEXT REFERENCES parallel_execution_waves(id)");
    addColumn(db, "task_list_execution_runs", "session_id", "TEXT REFERENCES concurrent_execution_sessions(id)");
    db.exec(`
      CREATE INDEX IF NOT EXISTS idx_transcript_wave_id   ON transcript_entries(wave_id);
      CREATE INDEX IF NOT EXISTS idx_tool_use_wave_id     ON tool_uses(wave_id);
      CREATE INDEX IF NOT EXISTS idx_assertion_wave_id    ON assertion_results(wave_id);
      CREATE INDEX IF NOT EXISTS idx_wave_stats_execution ON wave_statistics(execution_id);
      CREATE INDEX IF NOT EXISTS idx_wave_stats_timing    ON wave_statistics(started_at, completed_at);

      -- Each wave with its recorded statistics and its live counts.
      CREATE VIEW IF NOT EXISTS v_wave_progress AS
      SELECT w.id                 AS wave_id,
             w.execution_run_id   AS execution_id,
             w.wave_number,
             w.status,
             w.started_at,
             w.completed_at,
             ws.task_count        AS recorded_task_count,
             ws.pass_rate         AS recorded_pass_rate,
             ws.duration_ms,
             ws.max_parallel_agents,
             (SELECT COUNT(*) FROM wave_task_assignments a WHERE a.wave_id = w.id) AS total_tasks,
             (SELECT COUNT(*) FROM wave_task_assignments a JOIN tasks t ON t.id = a.task_id
               WHERE a.wave_id = w.id AND t.status = 'completed')                AS completed_tasks,
             (SELECT COUNT(*) FROM wave_task_assignments a JOIN tasks t ON t.id = a.task_id
               WHERE a.wave_id = w.id AND t.status = 'failed')                   AS failed_tasks,
             (SELECT COUNT(*) FROM wave_task_assignments a JOIN tasks t ON t.id = a.task_id
               WHERE a.wave_id = w.id AND t.status = 'running')                  AS running_tasks
        FROM parallel_execution_waves w
        LEFT JOIN wave_statistics ws ON ws.wave_id = w.id;

      -- Agents not in a terminal status, with their task and wave.
      CREATE VIEW IF NOT EXISTS v_active_agents AS
      SELECT a.id            AS instance_id,
             a.execution_id,
             a.status,
             a.task_id,
             t.title         AS task_title,
             a.wave_id,
             w.wave_number,
             a.spawned_at,
             a.last_heartbeat_at
        FROM build_agent_instances a
        LEFT JOIN tasks t                     ON t.id = a.task_id
        LEFT JOIN parallel_execution_waves w  ON w.id = a.wave_id
       WHERE a.status NOT IN ('completed', 'failed', 'terminated');
    `);
  },
};

/** What seeds 002 and 004 add (model calls, tokens, cost), obs's bookkeeping, and the
 *  indexes obs's own execution-scoped queries need beyond the seed's. */
const m3: Migration = {
  version: 3,
  name: "model calls, ingest bookkeeping and execution-scoped indexes",
  up(db) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS llm_calls (
        id                   TEXT PRIMARY KEY,
        execution_id         TEXT REFERENCES task_list_execution_runs(id),
        task_id              TEXT REFERENCES tasks(id),
        instance_id          TEXT,
        transcript_entry_id  TEXT REFERENCES transcript_entries(id),
        model                TEXT,
        provider             TEXT,
        input_tokens         INTEGER,
        output_tokens        INTEGER,
        cache_read_tokens    INTEGER,
        cache_write_tokens   INTEGER,
        cost_usd             REAL,
        start_time           TEXT,
        end_time             TEXT,
        duration_ms          INTEGER
      );

      CREATE TABLE IF NOT EXISTS ingest_log (
        path            TEXT PRIMARY KEY,
        format          TEXT,
        size            INTEGER,
        bytes_consumed  INTEGER,
        lines           INTEGER,
        rejected_lines  INTEGER,
        content_hash    TEXT,
        ingested_at     TEXT
      );

      CREATE INDEX IF NOT EXISTS idx_llm_calls_execution    ON llm_calls(execution_id);
      CREATE INDEX IF NOT EXISTS idx_runs_task_list         ON task_list_execution_runs(task_list_id);
      CREATE INDEX IF NOT EXISTS idx_tasks_execution        ON tasks(execution_id);
      CREATE INDEX IF NOT EXISTS idx_waves_execution        ON parallel_execution_waves(execution_run_id);
      CREATE INDEX IF NOT EXISTS idx_wave_tasks_task        ON wave_task_assignments(task_id);
      CREATE INDEX IF NOT EXISTS idx_agents_execution       ON build_agent_instances(execution_id);
      CREATE INDEX IF NOT EXISTS idx_heartbeats_instance    ON agent_heartbeats(instance_id, timestamp);
      CREATE INDEX IF NOT EXISTS idx_heartbeats_execution   ON agent_heartbeats(execution_id, timestamp);
      CREATE INDEX IF NOT EXISTS idx_events_execution       ON events(execution_id);
      CREATE INDEX IF NOT EXISTS idx_mbus_log_execution     ON message_bus_log(execution_id, timestamp);
      CREATE INDEX IF NOT EXISTS idx_task_deps_depends_on   ON task_dependencies(depends_on_task_id);
    `);
  },
};

/** Where a run happened, as adapters of real sessions (Claude Code) know it. */
const m4: Migration = {
  version: 4,
  name: "run working directory and git branch",
  up(db) {
    addColumn(db, "task_list_execution_runs", "cwd", "TEXT");
    addColumn(db, "task_list_execution_runs", "git_branch", "TEXT");
  },
};

/** `obs search`: the full-text index, its triggers, and every row already in the file. */
const m5: Migration = {
  version: 5,
  name: "full-text search index",
  up(db) {
    createSearchIndex(db);
    fillSearchIndex(db);
  },
};

/**
 * The exact record: which rows are another execution's history carried again (replay_of), the
 * 1-hour cache writes priced apart from the 5-minute ones, reasoning tokens, the response id a
 * model call is known by across executions, the kind of agent an agent is, and the triggers that register an execution when
 * another program writes rows for one the file does not know.
 */
const m6: Migration = {
  version: 6,
  name: "replays, 1-hour cache writes, reasoning tokens, response ids, agent types, registered executions",
  up(db) {
    addColumn(db, "llm_calls", "cache_write_1h_tokens", "INTEGER");
    addColumn(db, "llm_calls", "reasoning_tokens", "INTEGER");
    addColumn(db, "llm_calls", "response_id", "TEXT");
    for (const t of ["llm_calls", "tool_uses", "transcript_entries", "tasks"]) addColumn(db, t, "replay_of", "TEXT");
    addColumn(db, "build_agent_instances", "agent_type", "TEXT");
    db.exec(`
      CREATE INDEX IF NOT EXISTS idx_llm_calls_response ON llm_calls(response_id) WHERE response_id IS NOT NULL;
      -- Executions named by rows but never by a run row (written before this migration).
      INSERT OR IGNORE INTO task_list_execution_runs (id, source)
        SELECT DISTINCT execution_id, '${REGISTERED_SOURCE}' FROM transcript_entries WHERE execution_id IS NOT NULL;
    `);
    createRegisterTriggers(db);
  },
};

/**
 * Words inside CJK text found by search, and the live feed's backlog read through indexes: the
 * index is built again with CJK cut into characters (src/db/search.ts), since a file's old
 * documents hold each run of CJK as one token; and the times the backlog picks rows by (a call's
 * end, a skill's start and end) get the indexes that a call's start already had.
 */
const m7: Migration = {
  version: 7,
  name: "search of Chinese, Japanese and Korean words; indexes on tool call and skill times",
  up(db) {
    db.exec(`
      CREATE INDEX IF NOT EXISTS idx_tool_use_end_time      ON tool_uses(end_time);
      CREATE INDEX IF NOT EXISTS idx_skill_trace_start_time ON skill_traces(start_time);
      CREATE INDEX IF NOT EXISTS idx_skill_trace_end_time   ON skill_traces(end_time);
    `);
    rebuildSearchIndex(db);
  },
};

export const MIGRATIONS: readonly Migration[] = [m1, m2, m3, m4, m5, m6, m7];
export { SCHEMA_VERSION };
if (MIGRATIONS[MIGRATIONS.length - 1]!.version !== SCHEMA_VERSION) throw new Error("db/version.ts must name the last migration's version");
