import type { DB } from "./open.js";
import { SearchIndexer } from "./search.js";

/**
 * Seed 002's retention: whole executions older than a cutoff go, with every row that belongs to
 * them, in one transaction — never part of one. An execution's age is its last activity: the
 * latest moment any of its rows records (an entry, a tool call ending, a heartbeat, a model
 * call, a status change), so a run that started long ago and is still working is kept.
 */

/** Each table holding an execution's rows, and how its rows are found for one execution. */
const OWNED: { table: string; where: string }[] = [
  { table: "task_dependencies", where: "task_id IN (SELECT id FROM tasks WHERE execution_id = @id)" },
  { table: "wave_task_assignments", where: "wave_id IN (SELECT id FROM parallel_execution_waves WHERE execution_run_id = @id)" },
  { table: "wave_statistics", where: "wave_id IN (SELECT id FROM parallel_execution_waves WHERE execution_run_id = @id) OR execution_id = @id" },
  { table: "agent_heartbeats", where: "execution_id = @id" },
  { table: "build_agent_instances", where: "execution_id = @id" },
  { table: "llm_calls", where: "execution_id = @id" },
  { table: "message_bus_log", where: "execution_id = @id" },
  { table: "events", where: "execution_id = @id" },
  { table: "assertion_results", where: "execution_id = @id" },
  { table: "assertion_chains", where: "execution_id = @id" },
  { table: "tool_uses", where: "execution_id = @id" },
  { table: "skill_traces", where: "execution_id = @id" },
  { table: "transcript_entries", where: "execution_id = @id" },
  { table: "tasks", where: "execution_id = @id" },
  { table: "parallel_execution_waves", where: "execution_run_id = @id" },
  { table: "task_list_execution_runs", where: "id = @id" },
];
/** The same list, for ingest taking back a source it wrote only in part. */
export const OWNED_ROWS: readonly { table: string; where: string }[] = OWNED;

export interface PrunePlan {
  cutoff: string;
  executions: { execution_id: string; last_activity: string }[];
  rows: Record<string, number>;
}

export function getRetentionDays(db: DB): number | null {
  // A file obs never wrote has no settings.
  if (!db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'obs_meta'`).get()) return null;
  const row = db.prepare(`SELECT value FROM obs_meta WHERE key = 'retention_days'`).get() as { value: string } | undefined;
  return row ? Number(row.value) : null;
}

/** Stores the retention obs prune applies by default; null removes it. */
export function setRetentionDays(db: DB, days: number | null): void {
  if (days === null) db.prepare(`DELETE FROM obs_meta WHERE key = 'retention_days'`).run();
  else db.prepare(`INSERT INTO obs_meta (key, value) VALUES ('retention_days', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(String(days));
}

/** Each table that records when something happened in an execution: its execution column and its times. */
const TIMES: { table: string; exec: string; times: string[] }[] = [
  { table: "task_list_execution_runs", exec: "id", times: ["started_at", "completed_at", "status_at"] },
  { table: "transcript_entries", exec: "execution_id", times: ["timestamp"] },
  { table: "message_bus_log", exec: "execution_id", times: ["timestamp"] },
  { table: "events", exec: "execution_id", times: ["timestamp"] },
  { table: "tool_uses", exec: "execution_id", times: ["start_time", "end_time"] },
  { table: "skill_traces", exec: "execution_id", times: ["start_time", "end_time"] },
  { table: "assertion_results", exec: "execution_id", times: ["timestamp"] },
  { table: "assertion_chains", exec: "execution_id", times: ["started_at", "completed_at"] },
  { table: "agent_heartbeats", exec: "execution_id", times: ["timestamp"] },
  { table: "build_agent_instances", exec: "execution_id", times: ["spawned_at", "completed_at", "last_heartbeat_at"] },
  { table: "llm_calls", exec: "execution_id", times: ["start_time", "end_time"] },
  { table: "tasks", exec: "execution_id", times: ["started_at", "completed_at", "status_at"] },
  { table: "parallel_execution_waves", exec: "execution_run_id", times: ["started_at", "completed_at"] },
  { table: "wave_statistics", exec: "execution_id", times: ["started_at", "completed_at"] },
];

/** The columns of each table the file has; a file another producer wrote may lack some. */
function columns(db: DB): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const { name } of db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]) {
    out.set(name, new Set((db.prepare(`SELECT name FROM pragma_table_info(?)`).all(name) as { name: string }[]).map((c) => c.name)));
  }
  return out;
}

/** The executions whose last activity is before `cutoff`, and how many rows of each table they own. */
export function planPrune(db: DB, cutoff: string): PrunePlan {
  const have = columns(db);
  // Every recorded time of every execution, from the tables and columns this file has.
  const moments = TIMES.flatMap(({ table, exec, times }) =>
    have.get(table)?.has(exec) ? times.filter((t) => have.get(table)!.has(t)).map((t) => `SELECT ${exec} AS execution_id, ${t} AS at FROM ${table}`) : [],
  );
  const executions = moments.length
    ? (db
        .prepare(`
          WITH moments AS (${moments.join(" UNION ALL ")}),
          aged AS (
            SELECT execution_id, MAX(at) AS last_activity
              FROM moments
             WHERE execution_id IS NOT NULL AND at IS NOT NULL AND at <> ''
             GROUP BY execution_id
          )
          SELECT execution_id, last_activity FROM aged
           WHERE last_activity < @cutoff
           ORDER BY last_activity, execution_id`)
        .all({ cutoff }) as { execution_id: string; last_activity: string }[])
    : [];
  const rows: Record<string, number> = {};
  for (const { table, where } of owned(have)) {
    const count = db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`);
    rows[table] = executions.reduce((n, e) => n + (count.get({ id: e.execution_id }) as { n: number }).n, 0);
  }
  return { cutoff, executions, rows };
}

/** The owned tables this file has, with every table their conditions read. */
function owned(have: Map<string, Set<string>>): { table: string; where: string }[] {
  const reads = (where: string) => [...where.matchAll(/FROM (\w+)/g)].map((m) => m[1]!);
  return OWNED.filter(({ table, where }) => have.has(table) && reads(where).every((t) => have.has(t)));
}

/** Deletes what the plan names, and its search documents, all in one transaction. */
export function prune(db: DB, plan: PrunePlan): void {
  const deletes = owned(columns(db)).map(({ table, where }) => db.prepare(`DELETE FROM ${table} WHERE ${where}`));
  const search = new SearchIndexer(db);
  db.transaction(() => {
    for (const e of plan.executions) for (const d of deletes) d.run({ id: e.execution_id });
    // The triggers noted each deleted row; this drops their documents.
    search.finish();
  }).immediate();
}
