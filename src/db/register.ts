import type { DB } from "./open.js";

/**
 * Registering triggers: a row another program inserts for an execution the file does not know
 * yet (the seed's producers write transcript entries and tool calls straight into the tables,
 * never a run row) registers that execution first. So a producer whose SQLite enforces foreign
 * keys (better-sqlite3 does by default) can write its rows, and every execution is listed.
 * A reference that really dangles — a run row deleted, a tool call naming a missing entry —
 * still shows in PRAGMA foreign_key_check and V007.
 *
 * obs's own ingest registers the executions it writes for itself and drops these triggers for
 * its transaction, as it does the search triggers: any trigger on a table makes SQLite keep a
 * statement journal for every insert into it (see src/db/search.ts).
 */

/** Each table whose rows name an execution, with the column that names it. */
export const REGISTERING: readonly (readonly [table: string, column: string])[] = [
  ["transcript_entries", "execution_id"],
  ["tool_uses", "execution_id"],
  ["skill_traces", "execution_id"],
  ["assertion_chains", "execution_id"],
  ["assertion_results", "execution_id"],
  ["tasks", "execution_id"],
  ["build_agent_instances", "execution_id"],
  ["parallel_execution_waves", "execution_run_id"],
  ["llm_calls", "execution_id"],
];

/** What a registered run's `source` says: known only by the rows that name it. */
export const REGISTERED_SOURCE = "registered";

export function createRegisterTriggers(db: DB): void {
  db.exec(
    REGISTERING.map(
      ([t, c]) => `
      CREATE TRIGGER IF NOT EXISTS tr_register_execution_${t} BEFORE INSERT ON ${t}
      WHEN NEW.${c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM task_list_execution_runs WHERE id = NEW.${c})
      BEGIN
        INSERT OR IGNORE INTO task_list_execution_runs (id, source) VALUES (NEW.${c}, '${REGISTERED_SOURCE}');
      END;`,
    ).join("\n"),
  );
}

export function dropRegisterTriggers(db: DB): void {
  db.exec(REGISTERING.map(([t]) => `DROP TRIGGER IF EXISTS tr_register_execution_${t};`).join("\n"));
}
