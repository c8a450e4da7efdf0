import type { DB } from "./open.js";
import { SearchIndexer } from "./search.js";

/**
 * Seed 002's retention: whole executions older than a cutoff go, with every row that belongs to
 * them, in one transaction — never part of one. An execution's age is its last activity: its
 * completion, or its latest transcript entry or bus event while it has none.
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
  const row = db.prepare(`SELECT value FROM obs_meta WHERE key = 'retention_days'`).get() as { value: string } | undefined;
  return row ? Number(row.value) : null;
}

export function setRetentionDays(db: DB, days: number): void {
  db.prepare(`INSERT INTO obs_meta (key, value) VALUES ('retention_days', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(String(days));
}

/** The executions whose last activity is before `cutoff`, and how many rows of each table they own. */
export function planPrune(db: DB, cutoff: string): PrunePlan {
  const executions = db
    .prepare(`
      WITH ids AS (
        SELECT id AS execution_id FROM task_list_execution_runs
         UNION
        SELECT DISTINCT execution_id FROM transcript_entries
      ),
      aged AS (
        SELECT ids.execution_id,
               MAX(COALESCE(r.completed_at, ''),
                   COALESCE((SELECT MAX(timestamp) FROM transcript_entries te WHERE te.execution_id = ids.execution_id), ''),
                   COALESCE((SELECT MAX(timestamp) FROM message_bus_log mb WHERE mb.execution_id = ids.execution_id), ''),
                   COALESCE(r.started_at, '')) AS last_activity
          FROM ids
          LEFT JOIN task_list_execution_runs r ON r.id = ids.execution_id
      )
      SELECT execution_id, last_activity FROM aged
       WHERE last_activity <> '' AND last_activity < @cutoff
       ORDER BY last_activity`)
    .all({ cutoff }) as { execution_id: string; last_activity: string }[];
  const rows: Record<string, number> = {};
  for (const { table, where } of OWNED) {
    const count = db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`);
    rows[table] = executions.reduce((n, e) => n + (count.get({ id: e.execution_id }) as { n: number }).n, 0);
  }
  return { cutoff, executions, rows };
}

/** Deletes what the plan names, and its search documents, all in one transaction. */
export function prune(db: DB, plan: PrunePlan): void {
  const deletes = OWNED.map(({ table, where }) => db.prepare(`DELETE FROM ${table} WHERE ${where}`));
  const search = new SearchIndexer(db);
  db.transaction(() => {
    for (const e of plan.executions) for (const d of deletes) d.run({ id: e.execution_id });
    // The triggers noted each deleted row; this drops their documents.
    search.finish();
  }).immediate();
}
