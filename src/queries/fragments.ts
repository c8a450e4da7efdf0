/**
 * SQL shared by several queries, as constants (never built from input). Each is a CTE body
 * or expression that reads @execution_id.
 */

/**
 * A JSON field of a column other producers may fill with text that is not JSON: NULL then,
 * rather than an error that would stop the whole query.
 */
export const jx = (column: string, path: string) => `CASE WHEN json_valid(${column}) THEN json_extract(${column}, '${path}') END`;

/** Milliseconds between two timestamps (any form julianday reads). */
export const MS = (end: string, start: string) => `CAST(ROUND((julianday(${end}) - julianday(${start})) * 86400000) AS INTEGER)`;

/**
 * The unary + on flag, status and category filters below (and in the queries) keeps SQLite on
 * the execution index: the flag indexes span every run in the file and grow with its history.
 */

/**
 * Every error of an execution, one row each (T001's definition, reused by T003, D002 and the
 * summaries): tool errors, `error` entries, failed skills, failed assertions, error/critical
 * bus events, failed agents and failed tasks.
 */
export const ERRORS_CTE = `
  errors AS (
    SELECT 'tool_error'            AS error_type,
           tu.tool                 AS source,
           COALESCE(tu.end_time, tu.start_time) AS occurred_at,
           COALESCE(tu.error_message, tu.output_summary, 'tool failed') AS details,
           tu.task_id,
           tu.id
      FROM tool_uses tu
     WHERE tu.execution_id = @execution_id
       AND +tu.is_error = 1
       AND tu.replay_of IS NULL
    UNION ALL
    SELECT 'error_entry', COALESCE(te.instance_id, te.category, 'transcript'), te.timestamp, te.summary, te.task_id, te.id
      FROM transcript_entries te
     WHERE te.execution_id = @execution_id
       AND +te.entry_type = 'error'
       AND te.replay_of IS NULL
    UNION ALL
    SELECT 'skill_failed', st.skill_name, COALESCE(st.end_time, st.start_time),
           COALESCE(st.error_message, 'skill ' || st.skill_name || ' failed'), st.task_id, st.id
      FROM skill_traces st
     WHERE st.execution_id = @execution_id
       AND +st.status = 'failed'
    UNION ALL
    SELECT 'assertion_failed', ar.category, ar.timestamp, ar.description, ar.task_id, ar.id
      FROM assertion_results ar
     WHERE ar.execution_id = @execution_id
       AND +ar.result = 'fail'
    UNION ALL
    SELECT 'bus_' || mb.severity, mb.source, mb.timestamp, mb.human_summary, mb.task_id, mb.id
      FROM message_bus_log mb
     WHERE mb.execution_id = @execution_id
       AND +mb.severity IN ('error', 'critical')
    UNION ALL
    SELECT 'agent_failed', ag.id, COALESCE(ag.completed_at, ag.last_heartbeat_at),
           COALESCE(ag.error_message, 'agent ' || ag.status), ag.task_id, ag.id
      FROM build_agent_instances ag
     WHERE ag.execution_id = @execution_id
       AND +ag.status IN ('failed', 'error')
    UNION ALL
    SELECT 'task_failed', COALESCE(t.display_id, t.id), COALESCE(t.completed_at, t.status_at, t.started_at),
           COALESCE(t.title, 'task failed'), t.id, t.id
      FROM tasks t
     WHERE t.execution_id = @execution_id
       AND +t.status = 'failed'
       AND t.replay_of IS NULL
  )`;

/**
 * How many errors ERRORS_CTE would list for the execution named by `exec` (an SQL expression):
 * for listings over many executions, where a scoped CTE per execution will not do. The two must
 * count the same things, or `obs ls` and `obs summary` disagree.
 */
export const errorCount = (exec: string) => `(
             (SELECT COUNT(*) FROM tool_uses t WHERE t.execution_id = ${exec} AND +t.is_error = 1 AND t.replay_of IS NULL)
           + (SELECT COUNT(*) FROM transcript_entries t WHERE t.execution_id = ${exec} AND +t.entry_type = 'error' AND t.replay_of IS NULL)
           + (SELECT COUNT(*) FROM skill_traces t WHERE t.execution_id = ${exec} AND +t.status = 'failed')
           + (SELECT COUNT(*) FROM assertion_results t WHERE t.execution_id = ${exec} AND +t.result = 'fail')
           + (SELECT COUNT(*) FROM message_bus_log t WHERE t.execution_id = ${exec} AND +t.severity IN ('error', 'critical'))
           + (SELECT COUNT(*) FROM build_agent_instances t WHERE t.execution_id = ${exec} AND +t.status IN ('failed', 'error'))
           + (SELECT COUNT(*) FROM tasks t WHERE t.execution_id = ${exec} AND +t.status = 'failed' AND t.replay_of IS NULL))`;

/**
 * The errors ERRORS_CTE lists, for every execution at once (a usage report spans many), each
 * with its execution, time, the agent it happened to where one is known (the task's agent for a
 * failed assertion or task) and the tool for a tool error. The three forms must count the same
 * things; the usage tests hold this one to the per-execution count.
 */
export const ERROR_FACTS_CTE = `
  error_facts AS (
    SELECT tu.execution_id, COALESCE(tu.end_time, tu.start_time) AS occurred_at,
           (SELECT te.instance_id FROM transcript_entries te WHERE te.id = tu.transcript_entry_id) AS instance_id,
           tu.tool
      FROM tool_uses tu
     WHERE tu.is_error = 1 AND tu.replay_of IS NULL
    UNION ALL
    SELECT te.execution_id, te.timestamp, te.instance_id, NULL
      FROM transcript_entries te
     WHERE te.entry_type = 'error' AND te.replay_of IS NULL
    UNION ALL
    SELECT st.execution_id, COALESCE(st.end_time, st.start_time), st.instance_id, NULL
      FROM skill_traces st
     WHERE st.status = 'failed'
    UNION ALL
    SELECT ar.execution_id, ar.timestamp,
           (SELECT ag.id FROM build_agent_instances ag WHERE ag.task_id = ar.task_id ORDER BY ag.spawned_at LIMIT 1), NULL
      FROM assertion_results ar
     WHERE ar.result = 'fail'
    UNION ALL
    SELECT mb.execution_id, mb.timestamp, (SELECT ag.id FROM build_agent_instances ag WHERE ag.id = mb.source), NULL
      FROM message_bus_log mb
     WHERE mb.severity IN ('error', 'critical')
    UNION ALL
    SELECT ag.execution_id, COALESCE(ag.completed_at, ag.last_heartbeat_at), ag.id, NULL
      FROM build_agent_instances ag
     WHERE ag.status IN ('failed', 'error')
    UNION ALL
    SELECT t.execution_id, COALESCE(t.completed_at, t.status_at, t.started_at),
           (SELECT ag.id FROM build_agent_instances ag WHERE ag.task_id = t.id ORDER BY ag.spawned_at LIMIT 1), NULL
      FROM tasks t
     WHERE t.status = 'failed' AND t.replay_of IS NULL
  )`;

/** The tables and columns ERROR_FACTS_CTE reads: optional, as a missing table only has no errors. */
export const ERROR_FACTS_OPTIONAL: Record<string, string[]> = {
  tool_uses: ["execution_id", "is_error", "replay_of", "end_time", "start_time", "transcript_entry_id", "tool"],
  transcript_entries: ["id", "execution_id", "entry_type", "replay_of", "timestamp", "instance_id"],
  skill_traces: ["execution_id", "status", "end_time", "start_time", "instance_id"],
  assertion_results: ["execution_id", "result", "timestamp", "task_id"],
  message_bus_log: ["execution_id", "severity", "timestamp", "source"],
  build_agent_instances: ["id", "execution_id", "status", "completed_at", "last_heartbeat_at", "task_id", "spawned_at"],
  tasks: ["id", "execution_id", "status", "completed_at", "status_at", "started_at", "replay_of"],
};

/**
 * What marks a row as history an execution carries from another (a resumed, forked or copied
 * session): replay_of names the execution that owns it. Errors, counts and spending are an
 * execution's own work, so they leave such rows out. A file from before replays were known has
 * no such column: it is stood in for as NULL (every row its own).
 */
export const REPLAY_OPTIONAL: Record<string, string[]> = {
  tool_uses: ["replay_of"],
  transcript_entries: ["replay_of"],
  tasks: ["replay_of"],
};

/** The tables and columns ERRORS_CTE reads. */
export const ERRORS_NEEDS: Record<string, string[]> = {
  tool_uses: ["execution_id", "is_error", "tool", "end_time", "start_time", "error_message", "output_summary", "task_id", "id"],
  transcript_entries: ["execution_id", "entry_type", "instance_id", "category", "timestamp", "summary", "task_id", "id"],
  skill_traces: ["execution_id", "status", "skill_name", "end_time", "start_time", "error_message", "task_id", "id"],
  assertion_results: ["execution_id", "result", "category", "timestamp", "description", "task_id", "id"],
  message_bus_log: ["execution_id", "severity", "source", "timestamp", "human_summary", "task_id", "id"],
  build_agent_instances: ["execution_id", "status", "completed_at", "last_heartbeat_at", "error_message", "task_id", "id"],
  tasks: ["execution_id", "status", "display_id", "completed_at", "status_at", "started_at", "title", "id"],
};

/**
 * The moment an execution is judged at (`ref_at`): for a finished run its last recorded event,
 * for a run still going @now (the caller's clock), so "silent" and "open" mean the same in
 * every query.
 */
export const REF_CTE = `
  last_event AS (
    SELECT MAX(ts) AS at FROM (
      SELECT MAX(timestamp)  AS ts FROM transcript_entries WHERE execution_id = @execution_id
      UNION ALL
      SELECT MAX(timestamp)       FROM message_bus_log    WHERE execution_id = @execution_id
      UNION ALL
      SELECT MAX(timestamp)       FROM agent_heartbeats   WHERE execution_id = @execution_id
      UNION ALL
      SELECT MAX(completed_at)    FROM task_list_execution_runs WHERE id = @execution_id
    )
  ),
  ref AS (
    SELECT CASE
             WHEN r.status IN ('completed', 'failed') OR @now IS NULL THEN (SELECT at FROM last_event)
             ELSE @now
           END AS ref_at
      FROM (SELECT 1) one
      LEFT JOIN task_list_execution_runs r ON r.id = @execution_id
  )`;

export const REF_NEEDS: Record<string, string[]> = {
  transcript_entries: ["execution_id", "timestamp"],
  message_bus_log: ["execution_id", "timestamp"],
  agent_heartbeats: ["execution_id", "timestamp"],
  task_list_execution_runs: ["id", "status", "completed_at"],
};

/**
 * Errors grouped into cascades: an error within @window_ms of the previous one continues its
 * cascade, a later one starts the next. Shared by T003 and D002.
 */
export const CASCADES_CTE = `
  ${ERRORS_CTE},
  ordered AS (
    SELECT e.*,
           ${MS("occurred_at", "LAG(occurred_at) OVER (ORDER BY occurred_at, error_type, id)")} AS since_prev_ms
      FROM errors e
     WHERE occurred_at IS NOT NULL
  ),
  grouped AS (
    SELECT o.*,
           SUM(CASE WHEN since_prev_ms IS NULL OR since_prev_ms > @window_ms THEN 1 ELSE 0 END)
             OVER (ORDER BY occurred_at, error_type, id ROWS UNBOUNDED PRECEDING) AS cascade_no,
           ROW_NUMBER() OVER (ORDER BY occurred_at, error_type, id) AS n
      FROM ordered o
  ),
  cascades AS (
    SELECT cascade_no,
           COUNT(*)                          AS errors,
           MIN(occurred_at)                  AS started_at,
           MAX(occurred_at)                  AS ended_at,
           MIN(n)                            AS first_n,
           json_group_array(DISTINCT task_id) FILTER (WHERE task_id IS NOT NULL) AS task_ids
      FROM grouped
     GROUP BY cascade_no
  )`;
/** Lock entries of an execution with their file and state unpacked. */
export const LOCKS_CTE = `
  locks AS (
    SELECT te.id,
           te.instance_id,
           te.task_id,
           te.timestamp,
           te.sequence,
           te.entry_type,
           ${jx("te.details", "$.file_path")} AS file_path,
           COALESCE(${jx("te.details", "$.state")}, 'acquired') AS state,
           ${jx("te.details", "$.held_by")} AS held_by
      FROM transcript_entries te
     WHERE te.execution_id = @execution_id
       AND +te.entry_type IN ('lock_acquire', 'lock_release')
  ),
  -- An acquired lock is open until a later release by the same agent on the same file.
  open_locks AS (
    SELECT a.*
      FROM locks a
     WHERE +a.entry_type = 'lock_acquire'
       AND a.state = 'acquired'
       AND NOT EXISTS (
             SELECT 1
               FROM locks r
              WHERE +r.entry_type = 'lock_release'
                AND r.file_path   = a.file_path
                AND r.instance_id IS a.instance_id
                AND (r.timestamp > a.timestamp OR (r.timestamp = a.timestamp AND r.sequence > a.sequence)))
  )`;

/** Merges needs of several fragments and a query's own. */
export function needs(...parts: Record<string, string[]>[]): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const p of parts) for (const [t, cols] of Object.entries(p)) for (const c of cols) (out[t] ??= new Set()).add(c);
  return Object.fromEntries(Object.entries(out).map(([t, s]) => [t, [...s]]));
}

/**
 * The parent step a step's record names, as the producer wrote it: a tool call's
 * parent_tool_use_id (a subagent's calls name the call that started it), else its entry's
 * details.parent_trace_id (a trace store), parent_span_id (an OpenTelemetry span),
 * parent_tool_use_id or parent_id. Reads `te` (the entry) and `tu` (its tool call). Details
 * that do not name a parent_ key are not parsed: most entries have none.
 */
export const PARENT_REF = `COALESCE(tu.parent_tool_use_id,
                    CASE WHEN instr(te.details, '"parent_') > 0 AND json_valid(te.details)
                         THEN CAST(COALESCE(json_extract(te.details, '$.parent_trace_id'),
                                                                        json_extract(te.details, '$.parent_span_id'),
                                                                        json_extract(te.details, '$.parent_tool_use_id'),
                                                                        json_extract(te.details, '$.parent_id')) AS TEXT) END)`;

/**
 * The entry of the parent step named by `ref` in execution `exec` (SQL expressions), or NULL
 * when the execution has no such step: an entry or a tool call of that id, as the producer
 * wrote it or as ingest keeps it within the execution (<id>@<execution>). Each try is one
 * primary-key lookup.
 */
export const PARENT_ENTRY = (ref: string, exec: string) => `CASE WHEN ${ref} IS NOT NULL THEN COALESCE(
             (SELECT p.id FROM transcript_entries p WHERE p.id = ${ref} AND p.execution_id = ${exec}),
             (SELECT p.id FROM transcript_entries p WHERE p.id = ${ref} || '@' || ${exec}),
             (SELECT p.transcript_entry_id FROM tool_uses p WHERE p.id = ${ref} AND p.execution_id = ${exec}),
             (SELECT p.transcript_entry_id FROM tool_uses p WHERE p.id = ${ref} || '@' || ${exec})) END`;

/**
 * The steps of one scope (an execution's, a task's): each of its transcript entries once, with
 * the tool call or assertion recorded on it. Those are reached from their own rows (through the
 * scope's index) and joined to their entry by its primary key, the other entries are the rest:
 * no index on transcript_entry_id is needed, so a run of any size, in a file obs did not write,
 * is read in one pass of each table. `scope` is a column name, `param` a parameter, both fixed
 * by the caller (never input). STEP_FROM then joins each step's rows by primary key.
 */
export const STEPS_CTE = (scope: "execution_id" | "task_id", param: string) => `
  s_tools AS (
    SELECT id, transcript_entry_id FROM tool_uses
     WHERE ${scope} = ${param} AND transcript_entry_id IS NOT NULL
  ),
  s_asserts AS (
    SELECT id, transcript_entry_id FROM assertion_results
     WHERE ${scope} = ${param} AND transcript_entry_id IS NOT NULL
  ),
  linked AS (
    SELECT te.id AS entry_id, tu.id AS tool_use_id, NULL AS assertion_id
      FROM s_tools tu
      JOIN transcript_entries te ON te.id = tu.transcript_entry_id AND te.${scope} = ${param}
    UNION ALL
    SELECT te.id, NULL, ar.id
      FROM s_asserts ar
      JOIN transcript_entries te ON te.id = ar.transcript_entry_id AND te.${scope} = ${param}
    UNION ALL
    SELECT te.id, NULL, NULL
      FROM transcript_entries te
     WHERE te.${scope} = ${param}
       AND te.id NOT IN (SELECT transcript_entry_id FROM s_tools)
       AND te.id NOT IN (SELECT transcript_entry_id FROM s_asserts)
  )`;

/** The rows of each step of STEPS_CTE: its entry `te`, tool call `tu`, assertion `ar` and skill trace `st`. */
export const STEP_FROM = `
      FROM linked l
      JOIN transcript_entries te     ON te.id = l.entry_id
      LEFT JOIN tool_uses tu         ON tu.id = l.tool_use_id
      LEFT JOIN assertion_results ar ON ar.id = l.assertion_id
      LEFT JOIN skill_traces st      ON te.entry_type IN ('skill_invoke', 'skill_complete')
                                    AND st.id = ${jx("te.details", "$.skill_trace_id")}`;

/**
 * One step of a trace (I001's row), from STEP_FROM: the entry with its tool call, skill trace or
 * assertion, their duration and status, and the parent link its record names.
 */
export const STEP_COLUMNS = `
           te.sequence,
           te.timestamp,
           te.entry_type,
           te.summary,
           COALESCE(te.duration_ms, tu.duration_ms, CASE WHEN te.entry_type = 'skill_complete' THEN st.duration_ms END, ar.duration_ms) AS duration_ms,
           COALESCE(tu.result_status,
                    CASE WHEN tu.id IS NOT NULL THEN 'running' END,
                    CASE WHEN te.entry_type = 'skill_complete' THEN st.status END,
                    CASE WHEN te.entry_type = 'skill_invoke' THEN COALESCE(st.status, 'running') END,
                    ar.result,
                    CASE WHEN te.entry_type = 'error' THEN 'error' END) AS status,
           te.id            AS entry_id,
           te.instance_id,
           te.category,
           tu.id            AS tool_use_id,
           tu.tool,
           tu.within_skill,
           st.id            AS skill_trace_id,
           st.skill_name,
           ar.id            AS assertion_id,
           te.task_id,
           te.replay_of,
           te.execution_id,
           -- The producer's own name for the step, where an adapter kept it (an EventLog's event_type).
           CASE WHEN instr(te.details, '"event_type"') > 0 THEN ${jx("te.details", "$.event_type")} END AS source_type,
           ${PARENT_REF} AS parent_ref`;

/** The tables and columns STEPS_CTE, STEP_FROM, STEP_COLUMNS and PARENT_ENTRY read (besides STEP_OPTIONAL), for a scope of `scope`. */
export const STEP_NEEDS = (scope: "execution_id" | "task_id"): Record<string, string[]> => ({
  transcript_entries: ["id", "execution_id", "task_id", "sequence", "timestamp", "entry_type", "summary", "duration_ms", "details", "instance_id", "category"],
  tool_uses: ["id", "execution_id", scope, "transcript_entry_id", "tool", "result_status", "duration_ms", "within_skill"],
  skill_traces: ["id", "skill_name", "status", "duration_ms"],
  assertion_results: ["id", scope, "transcript_entry_id", "result", "duration_ms"],
});

/** What a file from another producer may lack without losing its steps: links and replay marks read as NULL. */
export const STEP_OPTIONAL: Record<string, string[]> = {
  transcript_entries: ["replay_of"],
  tool_uses: ["parent_tool_use_id"],
};

/**
 * An execution's own spending from llm_calls, as columns of an aggregate: tokens of each kind and
 * cost, leaving out the calls it carries from another execution (replay_of), which are the other
 * execution's to count.
 */
/**
 * Every token of a row's model calls — input, output, cache reads and cache writes (5 minutes and
 * 1 hour) — as `obs ls`'s TOKENS (ALL), the live view's header and a token budget count them;
 * null when none of them is known. `t` names the row (an aggregate of llm_calls' columns).
 */
export const allTokens = (t: string) => {
  const kinds = ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens"].map((c) => `${t}.${c}`);
  return `CASE WHEN COALESCE(${kinds.join(", ")}) IS NOT NULL THEN ${kinds.map((k) => `COALESCE(${k}, 0)`).join(" + ")} END`;
};

export const OWN_SPEND = ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "cost_usd"]
  .map((c) => `SUM(CASE WHEN replay_of IS NULL THEN ${c} END) AS ${c}`)
  .join(",\n             ");
