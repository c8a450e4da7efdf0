import { CASCADES_CTE, ERRORS_NEEDS, jx, LOCKS_CTE, MS, REPLAY_OPTIONAL } from "./fragments.js";
import { parseJson } from "./run.js";
import { WINDOW } from "./troubleshooting.js";
import type { Query } from "./types.js";

/** D — Detection of anomalies: what stands out against the run itself or its earlier runs. */

export interface D001Row { tool_use_id: string; tool: string; duration_ms: number; avg_ms: number; ratio: number; task_id: string | null; input_summary: string | null }
export const D001: Query<D001Row> = {
  id: "D001",
  family: "Detection",
  title: "Unusual durations",
  description: "Tool uses that took the given factor (3×) or more of their tool's mean duration in this run.",
  arg: "execution",
  executionScoped: true,
  options: [{ name: "factor", description: "how many times the tool's mean counts as unusual", default: 3 }],
  needs: { tool_uses: ["id", "execution_id", "tool", "duration_ms", "task_id", "input_summary"] },
  sql: `
    WITH per_tool AS (
      SELECT tool, AVG(duration_ms) AS avg_ms
        FROM tool_uses
       WHERE execution_id = @execution_id AND duration_ms IS NOT NULL
       GROUP BY tool
    )
    SELECT tu.id                                      AS tool_use_id,
           tu.tool,
           tu.duration_ms,
           CAST(ROUND(p.avg_ms) AS INTEGER)           AS avg_ms,
           ROUND(tu.duration_ms / p.avg_ms, 2)        AS ratio,
           tu.task_id,
           tu.input_summary
      FROM tool_uses tu
      JOIN per_tool p ON p.tool = tu.tool
     WHERE tu.execution_id = @execution_id
       AND p.avg_ms > 0
       AND tu.duration_ms >= @factor * p.avg_ms
     ORDER BY ratio DESC, tu.id`,
};

export interface D002Row { started_at: string; ended_at: string; errors: number; first_error: string; first_error_id: string; task_ids: string[]; span_ms: number }
export const D002: Query<D002Row> = {
  id: "D002",
  family: "Detection",
  title: "Error cascades",
  description: "Runs of errors, each within the window (60 s) of the one before, at least the given length (3).",
  arg: "execution",
  executionScoped: true,
  options: [
    WINDOW,
    { name: "min_errors", description: "the fewest errors that make a cascade", default: 3 },
  ],
  needs: ERRORS_NEEDS,
  optional: REPLAY_OPTIONAL,
  sql: `
    WITH ${CASCADES_CTE}
    SELECT c.started_at,
           c.ended_at,
           c.errors,
           g.error_type || ': ' || COALESCE(g.details, '') AS first_error,
           g.id                                          AS first_error_id,
           c.task_ids,
           ${MS("c.ended_at", "c.started_at")}             AS span_ms
      FROM cascades c
      JOIN grouped g ON g.n = c.first_n
     WHERE c.errors >= @min_errors
     ORDER BY c.started_at`,
  shape: (r) => ({ ...r, task_ids: parseJson(r.task_ids) ?? [] }) as D002Row,
};

export interface D003Row { task_id: string; category: string; description: string; passed_at: string; failed_at: string; passed_in: string; assertion_id: string }
export const D003: Query<D003Row> = {
  id: "D003",
  family: "Detection",
  title: "Assertion regressions",
  description:
    "Assertions that fail now but passed before: earlier in this run for the same task, or in an earlier run of the same " +
    "task list for the same task (matched by display id, else title).",
  arg: "execution",
  executionScoped: true,
  needs: {
    assertion_results: ["id", "execution_id", "task_id", "category", "description", "result", "timestamp"],
    tasks: ["id", "execution_id", "display_id", "title"],
    task_list_execution_runs: ["id", "task_list_id", "started_at"],
  },
  sql: `
    WITH run AS (
      SELECT task_list_id, started_at FROM task_list_execution_runs WHERE id = @execution_id
    ),
    earlier_runs AS (
      SELECT r.id
        FROM task_list_execution_runs r, run
       WHERE r.task_list_id = run.task_list_id
         AND r.started_at < run.started_at
    ),
    -- The unary + keeps the planner on the execution and task indexes: the result and
    -- category indexes span every run in the file and grow with it.
    failed AS (
      SELECT ar.id, ar.task_id, ar.category, ar.description, ar.timestamp AS failed_at,
             COALESCE(t.display_id, t.title) AS task_key
        FROM assertion_results ar
        LEFT JOIN tasks t ON t.id = ar.task_id
       WHERE ar.execution_id = @execution_id
         AND +ar.result = 'fail'
    ),
    passes AS (
      -- Passes of the same assertion: this run's same task, earlier…
      SELECT f.id AS failed_id, p.timestamp AS passed_at, p.execution_id
        FROM failed f
        JOIN assertion_results p ON p.task_id = f.task_id
       WHERE +p.execution_id = @execution_id
         AND +p.result = 'pass' AND +p.category = f.category AND p.description = f.description
         AND p.timestamp < f.failed_at
      UNION ALL
      -- …or the same task of an earlier run of the task list.
      SELECT f.id, p.timestamp, p.execution_id
        FROM failed f
        JOIN tasks pt             ON pt.execution_id IN (SELECT id FROM earlier_runs)
                                 AND COALESCE(pt.display_id, pt.title) = f.task_key
        JOIN assertion_results p  ON p.task_id = pt.id
       WHERE +p.result = 'pass' AND +p.category = f.category AND p.description = f.description
    ),
    latest AS (
      SELECT failed_id, MAX(passed_at) AS passed_at, execution_id FROM passes GROUP BY failed_id
    )
    SELECT f.task_id,
           f.category,
           f.description,
           l.passed_at,
           f.failed_at,
           l.execution_id AS passed_in,
           f.id           AS assertion_id
      FROM failed f
      JOIN latest l ON l.failed_id = f.id
     ORDER BY f.failed_at, f.id`,
};

export interface D004Row { minute: string; entries: number; mean: number; stddev: number }
export const D004: Query<D004Row> = {
  id: "D004",
  family: "Detection",
  title: "Activity spikes",
  description: "Minutes with more transcript entries than the mean + 3σ of all the run's minutes (quiet minutes count as 0).",
  arg: "execution",
  executionScoped: true,
  options: [{ name: "sigma", description: "how many standard deviations above the mean is a spike", default: 3 }],
  needs: { transcript_entries: ["execution_id", "timestamp"] },
  sql: `
    WITH per_minute AS (
      SELECT strftime('%Y-%m-%dT%H:%M', timestamp) AS minute, COUNT(*) AS entries
        FROM transcript_entries
       WHERE execution_id = @execution_id
       GROUP BY minute
    ),
    span AS (
      SELECT ${MS("MAX(minute) || ':00Z'", "MIN(minute) || ':00Z'")} / 60000 + 1 AS minutes,
             SUM(entries)            AS total,
             SUM(entries * entries)  AS squares
        FROM per_minute
    ),
    stats AS (
      SELECT 1.0 * total / minutes                                                   AS mean,
             sqrt(MAX(0, 1.0 * squares / minutes - (1.0 * total / minutes) * (1.0 * total / minutes))) AS stddev
        FROM span
    )
    SELECT minute || ':00Z'     AS minute,
           entries,
           ROUND(mean, 2)       AS mean,
           ROUND(stddev, 2)     AS stddev
      FROM per_minute, stats
     WHERE stddev > 0
       AND entries > mean + @sigma * stddev
     ORDER BY minute`,
};

export interface D005Row { resource_type: string; id: string; allocated_at: string | null; owner: string | null }
export const D005: Query<D005Row> = {
  id: "D005",
  family: "Detection",
  title: "Orphaned resources",
  description: "Resources taken and never given back by the run's end: file locks, live agents, open skills, open assertion chains.",
  arg: "execution",
  executionScoped: true,
  needs: {
    transcript_entries: ["id", "execution_id", "instance_id", "task_id", "timestamp", "sequence", "entry_type", "details"],
    build_agent_instances: ["id", "execution_id", "spawned_at", "status", "task_id"],
    skill_traces: ["id", "execution_id", "start_time", "status", "instance_id", "task_id", "skill_name"],
    assertion_chains: ["id", "execution_id", "started_at", "completed_at", "task_id"],
  },
  sql: `
    WITH ${LOCKS_CTE}
    SELECT 'lock' AS resource_type, file_path AS id, timestamp AS allocated_at,
           COALESCE(instance_id, task_id) AS owner
      FROM open_locks
    UNION ALL
    SELECT 'agent', id, spawned_at, COALESCE(task_id, status)
      FROM build_agent_instances
     WHERE execution_id = @execution_id AND status NOT IN ('completed', 'failed', 'terminated')
    UNION ALL
    SELECT 'skill', id, start_time, COALESCE(instance_id, task_id)
      FROM skill_traces
     WHERE execution_id = @execution_id AND status IS NULL
    UNION ALL
    SELECT 'assertion_chain', id, started_at, task_id
      FROM assertion_chains
     WHERE execution_id = @execution_id AND completed_at IS NULL
     ORDER BY allocated_at, resource_type, id`,
};

export interface D006Row { execution_id: string; cycle: string; files: string; agents: number }
export const D006: Query<D006Row> = {
  id: "D006",
  family: "Detection",
  title: "Circular waits",
  description: "Wait-for cycles between agents across every execution: A waits for a file B holds while B waits (directly or through others) for one A holds.",
  arg: "none",
  needs: { transcript_entries: ["execution_id", "instance_id", "timestamp", "entry_type", "details"] },
  sql: `
    WITH RECURSIVE lock_entries AS (
      SELECT execution_id, instance_id, timestamp,
             json_extract(details, '$.file_path')                   AS file_path,
             COALESCE(json_extract(details, '$.state'), 'acquired') AS state,
             json_extract(details, '$.held_by')                     AS held_by
        FROM transcript_entries
       WHERE entry_type = 'lock_acquire'
         AND json_valid(details)
    ),
    -- A wait still standing: the waiter never acquired that file afterwards.
    waits AS (
      SELECT w.execution_id, w.instance_id AS waiter, w.held_by AS holder, w.file_path
        FROM lock_entries w
       WHERE w.state = 'waiting'
         AND w.held_by IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM lock_entries g
                          WHERE g.execution_id = w.execution_id AND g.instance_id = w.instance_id
                            AND g.file_path = w.file_path AND g.state = 'acquired' AND g.timestamp >= w.timestamp)
    ),
    walk (execution_id, start, current, path, files, lowest, depth) AS (
      SELECT execution_id, waiter, holder, '|' || waiter || '|' || holder || '|', file_path, MIN(waiter, holder), 1
        FROM waits
      UNION ALL
      SELECT walk.execution_id, walk.start, w.holder, walk.path || w.holder || '|', walk.files || ', ' || w.file_path,
             MIN(walk.lowest, w.holder), walk.depth + 1
        FROM walk
        JOIN waits w ON w.execution_id = walk.execution_id AND w.waiter = walk.current
       WHERE walk.current <> walk.start
         AND walk.depth < 16
         AND (w.holder = walk.start OR instr(walk.path, '|' || w.holder || '|') = 0)
    )
    -- Each cycle once: from its lowest agent id.
    SELECT DISTINCT execution_id,
           replace(trim(path, '|'), '|', ' → ') AS cycle,
           files,
           depth AS agents
      FROM walk
     WHERE current = start
       AND start = lowest
     ORDER BY execution_id, cycle`,
};

export interface D007Row {
  instance_id: string | null; agent_type: string | null; tool: string; input_summary: string | null;
  /** 1 when every call of the loop came right after the one before (nothing else between), else 0. */
  calls: number; in_a_row: number; other_calls: number; errors: number;
  first_at: string; detected_at: string; last_at: string; span_ms: number;
  model_calls: number; tokens: number | null; cost_usd: number | null; unpriced_calls: number;
  first_tool_use_id: string; detected_tool_use_id: string; last_tool_use_id: string;
}
export const D007: Query<D007Row> = {
  id: "D007",
  family: "Detection",
  title: "Repeated calls",
  description:
    "One agent calling the same tool with the same input (JSON compared as values) the given number of times (5) or more, " +
    "each call in a row (nothing else called between) or within the window (60 s) of the one before: how long it went on, " +
    "and the agent's model calls, tokens and cost meanwhile.",
  arg: "execution",
  executionScoped: true,
  options: [
    { name: "min_calls", description: "the fewest identical calls that make a loop", default: 5 },
    { name: "window_ms", description: "identical calls closer than this continue a loop, other calls between or not", default: 60_000 },
  ],
  needs: {
    tool_uses: ["id", "execution_id", "tool", "input", "input_summary", "is_error", "start_time", "end_time", "transcript_entry_id"],
    transcript_entries: ["id", "instance_id"],
  },
  optional: {
    tool_uses: ["replay_of"],
    transcript_entries: ["sequence"],
    build_agent_instances: ["id", "agent_type"],
    llm_calls: ["id", "execution_id", "instance_id", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
      "cache_write_1h_tokens", "cost_usd", "start_time", "end_time", "replay_of"],
  },
  sql: `
    -- The execution's own calls (history it replays from another run is that run's), each with
    -- its place among its agent's calls (calls no agent is named for count as one agent's).
    WITH calls AS (
      SELECT tu.id, tu.tool, tu.input_summary, tu.is_error, tu.start_time,
             COALESCE(tu.end_time, tu.start_time) AS end_time,
             te.instance_id,
             ROW_NUMBER() OVER (PARTITION BY te.instance_id ORDER BY tu.start_time, te.sequence, tu.id) AS agent_n,
             -- The same call: the same tool and the same input, JSON as values (its spacing aside).
             COALESCE(tu.tool, '') || char(31) ||
             COALESCE(CASE WHEN json_valid(tu.input) THEN json(tu.input) END, trim(tu.input), tu.input_summary, '') AS call_key
        FROM tool_uses tu
        LEFT JOIN transcript_entries te ON te.id = tu.transcript_entry_id
       WHERE tu.execution_id = @execution_id
         AND tu.replay_of IS NULL
         AND tu.start_time IS NOT NULL
    ),
    -- Only a call its agent made @min_calls times or more can be a loop: the rest need no more looking at.
    repeated AS (
      SELECT instance_id, call_key FROM calls GROUP BY instance_id, call_key HAVING COUNT(*) >= @min_calls
    ),
    -- The previous time the agent made the same call.
    previous AS (
      SELECT c.*,
             LAG(c.agent_n)    OVER (PARTITION BY c.instance_id, c.call_key ORDER BY c.agent_n) AS prev_n,
             LAG(c.start_time) OVER (PARTITION BY c.instance_id, c.call_key ORDER BY c.agent_n) AS prev_start
        FROM calls c
        JOIN repeated r ON r.instance_id IS c.instance_id AND r.call_key = c.call_key
    ),
    -- A call continues the loop of the previous same call when nothing else came between, or
    -- when it came within the window; otherwise it starts a new one.
    looped AS (
      SELECT v.*,
             SUM(CASE WHEN prev_n IS NOT NULL AND (agent_n = prev_n + 1 OR ${MS("start_time", "prev_start")} <= @window_ms) THEN 0 ELSE 1 END)
               OVER (PARTITION BY instance_id, call_key ORDER BY agent_n ROWS UNBOUNDED PRECEDING) AS loop_no
        FROM previous v
    ),
    numbered AS (
      SELECT l.*,
             ROW_NUMBER() OVER (PARTITION BY instance_id, call_key, loop_no ORDER BY agent_n) AS k,
             COUNT(*)     OVER (PARTITION BY instance_id, call_key, loop_no) AS n
        FROM looped l
    ),
    loops AS (
      SELECT instance_id, call_key, loop_no,
             MIN(tool)                                          AS tool,
             MIN(CASE WHEN k = 1 THEN input_summary END)        AS input_summary,
             COUNT(*)                                           AS calls,
             MAX(agent_n) - MIN(agent_n) + 1 - COUNT(*)         AS other_calls,
             SUM(is_error = 1)                                  AS errors,
             MIN(start_time)                                    AS first_at,
             MIN(CASE WHEN k = @min_calls THEN start_time END)  AS detected_at,
             MAX(end_time)                                      AS last_at,
             MIN(CASE WHEN k = 1 THEN id END)                   AS first_tool_use_id,
             MIN(CASE WHEN k = @min_calls THEN id END)          AS detected_tool_use_id,
             MIN(CASE WHEN k = n THEN id END)                   AS last_tool_use_id
        FROM numbered
       WHERE n >= @min_calls
       GROUP BY instance_id, call_key, loop_no
    ),
    -- What the agent's model calls spent while the loop went on.
    spend AS (
      SELECT lp.instance_id, lp.call_key, lp.loop_no,
             COUNT(m.id)                                        AS model_calls,
             CASE WHEN COUNT(m.id) > 0
                  THEN SUM(COALESCE(m.input_tokens, 0) + COALESCE(m.output_tokens, 0) + COALESCE(m.cache_read_tokens, 0)
                           + COALESCE(m.cache_write_tokens, 0) + COALESCE(m.cache_write_1h_tokens, 0)) END AS tokens,
             SUM(m.cost_usd)                                    AS cost_usd,
             COALESCE(SUM(m.id IS NOT NULL AND m.cost_usd IS NULL), 0) AS unpriced_calls
        FROM loops lp
        LEFT JOIN llm_calls m
               ON m.execution_id = @execution_id
              AND m.replay_of IS NULL
              AND m.instance_id IS lp.instance_id
              AND julianday(COALESCE(m.end_time, m.start_time)) BETWEEN julianday(lp.first_at) AND julianday(lp.last_at)
       GROUP BY lp.instance_id, lp.call_key, lp.loop_no
    )
    SELECT lp.instance_id,
           (SELECT ag.agent_type FROM build_agent_instances ag WHERE ag.id = lp.instance_id) AS agent_type,
           lp.tool, lp.input_summary, lp.calls,
           lp.other_calls = 0                                   AS in_a_row,
           lp.other_calls, lp.errors, lp.first_at, lp.detected_at, lp.last_at,
           ${MS("lp.last_at", "lp.first_at")}                   AS span_ms,
           s.model_calls, s.tokens, s.cost_usd, s.unpriced_calls,
           lp.first_tool_use_id, lp.detected_tool_use_id, lp.last_tool_use_id
      FROM loops lp
      JOIN spend s ON s.instance_id IS lp.instance_id AND s.call_key = lp.call_key AND s.loop_no = lp.loop_no
     ORDER BY lp.first_at, lp.instance_id, lp.first_tool_use_id`,
};

export const DETECTION = [D001, D002, D003, D004, D005, D006, D007] as const;
