import { allTokens, errorCount, ERRORS_CTE, ERRORS_NEEDS, MS, needs, OWN_SPEND, REPLAY_OPTIONAL } from "./fragments.js";
import type { Query } from "./types.js";

/**
 * A — Aggregation: an execution at a glance, and executions side by side.
 * A pass rate is passed ÷ results that were not skipped, everywhere in obs.
 */

export interface A001Row {
  execution_id: string; task_list_id: string | null; status: string | null; started_at: string | null; completed_at: string | null; duration_ms: number | null;
  tasks: number; tasks_completed: number; tasks_failed: number; tool_calls: number; errors: number; blocked: number;
  assertions: number; pass_rate: number | null; skills: number; agents: number; waves: number;
  input_tokens: number | null; output_tokens: number | null; cache_read_tokens: number | null; cache_write_tokens: number | null;
  cache_write_1h_tokens: number | null; reasoning_tokens: number | null;
  /** Input, output, cache reads and writes together (reasoning tokens are part of output); null when none is known. */
  total_tokens: number | null;
  cost_usd: number | null; model_calls: number; model_calls_unpriced: number;
  /** What the execution carries of another's record (a resumed, forked or copied session): shown, never counted above. */
  replayed_model_calls: number; replayed_input_tokens: number | null; replayed_output_tokens: number | null;
  replayed_cache_read_tokens: number | null; replayed_cache_write_tokens: number | null; replayed_cache_write_1h_tokens: number | null;
  replayed_cost_usd: number | null; replayed_tool_calls: number; replayed_entries: number;
}
export const A001: Query<A001Row> = {
  id: "A001",
  family: "Aggregation",
  title: "Execution summary",
  description: "The execution at a glance: status and timing, tasks, tool calls, errors, blocked calls, assertions and pass rate, skills, agents, waves, tokens and cost.",
  arg: "execution",
  executionScoped: true,
  needs: needs(ERRORS_NEEDS, {
    task_list_execution_runs: ["id", "task_list_id", "status", "started_at", "completed_at"],
    transcript_entries: ["execution_id", "timestamp"],
    parallel_execution_waves: ["execution_run_id"],
  }),
  optional: needs(REPLAY_OPTIONAL, {
    llm_calls: ["execution_id", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "reasoning_tokens", "cost_usd", "replay_of"],
  }),
  sql: `
    -- Counts and spending are the execution's own: rows it carries from another execution
    -- (replay_of) are counted apart, as replayed_*.
    WITH ${ERRORS_CTE},
    span AS (
      SELECT COALESCE(r.started_at, (SELECT MIN(timestamp) FROM transcript_entries WHERE execution_id = @execution_id)) AS started_at,
             COALESCE(r.completed_at, (SELECT MAX(timestamp) FROM transcript_entries WHERE execution_id = @execution_id)) AS ended_at,
             r.completed_at, r.status, r.task_list_id
        FROM (SELECT 1) one
        LEFT JOIN task_list_execution_runs r ON r.id = @execution_id
    ),
    llm AS (
      SELECT ${OWN_SPEND},
             SUM(CASE WHEN replay_of IS NULL THEN reasoning_tokens END)      AS reasoning_tokens,
             COALESCE(SUM(replay_of IS NULL), 0)                             AS model_calls,
             COALESCE(SUM(replay_of IS NULL AND cost_usd IS NULL), 0)        AS model_calls_unpriced,
             COALESCE(SUM(replay_of IS NOT NULL), 0)                         AS replayed_model_calls,
             SUM(CASE WHEN replay_of IS NOT NULL THEN input_tokens END)          AS replayed_input_tokens,
             SUM(CASE WHEN replay_of IS NOT NULL THEN output_tokens END)         AS replayed_output_tokens,
             SUM(CASE WHEN replay_of IS NOT NULL THEN cache_read_tokens END)     AS replayed_cache_read_tokens,
             SUM(CASE WHEN replay_of IS NOT NULL THEN cache_write_tokens END)    AS replayed_cache_write_tokens,
             SUM(CASE WHEN replay_of IS NOT NULL THEN cache_write_1h_tokens END) AS replayed_cache_write_1h_tokens,
             SUM(CASE WHEN replay_of IS NOT NULL THEN cost_usd END)              AS replayed_cost_usd
        FROM llm_calls WHERE execution_id = @execution_id
    )
    SELECT @execution_id                                             AS execution_id,
           span.task_list_id,
           span.status,
           span.started_at,
           span.completed_at,
           ${MS("span.ended_at", "span.started_at")}                   AS duration_ms,
           (SELECT COUNT(*) FROM tasks WHERE execution_id = @execution_id AND replay_of IS NULL)    AS tasks,
           (SELECT COUNT(*) FROM tasks WHERE execution_id = @execution_id AND status = 'completed' AND replay_of IS NULL) AS tasks_completed,
           (SELECT COUNT(*) FROM tasks WHERE execution_id = @execution_id AND status = 'failed' AND replay_of IS NULL)    AS tasks_failed,
           (SELECT COUNT(*) FROM tool_uses WHERE execution_id = @execution_id AND replay_of IS NULL) AS tool_calls,
           (SELECT COUNT(*) FROM errors)                                                             AS errors,
           (SELECT COUNT(*) FROM tool_uses WHERE execution_id = @execution_id AND +is_blocked = 1)   AS blocked,
           (SELECT COUNT(*) FROM assertion_results WHERE execution_id = @execution_id)              AS assertions,
           (SELECT ROUND(1.0 * SUM(result = 'pass') / NULLIF(SUM(result <> 'skip'), 0), 4)
              FROM assertion_results WHERE execution_id = @execution_id)                            AS pass_rate,
           (SELECT COUNT(*) FROM skill_traces WHERE execution_id = @execution_id)                   AS skills,
           (SELECT COUNT(*) FROM build_agent_instances WHERE execution_id = @execution_id)          AS agents,
           (SELECT COUNT(*) FROM parallel_execution_waves WHERE execution_run_id = @execution_id)   AS waves,
           llm.input_tokens, llm.output_tokens, llm.cache_read_tokens, llm.cache_write_tokens,
           llm.cache_write_1h_tokens, llm.reasoning_tokens, ${allTokens("llm")} AS total_tokens,
           llm.cost_usd, llm.model_calls, llm.model_calls_unpriced,
           llm.replayed_model_calls, llm.replayed_input_tokens, llm.replayed_output_tokens,
           llm.replayed_cache_read_tokens, llm.replayed_cache_write_tokens, llm.replayed_cache_write_1h_tokens,
           llm.replayed_cost_usd,
           (SELECT COUNT(*) FROM tool_uses WHERE execution_id = @execution_id AND replay_of IS NOT NULL) AS replayed_tool_calls,
           (SELECT COUNT(*) FROM transcript_entries WHERE execution_id = @execution_id AND replay_of IS NOT NULL) AS replayed_entries
      FROM span, llm`,
};

export interface A002Row { status: string; count: number; pct: number; avg_ms: number | null }
export const A002: Query<A002Row> = {
  id: "A002",
  family: "Aggregation",
  title: "Tasks by status",
  description: "Tasks by status: how many, what share, and their mean duration.",
  arg: "execution",
  executionScoped: true,
  needs: { tasks: ["execution_id", "status", "started_at", "completed_at"] },
  optional: { tasks: ["replay_of"] },
  sql: `
    -- The execution's own tasks: those it replays from another run are that run's.
    SELECT COALESCE(status, 'unknown')                                       AS status,
           COUNT(*)                                                          AS count,
           ROUND(100.0 * COUNT(*) / SUM(COUNT(*)) OVER (), 1)                AS pct,
           CAST(ROUND(AVG(${MS("completed_at", "started_at")})) AS INTEGER)  AS avg_ms
      FROM tasks
     WHERE execution_id = @execution_id
       AND replay_of IS NULL
     GROUP BY status
     ORDER BY count DESC, status`,
};

export interface A003Row { hour: string; entries: number; tool_calls: number; errors: number }
export const A003: Query<A003Row> = {
  id: "A003",
  family: "Aggregation",
  title: "Activity by hour",
  description: "Per hour (UTC) of the run: transcript entries, tool calls and errors.",
  arg: "execution",
  executionScoped: true,
  needs: needs(ERRORS_NEEDS, { transcript_entries: ["execution_id", "timestamp"], tool_uses: ["execution_id", "start_time"] }),
  optional: REPLAY_OPTIONAL,
  sql: `
    -- The execution's own activity: history it replays happened in another run.
    WITH ${ERRORS_CTE},
    activity (hour, entries, tool_calls, errors) AS (
      SELECT strftime('%Y-%m-%dT%H:00Z', timestamp), 1, 0, 0 FROM transcript_entries WHERE execution_id = @execution_id AND replay_of IS NULL
      UNION ALL
      SELECT strftime('%Y-%m-%dT%H:00Z', start_time), 0, 1, 0 FROM tool_uses WHERE execution_id = @execution_id AND start_time IS NOT NULL AND replay_of IS NULL
      UNION ALL
      SELECT strftime('%Y-%m-%dT%H:00Z', occurred_at), 0, 0, 1 FROM errors WHERE occurred_at IS NOT NULL
    )
    SELECT hour, SUM(entries) AS entries, SUM(tool_calls) AS tool_calls, SUM(errors) AS errors
      FROM activity
     GROUP BY hour
     ORDER BY hour`,
};

export interface A004Row { category: string; total: number; passed: number; failed: number; skipped: number; pass_rate: number | null }
export const A004: Query<A004Row> = {
  id: "A004",
  family: "Aggregation",
  title: "Pass rate by category",
  description: "Assertion results per category: total, passed, failed, skipped and pass rate (passed ÷ not skipped).",
  arg: "execution",
  executionScoped: true,
  needs: { assertion_results: ["execution_id", "category", "result"] },
  sql: `
    SELECT COALESCE(category, 'uncategorised')                                 AS category,
           COUNT(*)                                                            AS total,
           SUM(result = 'pass')                                                AS passed,
           SUM(result = 'fail')                                                AS failed,
           SUM(result = 'skip')                                                AS skipped,
           ROUND(1.0 * SUM(result = 'pass') / NULLIF(SUM(result <> 'skip'), 0), 4) AS pass_rate
      FROM assertion_results
     WHERE execution_id = @execution_id
     GROUP BY category
     ORDER BY pass_rate, category`,
};

export interface A005Row { tool: string; calls: number; p50_ms: number | null; p90_ms: number | null; p99_ms: number | null; max_ms: number | null }
export const A005: Query<A005Row> = {
  id: "A005",
  family: "Aggregation",
  title: "Duration percentiles",
  description: "Per tool: calls with a duration, and their 50th, 90th and 99th percentile and longest duration.",
  arg: "execution",
  executionScoped: true,
  needs: { tool_uses: ["execution_id", "tool", "duration_ms"] },
  sql: `
    SELECT tool,
           COUNT(*)                                             AS calls,
           CAST(ROUND(percentile(duration_ms, 50)) AS INTEGER)  AS p50_ms,
           CAST(ROUND(percentile(duration_ms, 90)) AS INTEGER)  AS p90_ms,
           CAST(ROUND(percentile(duration_ms, 99)) AS INTEGER)  AS p99_ms,
           MAX(duration_ms)                                     AS max_ms
      FROM tool_uses
     WHERE execution_id = @execution_id
       AND duration_ms IS NOT NULL
     GROUP BY tool
     ORDER BY p90_ms DESC, tool`,
};

export interface A006Row {
  execution_id: string; task_list_id: string | null; status: string | null; started_at: string | null; duration_ms: number | null;
  tasks_completed: number; tasks_failed: number; errors: number; pass_rate: number | null; tool_calls: number; cost_usd: number | null;
}
export const A006: Query<A006Row> = {
  id: "A006",
  family: "Aggregation",
  title: "Runs compared",
  description: "Executions of one task list side by side, oldest first (every execution, by task list, when none is named).",
  arg: "task_list",
  argOptional: true,
  needs: needs(ERRORS_NEEDS, { task_list_execution_runs: ["id", "task_list_id", "status", "started_at", "completed_at"] }),
  optional: needs(REPLAY_OPTIONAL, { llm_calls: ["execution_id", "cost_usd", "replay_of"] }),
  sql: `
    -- Each run's own work and spending (history it replays from another run is not counted).
    WITH x AS (
      SELECT id AS execution_id, task_list_id, status, started_at, completed_at
        FROM task_list_execution_runs
       WHERE @task_list_id IS NULL OR task_list_id = @task_list_id
    )
    SELECT x.execution_id,
           x.task_list_id,
           x.status,
           x.started_at,
           ${MS("x.completed_at", "x.started_at")} AS duration_ms,
           (SELECT COUNT(*) FROM tasks t WHERE t.execution_id = x.execution_id AND t.status = 'completed' AND t.replay_of IS NULL) AS tasks_completed,
           (SELECT COUNT(*) FROM tasks t WHERE t.execution_id = x.execution_id AND t.status = 'failed' AND t.replay_of IS NULL)    AS tasks_failed,
           ${errorCount("x.execution_id")} AS errors,
           (SELECT ROUND(1.0 * SUM(r.result = 'pass') / NULLIF(SUM(r.result <> 'skip'), 0), 4)
              FROM assertion_results r WHERE r.execution_id = x.execution_id)                          AS pass_rate,
           (SELECT COUNT(*) FROM tool_uses t WHERE t.execution_id = x.execution_id AND t.replay_of IS NULL) AS tool_calls,
           (SELECT SUM(l.cost_usd) FROM llm_calls l WHERE l.execution_id = x.execution_id AND l.replay_of IS NULL) AS cost_usd
      FROM x
     ORDER BY x.task_list_id, x.started_at, x.execution_id`,
};

export const AGGREGATION = [A001, A002, A003, A004, A005, A006] as const;
