import { all } from "./helpers.js";

/**
 * Every record table's rows of one execution, in a stable order, without the two columns that
 * say how a row arrived rather than what it is (`source`: which file or producer; `created_at`:
 * when this copy was written).
 */
export function recordSnapshot(db: string, exec: string): Record<string, Record<string, unknown>[]> {
  const q: Record<string, string> = {
    task_list_execution_runs: `SELECT * FROM task_list_execution_runs WHERE id = @e`,
    tasks: `SELECT * FROM tasks WHERE execution_id = @e ORDER BY id`,
    wave_task_assignments: `SELECT * FROM wave_task_assignments WHERE task_id IN (SELECT id FROM tasks WHERE execution_id = @e) ORDER BY 1, 2`,
    transcript_entries: `SELECT * FROM transcript_entries WHERE execution_id = @e ORDER BY id`,
    tool_uses: `SELECT * FROM tool_uses WHERE execution_id = @e ORDER BY id`,
    skill_traces: `SELECT * FROM skill_traces WHERE execution_id = @e ORDER BY id`,
    assertion_chains: `SELECT * FROM assertion_chains WHERE execution_id = @e ORDER BY id`,
    assertion_results: `SELECT * FROM assertion_results WHERE execution_id = @e ORDER BY id`,
  };
  return Object.fromEntries(
    Object.entries(q).map(([t, sql]) => [t, all(db, sql, { e: exec }).map(({ source, created_at, ...r }) => (void source, void created_at, r))]),
  );
}

/** How many rows each table of the file holds. */
export function rowCounts(db: string): Record<string, number> {
  const tables = all(db, `SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' AND name NOT LIKE 'search_fts_%' AND name NOT IN ('ingest_log', 'search_pending')`);
  return Object.fromEntries(tables.map((t) => [t.name as string, all(db, `SELECT COUNT(*) AS n FROM "${t.name as string}"`)[0]!.n as number]));
}
