import { jx, LOCKS_CTE, MS } from "./fragments.js";
import type { Query } from "./types.js";

/**
 * V — Validation: the invariants of seed 000 ("First Principles"), checked after a run. A row
 * is a broken invariant; `obs validate` exits 1 when any query returns one.
 */

export interface V001Row { execution_id: string; sequence: number; prev_seq: number; gap: number; issue: string }
export const V001: Query<V001Row> = {
  id: "V001",
  family: "Validation",
  title: "Sequence integrity",
  description: "Transcript sequence numbers that do not rise by exactly one: gaps (> 1), repeats (0), or a first entry after 1.",
  arg: "execution",
  executionScoped: true,
  needs: { transcript_entries: ["execution_id", "sequence"] },
  sql: `
    -- Walk the execution's sequences in order (the covering index idx_transcript_exec_sequence),
    -- unless a cheaper count shows they run 1..n (or 0..n) with no gap or repeat.
    WITH shape AS (
      SELECT COUNT(*) = MAX(sequence) - MIN(sequence) + 1 AND MIN(sequence) <= 1 AS perfect,
             COUNT(DISTINCT sequence) = COUNT(*)                                 AS distinct_ok
        FROM transcript_entries
       WHERE execution_id = @execution_id
    ),
    seq AS (
      SELECT execution_id,
             sequence,
             LAG(sequence) OVER (ORDER BY sequence) AS prev_seq
        FROM transcript_entries
       WHERE execution_id = @execution_id
         AND NOT (SELECT perfect AND distinct_ok FROM shape)
    )
    SELECT execution_id,
           sequence,
           COALESCE(prev_seq, 0)            AS prev_seq,
           sequence - COALESCE(prev_seq, 0) AS gap,
           CASE WHEN sequence = prev_seq THEN 'repeat'
                WHEN prev_seq IS NULL    THEN 'starts after 1'
                ELSE 'gap' END              AS issue
      FROM seq
     WHERE (prev_seq IS NULL AND sequence > 1)
        OR (prev_seq IS NOT NULL AND sequence - prev_seq <> 1)
     ORDER BY sequence`,
};

export interface V002Row { tool_use_id: string; tool: string | null; transcript_entry_id: string | null; task_id: string | null; issue: string }
export const V002: Query<V002Row> = {
  id: "V002",
  family: "Validation",
  title: "Tool use linkage",
  description: "Tool uses without a transcript entry: transcript_entry_id null or pointing nowhere.",
  arg: "execution",
  executionScoped: true,
  needs: { tool_uses: ["id", "execution_id", "tool", "transcript_entry_id", "task_id", "start_time"], transcript_entries: ["id"] },
  sql: `
    -- Every tool use must be reachable from the transcript (invariant 2).
    SELECT tu.id                  AS tool_use_id,
           tu.tool,
           tu.transcript_entry_id,
           tu.task_id,
           CASE WHEN tu.transcript_entry_id IS NULL THEN 'no transcript entry (tool:end without tool:start?)'
                ELSE 'transcript entry does not exist' END AS issue
      FROM tool_uses tu
      LEFT JOIN transcript_entries te ON te.id = tu.transcript_entry_id
     WHERE tu.execution_id = @execution_id
       AND te.id IS NULL
     ORDER BY tu.start_time, tu.id`,
};

export interface V003Row { table: string; id: string; start: string | null; end: string | null; duration_ms: number | null; issue: string }
export const V003: Query<V003Row> = {
  id: "V003",
  family: "Validation",
  title: "Temporal consistency",
  description: "Timed rows with end before start, a negative duration, or a duration_ms that differs from end − start by more than 1 s.",
  arg: "execution",
  executionScoped: true,
  needs: {
    tool_uses: ["id", "execution_id", "start_time", "end_time", "duration_ms"],
    skill_traces: ["id", "execution_id", "start_time", "end_time", "duration_ms"],
    assertion_chains: ["id", "execution_id", "started_at", "completed_at"],
    assertion_results: ["id", "execution_id", "duration_ms"],
    transcript_entries: ["id", "execution_id", "duration_ms"],
    tasks: ["id", "execution_id", "started_at", "completed_at"],
    parallel_execution_waves: ["id", "execution_run_id", "started_at", "completed_at"],
    wave_statistics: ["wave_id", "execution_id", "started_at", "completed_at", "duration_ms"],
    build_agent_instances: ["id", "execution_id", "spawned_at", "completed_at"],
    task_list_execution_runs: ["id", "started_at", "completed_at"],
  },
  optional: { llm_calls: ["id", "execution_id", "start_time", "end_time", "duration_ms"] },
  sql: `
    -- Every timed row of the execution, as (table, id, start, end, duration).
    WITH timed ("table", id, start, "end", duration_ms) AS (
      SELECT 'tool_uses', id, start_time, end_time, duration_ms FROM tool_uses WHERE execution_id = @execution_id
      UNION ALL
      SELECT 'skill_traces', id, start_time, end_time, duration_ms FROM skill_traces WHERE execution_id = @execution_id
      UNION ALL
      SELECT 'llm_calls', id, start_time, end_time, duration_ms FROM llm_calls WHERE execution_id = @execution_id
      UNION ALL
      SELECT 'assertion_chains', id, started_at, completed_at, NULL FROM assertion_chains WHERE execution_id = @execution_id
      UNION ALL
      SELECT 'tasks', id, started_at, completed_at, NULL FROM tasks WHERE execution_id = @execution_id
      UNION ALL
      SELECT 'parallel_execution_waves', id, started_at, completed_at, NULL FROM parallel_execution_waves WHERE execution_run_id = @execution_id
      UNION ALL
      SELECT 'wave_statistics', wave_id, started_at, completed_at, duration_ms FROM wave_statistics WHERE execution_id = @execution_id
      UNION ALL
      SELECT 'build_agent_instances', id, spawned_at, completed_at, NULL FROM build_agent_instances WHERE execution_id = @execution_id
      UNION ALL
      SELECT 'task_list_execution_runs', id, started_at, completed_at, NULL FROM task_list_execution_runs WHERE id = @execution_id
      UNION ALL
      SELECT 'transcript_entries', id, NULL, NULL, duration_ms FROM transcript_entries WHERE execution_id = @execution_id AND duration_ms < 0
      UNION ALL
      SELECT 'assertion_results', id, NULL, NULL, duration_ms FROM assertion_results WHERE execution_id = @execution_id AND duration_ms < 0
    ),
    measured AS (
      SELECT *, ${MS('"end"', "start")} AS span_ms FROM timed
    )
    SELECT "table",
           id,
           start,
           "end",
           duration_ms,
           CASE WHEN span_ms < 0     THEN 'end before start'
                WHEN duration_ms < 0 THEN 'negative duration'
                ELSE 'duration_ms ' || duration_ms || ' but end − start is ' || span_ms END AS issue
      FROM measured
     WHERE span_ms < 0
        OR duration_ms < 0
        OR (duration_ms IS NOT NULL AND span_ms IS NOT NULL AND ABS(duration_ms - span_ms) > 1000)
     ORDER BY start, "table", id`,
};

export interface V004Row { instance_id: string | null; file_path: string | null; acquired_at: string; entry_id: string; task_id: string | null }
export const V004: Query<V004Row> = {
  id: "V004",
  family: "Validation",
  title: "Lock balance",
  description: "Acquired file locks with no later release by the same agent on the same file.",
  arg: "execution",
  executionScoped: true,
  needs: { transcript_entries: ["id", "execution_id", "instance_id", "task_id", "timestamp", "sequence", "entry_type", "details"] },
  sql: `
    WITH ${LOCKS_CTE}
    SELECT instance_id,
           file_path,
           timestamp AS acquired_at,
           id        AS entry_id,
           task_id
      FROM open_locks
     ORDER BY timestamp, sequence`,
};

export interface V005Row { chain_id: string; task_id: string | null; overall_result: string | null; started_at: string | null; issue: string }
export const V005: Query<V005Row> = {
  id: "V005",
  family: "Validation",
  title: "Assertion chain completeness",
  description: "Assertion chains never ended (overall_result not pass/fail), or whose counts or result disagree with their results.",
  arg: "execution",
  executionScoped: true,
  needs: {
    assertion_chains: ["id", "execution_id", "task_id", "overall_result", "started_at", "pass_count", "fail_count", "skip_count"],
    assertion_results: ["chain_id", "result"],
  },
  sql: `
    -- Recount each chain from its results and compare with what it records.
    WITH counted AS (
      SELECT c.id, c.task_id, c.overall_result, c.started_at, c.pass_count, c.fail_count, c.skip_count,
             (SELECT COUNT(*) FROM assertion_results r WHERE r.chain_id = c.id AND +r.result = 'pass') AS passes,
             (SELECT COUNT(*) FROM assertion_results r WHERE r.chain_id = c.id AND +r.result = 'fail') AS fails,
             (SELECT COUNT(*) FROM assertion_results r WHERE r.chain_id = c.id AND +r.result = 'skip') AS skips
        FROM assertion_chains c
       WHERE c.execution_id = @execution_id
    ),
    judged AS (
      SELECT *,
             CASE
               WHEN overall_result IS NULL OR overall_result NOT IN ('pass', 'fail')
                 THEN 'not ended (interrupted)'
               WHEN pass_count IS NOT passes OR fail_count IS NOT fails OR skip_count IS NOT skips
                 THEN 'counts ' || pass_count || '/' || fail_count || '/' || skip_count
                      || ' (pass/fail/skip) but results say ' || passes || '/' || fails || '/' || skips
               WHEN overall_result = 'pass' AND fails > 0 THEN 'pass with ' || fails || ' failed results'
               WHEN overall_result = 'fail' AND fails = 0 THEN 'fail without a failed result'
             END AS issue
        FROM counted
    )
    SELECT id AS chain_id, task_id, overall_result, started_at, issue
      FROM judged
     WHERE issue IS NOT NULL
     ORDER BY started_at, id`,
};

export interface V006Row { wave_id: string; wave_number: number | null; recorded: number | null; actual: number }
export const V006: Query<V006Row> = {
  id: "V006",
  family: "Validation",
  title: "Wave task counts",
  description: "Waves whose recorded wave_statistics.task_count differs from their count of task assignments.",
  arg: "execution",
  executionScoped: true,
  needs: { wave_statistics: ["wave_id", "execution_id", "wave_number", "task_count"], wave_task_assignments: ["wave_id"] },
  sql: `
    -- Invariant 5: the statistics written at completion must match the assignments.
    WITH counted AS (
      SELECT ws.wave_id,
             ws.wave_number,
             ws.task_count AS recorded,
             (SELECT COUNT(*) FROM wave_task_assignments a WHERE a.wave_id = ws.wave_id) AS actual
        FROM wave_statistics ws
       WHERE ws.execution_id = @execution_id
    )
    SELECT wave_id, wave_number, recorded, actual
      FROM counted
     WHERE recorded IS NOT actual
     ORDER BY wave_number`,
};

/**
 * The declared foreign keys (what PRAGMA foreign_key_check checks) and the logical links of
 * queries.md, each with how its child rows are found for one execution through an index.
 * PRAGMA foreign_key_check itself reads whole tables, which is too slow per execution on a
 * large file; the test suite checks that these find the same rows it does.
 */
interface Link {
  table: string;
  column: string;
  parent: string;
  /** The child row's id as shown. */
  id: string;
  /** Restricts the child table (alias c) to the execution. */
  scope: string;
  /** The execution a child row belongs to, for the check over every execution at once (default c.execution_id). */
  exec?: string;
}
const BY_EXEC = "c.execution_id = @execution_id";
const LINKS: Link[] = [
  { table: "tasks", column: "execution_id", parent: "task_list_execution_runs", id: "c.id", scope: BY_EXEC },
  { table: "task_dependencies", column: "task_id", parent: "tasks", id: "c.task_id || ' → ' || c.depends_on_task_id", scope: "c.task_id IN (SELECT id FROM tasks WHERE execution_id = @execution_id)", exec: "(SELECT execution_id FROM tasks WHERE id = c.task_id)" },
  { table: "task_dependencies", column: "depends_on_task_id", parent: "tasks", id: "c.task_id || ' → ' || c.depends_on_task_id", scope: "c.task_id IN (SELECT id FROM tasks WHERE execution_id = @execution_id)", exec: "(SELECT execution_id FROM tasks WHERE id = c.task_id)" },
  { table: "parallel_execution_waves", column: "execution_run_id", parent: "task_list_execution_runs", id: "c.id", scope: "c.execution_run_id = @execution_id", exec: "c.execution_run_id" },
  { table: "wave_task_assignments", column: "wave_id", parent: "parallel_execution_waves", id: "c.wave_id || '/' || c.task_id", scope: "c.task_id IN (SELECT id FROM tasks WHERE execution_id = @execution_id)", exec: "(SELECT execution_id FROM tasks WHERE id = c.task_id)" },
  { table: "wave_task_assignments", column: "task_id", parent: "tasks", id: "c.wave_id || '/' || c.task_id", scope: "c.wave_id IN (SELECT id FROM parallel_execution_waves WHERE execution_run_id = @execution_id)", exec: "(SELECT execution_run_id FROM parallel_execution_waves WHERE id = c.wave_id)" },
  { table: "build_agent_instances", column: "execution_id", parent: "task_list_execution_runs", id: "c.id", scope: BY_EXEC },
  { table: "build_agent_instances", column: "task_id", parent: "tasks", id: "c.id", scope: BY_EXEC },
  { table: "build_agent_instances", column: "wave_id", parent: "parallel_execution_waves", id: "c.id", scope: BY_EXEC },
  { table: "agent_heartbeats", column: "instance_id", parent: "build_agent_instances", id: "c.id", scope: BY_EXEC },
  { table: "transcript_entries", column: "execution_id", parent: "task_list_execution_runs", id: "c.id", scope: BY_EXEC },
  { table: "transcript_entries", column: "task_id", parent: "tasks", id: "c.id", scope: BY_EXEC },
  { table: "transcript_entries", column: "wave_id", parent: "parallel_execution_waves", id: "c.id", scope: BY_EXEC },
  { table: "skill_traces", column: "execution_id", parent: "task_list_execution_runs", id: "c.id", scope: BY_EXEC },
  { table: "skill_traces", column: "task_id", parent: "tasks", id: "c.id", scope: BY_EXEC },
  { table: "tool_uses", column: "execution_id", parent: "task_list_execution_runs", id: "c.id", scope: BY_EXEC },
  { table: "tool_uses", column: "task_id", parent: "tasks", id: "c.id", scope: BY_EXEC },
  { table: "tool_uses", column: "transcript_entry_id", parent: "transcript_entries", id: "c.id", scope: BY_EXEC },
  { table: "tool_uses", column: "within_skill", parent: "skill_traces", id: "c.id", scope: BY_EXEC },
  { table: "tool_uses", column: "wave_id", parent: "parallel_execution_waves", id: "c.id", scope: BY_EXEC },
  { table: "assertion_chains", column: "execution_id", parent: "task_list_execution_runs", id: "c.id", scope: BY_EXEC },
  { table: "assertion_chains", column: "task_id", parent: "tasks", id: "c.id", scope: BY_EXEC },
  { table: "assertion_chains", column: "first_failure_id", parent: "assertion_results", id: "c.id", scope: BY_EXEC },
  { table: "assertion_results", column: "execution_id", parent: "task_list_execution_runs", id: "c.id", scope: BY_EXEC },
  { table: "assertion_results", column: "task_id", parent: "tasks", id: "c.id", scope: BY_EXEC },
  { table: "assertion_results", column: "chain_id", parent: "assertion_chains", id: "c.id", scope: BY_EXEC },
  { table: "assertion_results", column: "transcript_entry_id", parent: "transcript_entries", id: "c.id", scope: BY_EXEC },
  { table: "assertion_results", column: "wave_id", parent: "parallel_execution_waves", id: "c.id", scope: BY_EXEC },
  { table: "message_bus_log", column: "event_id", parent: "events", id: "c.id", scope: BY_EXEC },
  { table: "message_bus_log", column: "transcript_entry_id", parent: "transcript_entries", id: "c.id", scope: BY_EXEC },
  { table: "wave_statistics", column: "wave_id", parent: "parallel_execution_waves", id: "c.wave_id", scope: BY_EXEC },
  { table: "task_list_execution_runs", column: "session_id", parent: "concurrent_execution_sessions", id: "c.id", scope: "c.id = @execution_id", exec: "c.id" },
  { table: "llm_calls", column: "execution_id", parent: "task_list_execution_runs", id: "c.id", scope: BY_EXEC },
  { table: "llm_calls", column: "task_id", parent: "tasks", id: "c.id", scope: BY_EXEC },
  { table: "llm_calls", column: "transcript_entry_id", parent: "transcript_entries", id: "c.id", scope: BY_EXEC },
];

/** The tables V007 reads and the columns it needs of each, derived from LINKS. */
function linkTables(): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  const add = (t: string, ...cols: string[]) => cols.forEach((c) => (out[t] ??= new Set()).add(c));
  for (const l of LINKS) {
    add(l.table, l.column, ...[...l.id.matchAll(/c\.([a-z_]+)/g)].map((m) => m[1]!), ...[...l.scope.matchAll(/c\.([a-z_]+)/g)].map((m) => m[1]!));
    add(l.parent, "id");
  }
  add("tasks", "id", "execution_id");
  add("parallel_execution_waves", "id", "execution_run_id");
  return Object.fromEntries(Object.entries(out).map(([t, s]) => [t, [...s]]));
}

export interface V007Row { table: string; id: string; column: string; missing_parent: string; rows: number }
export const V007: Query<V007Row> = {
  id: "V007",
  family: "Validation",
  title: "Referential integrity",
  description:
    "References that point nowhere: every declared foreign key (as PRAGMA foreign_key_check) and the logical links " +
    "(within_skill, chain_id, first_failure_id, event_id, wave ids), one row per missing parent with how many rows point at it.",
  arg: "execution",
  executionScoped: true,
  needs: {},
  // A table another producer never created is stood in for by an empty one: its rows cannot
  // dangle, and references to it all do — which is what a foreign key check would say.
  optional: linkTables(),
  sql:
    "-- One branch per reference: child rows of the execution whose parent does not exist,\n" +
    "-- grouped by the value referred to, so each parent is looked up once. A reference to the\n" +
    "-- execution's own run row is the same for every row: checked once, before any scan.\n" +
    LINKS.map((l) =>
      l.column === "execution_id" && l.scope === BY_EXEC
        ? `    SELECT '${l.table}' AS "table", MIN(${l.id}) AS id, '${l.column}' AS "column",
           '${l.parent}(' || @execution_id || ')' AS missing_parent, COUNT(*) AS rows
      FROM ${l.table} c
     WHERE ${l.scope}
       AND NOT EXISTS (SELECT 1 FROM ${l.parent} p WHERE p.id = @execution_id)
    HAVING COUNT(*) > 0`
        : `    SELECT '${l.table}' AS "table", MIN(${l.id}) AS id, '${l.column}' AS "column",
           '${l.parent}(' || c.${l.column} || ')' AS missing_parent, COUNT(*) AS rows
      FROM ${l.table} c
     WHERE ${l.scope}
       AND c.${l.column} IS NOT NULL
     GROUP BY c.${l.column}
    HAVING NOT EXISTS (SELECT 1 FROM ${l.parent} p WHERE p.id = c.${l.column})`,
    ).join("\n    UNION ALL\n"),
};

export const VALIDATION = [V001, V002, V003, V004, V005, V006, V007] as const;

/**
 * Each check over every execution at once, for `obs validate --all`: one pass per check instead
 * of one per check and execution. Each gives the rows its per-execution form gives, with the
 * execution they belong to (`execution_id`) and, for V007, the reference's place among its
 * branches (`branch`) so they can be put in the per-execution order again.
 */
export const ALL_EXECUTIONS_SQL: Record<(typeof VALIDATION)[number]["id"], string> = {
  V001: `
    -- Per execution: walk its sequences unless a cheaper count shows they run 1..n with no gap or repeat.
    WITH shape AS (
      SELECT execution_id,
             COUNT(*) = MAX(sequence) - MIN(sequence) + 1 AND MIN(sequence) <= 1 AS perfect,
             COUNT(DISTINCT sequence) = COUNT(*)                                 AS distinct_ok
        FROM transcript_entries
       GROUP BY execution_id
    ),
    seq AS (
      SELECT te.execution_id,
             te.sequence,
             LAG(te.sequence) OVER (PARTITION BY te.execution_id ORDER BY te.sequence) AS prev_seq
        FROM transcript_entries te
        JOIN shape s ON s.execution_id = te.execution_id AND NOT (s.perfect AND s.distinct_ok)
    )
    SELECT execution_id,
           sequence,
           COALESCE(prev_seq, 0)            AS prev_seq,
           sequence - COALESCE(prev_seq, 0) AS gap,
           CASE WHEN sequence = prev_seq THEN 'repeat'
                WHEN prev_seq IS NULL    THEN 'starts after 1'
                ELSE 'gap' END              AS issue
      FROM seq
     WHERE (prev_seq IS NULL AND sequence > 1)
        OR (prev_seq IS NOT NULL AND sequence - prev_seq <> 1)
     ORDER BY execution_id, sequence`,
  V002: `
    -- Every tool use must be reachable from the transcript (invariant 2).
    SELECT tu.execution_id,
           tu.id                  AS tool_use_id,
           tu.tool,
           tu.transcript_entry_id,
           tu.task_id,
           CASE WHEN tu.transcript_entry_id IS NULL THEN 'no transcript entry (tool:end without tool:start?)'
                ELSE 'transcript entry does not exist' END AS issue
      FROM tool_uses tu
      LEFT JOIN transcript_entries te ON te.id = tu.transcript_entry_id
     WHERE te.id IS NULL
     ORDER BY tu.execution_id, tu.start_time, tu.id`,
  V003: `
    WITH timed (execution_id, "table", id, start, "end", duration_ms) AS (
      SELECT execution_id, 'tool_uses', id, start_time, end_time, duration_ms FROM tool_uses
      UNION ALL
      SELECT execution_id, 'skill_traces', id, start_time, end_time, duration_ms FROM skill_traces
      UNION ALL
      SELECT execution_id, 'llm_calls', id, start_time, end_time, duration_ms FROM llm_calls
      UNION ALL
      SELECT execution_id, 'assertion_chains', id, started_at, completed_at, NULL FROM assertion_chains
      UNION ALL
      SELECT execution_id, 'tasks', id, started_at, completed_at, NULL FROM tasks
      UNION ALL
      SELECT execution_run_id, 'parallel_execution_waves', id, started_at, completed_at, NULL FROM parallel_execution_waves
      UNION ALL
      SELECT execution_id, 'wave_statistics', wave_id, started_at, completed_at, duration_ms FROM wave_statistics
      UNION ALL
      SELECT execution_id, 'build_agent_instances', id, spawned_at, completed_at, NULL FROM build_agent_instances
      UNION ALL
      SELECT id, 'task_list_execution_runs', id, started_at, completed_at, NULL FROM task_list_execution_runs
      UNION ALL
      SELECT execution_id, 'transcript_entries', id, NULL, NULL, duration_ms FROM transcript_entries WHERE duration_ms < 0
      UNION ALL
      SELECT execution_id, 'assertion_results', id, NULL, NULL, duration_ms FROM assertion_results WHERE duration_ms < 0
    ),
    measured AS (
      SELECT *, ${MS('"end"', "start")} AS span_ms FROM timed
    )
    SELECT execution_id,
           "table",
           id,
           start,
           "end",
           duration_ms,
           CASE WHEN span_ms < 0     THEN 'end before start'
                WHEN duration_ms < 0 THEN 'negative duration'
                ELSE 'duration_ms ' || duration_ms || ' but end − start is ' || span_ms END AS issue
      FROM measured
     WHERE span_ms < 0
        OR duration_ms < 0
        OR (duration_ms IS NOT NULL AND span_ms IS NOT NULL AND ABS(duration_ms - span_ms) > 1000)
     ORDER BY execution_id, start, "table", id`,
  V004: `
    WITH locks AS (
      SELECT te.execution_id,
             te.id,
             te.instance_id,
             te.task_id,
             te.timestamp,
             te.sequence,
             te.entry_type,
             ${jx("te.details", "$.file_path")} AS file_path,
             COALESCE(${jx("te.details", "$.state")}, 'acquired') AS state
        FROM transcript_entries te
       WHERE te.entry_type IN ('lock_acquire', 'lock_release')
    ),
    -- Each agent's last release of each file in its execution: the latest time, then the
    -- highest sequence at that time (what "a later release" is compared with, once per lock).
    last_time AS (
      SELECT execution_id, instance_id, file_path, MAX(timestamp) AS ts
        FROM locks
       WHERE entry_type = 'lock_release' AND file_path IS NOT NULL
       GROUP BY execution_id, instance_id, file_path
    ),
    last_release AS (
      SELECT t.execution_id, t.instance_id, t.file_path, t.ts, MAX(l.sequence) AS seq
        FROM last_time t
        JOIN locks l ON l.entry_type = 'lock_release' AND l.execution_id = t.execution_id
                    AND l.instance_id IS t.instance_id AND l.file_path = t.file_path AND l.timestamp = t.ts
       GROUP BY t.execution_id, t.instance_id, t.file_path, t.ts
    ),
    -- An acquired lock is open unless that last release came after it.
    open_locks AS (
      SELECT a.*
        FROM locks a
        LEFT JOIN last_release r
          ON r.execution_id = a.execution_id AND r.instance_id IS a.instance_id AND r.file_path = a.file_path
       WHERE a.entry_type = 'lock_acquire'
         AND a.state = 'acquired'
         AND NOT COALESCE(r.ts > a.timestamp OR (r.ts = a.timestamp AND r.seq > a.sequence), 0)
    )
    SELECT execution_id,
           instance_id,
           file_path,
           timestamp AS acquired_at,
           id        AS entry_id,
           task_id
      FROM open_locks
     ORDER BY execution_id, timestamp, sequence`,
  V005: `
    -- Recount each chain from its results and compare with what it records.
    WITH counted AS (
      SELECT c.execution_id, c.id, c.task_id, c.overall_result, c.started_at, c.pass_count, c.fail_count, c.skip_count,
             (SELECT COUNT(*) FROM assertion_results r WHERE r.chain_id = c.id AND +r.result = 'pass') AS passes,
             (SELECT COUNT(*) FROM assertion_results r WHERE r.chain_id = c.id AND +r.result = 'fail') AS fails,
             (SELECT COUNT(*) FROM assertion_results r WHERE r.chain_id = c.id AND +r.result = 'skip') AS skips
        FROM assertion_chains c
    ),
    judged AS (
      SELECT *,
             CASE
               WHEN overall_result IS NULL OR overall_result NOT IN ('pass', 'fail')
                 THEN 'not ended (interrupted)'
               WHEN pass_count IS NOT passes OR fail_count IS NOT fails OR skip_count IS NOT skips
                 THEN 'counts ' || pass_count || '/' || fail_count || '/' || skip_count
                      || ' (pass/fail/skip) but results say ' || passes || '/' || fails || '/' || skips
               WHEN overall_result = 'pass' AND fails > 0 THEN 'pass with ' || fails || ' failed results'
               WHEN overall_result = 'fail' AND fails = 0 THEN 'fail without a failed result'
             END AS issue
        FROM counted
    )
    SELECT execution_id, id AS chain_id, task_id, overall_result, started_at, issue
      FROM judged
     WHERE issue IS NOT NULL
     ORDER BY execution_id, started_at, id`,
  V006: `
    -- Invariant 5: the statistics written at completion must match the assignments.
    WITH counted AS (
      SELECT ws.execution_id,
             ws.wave_id,
             ws.wave_number,
             ws.task_count AS recorded,
             (SELECT COUNT(*) FROM wave_task_assignments a WHERE a.wave_id = ws.wave_id) AS actual
        FROM wave_statistics ws
    )
    SELECT execution_id, wave_id, wave_number, recorded, actual
      FROM counted
     WHERE recorded IS NOT actual
     ORDER BY execution_id, wave_number`,
  V007:
    "-- One branch per reference: first the values referred to whose parent does not exist (each\n" +
    "-- distinct value looked up once, through the column's index where it has one), then only the\n" +
    "-- rows naming one of them, grouped by their execution and the value.\n" +
    LINKS.map((l, b) => {
      const exec = l.exec ?? "c.execution_id";
      return `    SELECT ${exec} AS execution_id, ${b} AS branch, '${l.table}' AS "table", MIN(${l.id}) AS id, '${l.column}' AS "column",
           '${l.parent}(' || c.${l.column} || ')' AS missing_parent, COUNT(*) AS rows
      FROM ${l.table} c
     WHERE c.${l.column} IN (SELECT v FROM (SELECT DISTINCT ${l.column} AS v FROM ${l.table} WHERE ${l.column} IS NOT NULL) AS d
                              WHERE NOT EXISTS (SELECT 1 FROM ${l.parent} p WHERE p.id = d.v))
     GROUP BY 1, c.${l.column}
    HAVING execution_id IS NOT NULL`;
    }).join("\n    UNION ALL\n"),
};
