import { CASCADES_CTE, ERRORS_CTE, ERRORS_NEEDS, jx, LOCKS_CTE, MS, REF_CTE, REF_NEEDS, REPLAY_OPTIONAL, needs } from "./fragments.js";
import { parseJson } from "./run.js";
import type { Query } from "./types.js";

/** T — Troubleshooting: what went wrong, where it started, what never finished. */

export interface T001Row { error_type: string; source: string | null; occurred_at: string | null; details: string | null; task_id: string | null; id: string }
export const T001: Query<T001Row> = {
  id: "T001",
  family: "Troubleshooting",
  title: "All errors",
  description: "Every error in time order: tool errors, error entries, failed skills, failed assertions, error/critical bus events, failed agents and tasks.",
  arg: "execution",
  executionScoped: true,
  needs: ERRORS_NEEDS,
  optional: REPLAY_OPTIONAL,
  sql: `
    WITH ${ERRORS_CTE}
    SELECT error_type, source, occurred_at, details, task_id, id
      FROM errors
     ORDER BY occurred_at, error_type, id`,
};

export interface T002Row { tool_use_id: string; tool: string | null; input_summary: string | null; block_reason: string | null; occurred_at: string | null; task_id: string | null }
export const T002: Query<T002Row> = {
  id: "T002",
  family: "Troubleshooting",
  title: "Blocked commands",
  description: "Tool uses a security hook blocked, with what they tried and why they were stopped.",
  arg: "execution",
  executionScoped: true,
  needs: { tool_uses: ["id", "execution_id", "tool", "input_summary", "block_reason", "end_time", "start_time", "task_id", "is_blocked"] },
  sql: `
    SELECT id                               AS tool_use_id,
           tool,
           input_summary,
           block_reason,
           COALESCE(end_time, start_time)   AS occurred_at,
           task_id
      FROM tool_uses
     WHERE execution_id = @execution_id
       AND +is_blocked = 1
     ORDER BY occurred_at, id`,
};

export const WINDOW = { name: "window_ms", description: "errors closer than this continue a cascade", default: 60_000 };

export interface T003Row { id: string; error_type: string; occurred_at: string; details: string | null; task_id: string | null; followed_by: number; span_ms: number }
export const T003: Query<T003Row> = {
  id: "T003",
  family: "Troubleshooting",
  title: "Root cause",
  description:
    "The root of the first cascade: the earliest error that other errors followed, each within the window of the one before " +
    "(or the earliest error when none did), with how many followed and over how long.",
  arg: "execution",
  executionScoped: true,
  options: [WINDOW],
  needs: ERRORS_NEEDS,
  optional: REPLAY_OPTIONAL,
  sql: `
    WITH ${CASCADES_CTE},
    root AS (
      -- The first cascade of two or more; failing that, the first error.
      SELECT * FROM cascades
       ORDER BY (errors > 1) DESC, cascade_no
       LIMIT 1
    )
    SELECT g.id,
           g.error_type,
           g.occurred_at,
           g.details,
           g.task_id,
           root.errors - 1                          AS followed_by,
           ${MS("root.ended_at", "root.started_at")} AS span_ms
      FROM root
      JOIN grouped g ON g.n = root.first_n`,
};

export interface T004Row { op_type: string; id: string; started_at: string | null; open_ms: number | null; task_id: string | null; detail: string | null }
export const T004: Query<T004Row> = {
  id: "T004",
  family: "Troubleshooting",
  title: "Unfinished operations",
  description: "Operations started and never finished — tool uses, skills, assertion chains, tasks, agents, locks — with how long they stayed open (to the run's end, or now while it runs).",
  arg: "execution",
  executionScoped: true,
  needs: needs(REF_NEEDS, {
    tool_uses: ["id", "execution_id", "start_time", "end_time", "result_status", "task_id", "tool", "input_summary"],
    skill_traces: ["id", "execution_id", "start_time", "status", "task_id", "skill_name"],
    assertion_chains: ["id", "execution_id", "started_at", "completed_at", "task_id", "description"],
    tasks: ["id", "execution_id", "started_at", "status", "title"],
    build_agent_instances: ["id", "execution_id", "spawned_at", "status", "task_id"],
    transcript_entries: ["id", "instance_id", "task_id", "sequence", "entry_type", "details"],
  }),
  sql: `
    WITH ${REF_CTE},
    ${LOCKS_CTE},
    open_ops (op_type, id, started_at, task_id, detail) AS (
      SELECT 'tool_use', id, start_time, task_id, tool || ': ' || COALESCE(input_summary, '')
        FROM tool_uses
       WHERE execution_id = @execution_id AND start_time IS NOT NULL AND end_time IS NULL AND result_status IS NULL
      UNION ALL
      SELECT 'skill', id, start_time, task_id, skill_name
        FROM skill_traces
       WHERE execution_id = @execution_id AND status IS NULL
      UNION ALL
      SELECT 'assertion_chain', id, started_at, task_id, description
        FROM assertion_chains
       WHERE execution_id = @execution_id AND completed_at IS NULL
      UNION ALL
      SELECT 'task', id, started_at, id, title
        FROM tasks
       WHERE execution_id = @execution_id AND status = 'running'
      UNION ALL
      SELECT 'agent', id, spawned_at, task_id, 'status ' || status
        FROM build_agent_instances
       WHERE execution_id = @execution_id AND status NOT IN ('completed', 'failed', 'terminated')
      UNION ALL
      SELECT 'lock', id, timestamp, task_id, file_path || ' held by ' || COALESCE(instance_id, '?')
        FROM open_locks
    )
    SELECT op_type,
           id,
           started_at,
           ${MS("(SELECT ref_at FROM ref)", "started_at")} AS open_ms,
           task_id,
           detail
      FROM open_ops
     ORDER BY started_at, op_type, id`,
};

export interface T005Row { signature: string; count: number; first_at: string; last_at: string; task_ids: string[] }
export const T005: Query<T005Row> = {
  id: "T005",
  family: "Troubleshooting",
  title: "Repeated failures",
  description: "The same failure more than once: the same tool with the same error message, or the same assertion failing again.",
  arg: "execution",
  executionScoped: true,
  needs: {
    tool_uses: ["execution_id", "is_error", "tool", "error_message", "output_summary", "end_time", "start_time", "task_id"],
    assertion_results: ["execution_id", "result", "category", "description", "timestamp", "task_id"],
  },
  sql: `
    WITH failures AS (
      SELECT 'tool ' || tool || ': ' || COALESCE(error_message, output_summary, '(no message)') AS signature,
             COALESCE(end_time, start_time) AS at,
             task_id
        FROM tool_uses
       WHERE execution_id = @execution_id AND +is_error = 1
      UNION ALL
      SELECT 'assertion ' || category || ': ' || description, timestamp, task_id
        FROM assertion_results
       WHERE execution_id = @execution_id AND +result = 'fail'
    )
    SELECT signature,
           COUNT(*)                           AS count,
           MIN(at)                            AS first_at,
           MAX(at)                            AS last_at,
           json_group_array(DISTINCT task_id) FILTER (WHERE task_id IS NOT NULL) AS task_ids
      FROM failures
     GROUP BY signature
    HAVING COUNT(*) > 1
     ORDER BY count DESC, first_at`,
  shape: (r) => ({ ...r, task_ids: parseJson(r.task_ids) ?? [] }) as T005Row,
};

export interface T006Row { blocker_type: string; detail: string; since: string | null; ref_id: string | null }
export const T006: Query<T006Row> = {
  id: "T006",
  family: "Troubleshooting",
  title: "Task blockers",
  description:
    "Why a task is blocked: unfinished dependencies, failing assertions, blocked tools, locks other agents hold on its files, " +
    "and its agent when blocked, in error or silent past the threshold.",
  arg: "task",
  options: [{ name: "silent_ms", description: "an agent this long without a heartbeat counts as silent", default: 300_000 }],
  needs: {
    tasks: ["id", "execution_id", "status", "title", "file_path", "started_at", "display_id"],
    task_dependencies: ["task_id", "depends_on_task_id"],
    assertion_results: ["id", "task_id", "result", "category", "description", "timestamp"],
    tool_uses: ["id", "task_id", "is_blocked", "tool", "input_summary", "block_reason", "end_time", "start_time", "input", "tool_category"],
    transcript_entries: ["id", "execution_id", "task_id", "instance_id", "timestamp", "sequence", "entry_type", "details"],
    build_agent_instances: ["id", "task_id", "status", "last_heartbeat_at", "execution_id"],
    task_list_execution_runs: ["id", "status", "completed_at"],
    message_bus_log: ["execution_id", "timestamp"],
    agent_heartbeats: ["execution_id", "timestamp"],
  },
  sql: `
    WITH task AS (
      SELECT * FROM tasks WHERE id = @task_id
    ),
    ${REF_CTE.replaceAll("@execution_id", "(SELECT execution_id FROM task)")},
    ${LOCKS_CTE.replaceAll("@execution_id", "(SELECT execution_id FROM task)")},
    -- The files the task works on: its own, those it locked, those its tools wrote.
    task_files AS (
      SELECT file_path FROM task WHERE file_path IS NOT NULL
      UNION
      SELECT file_path FROM locks WHERE task_id = @task_id AND file_path IS NOT NULL
      UNION
      SELECT ${jx("input", "$.file_path")}
        FROM tool_uses
       WHERE task_id = @task_id AND +tool_category = 'file_write' AND ${jx("input", "$.file_path")} IS NOT NULL
    ),
    blockers (blocker_type, detail, since, ref_id) AS (
      SELECT 'dependency',
             COALESCE(dep.display_id || ' ', '') || d.depends_on_task_id || ' is ' || COALESCE(dep.status, 'unknown (no such task)')
               || COALESCE(': ' || dep.title, ''),
             dep.started_at,
             d.depends_on_task_id
        FROM task_dependencies d
        LEFT JOIN tasks dep ON dep.id = d.depends_on_task_id
       WHERE d.task_id = @task_id
         AND dep.status IS NOT 'completed'
      UNION ALL
      SELECT 'failing_assertion', category || ': ' || description, timestamp, id
        FROM assertion_results
       WHERE task_id = @task_id AND +result = 'fail'
      UNION ALL
      SELECT 'blocked_tool', tool || ' ' || COALESCE(input_summary, '') || ' — ' || COALESCE(block_reason, 'blocked'),
             COALESCE(end_time, start_time), id
        FROM tool_uses
       WHERE task_id = @task_id AND +is_blocked = 1
      UNION ALL
      SELECT 'lock_held', ol.file_path || ' held by ' || COALESCE(ol.instance_id, '?') || COALESCE(' (task ' || ol.task_id || ')', ''),
             ol.timestamp, ol.id
        FROM open_locks ol
       WHERE ol.task_id IS NOT @task_id
         AND ol.file_path IN (SELECT file_path FROM task_files)
      UNION ALL
      SELECT 'agent_' || ag.status, ag.id || ' is ' || ag.status, ag.last_heartbeat_at, ag.id
        FROM build_agent_instances ag
       WHERE ag.task_id = @task_id AND ag.status IN ('blocked', 'error')
      UNION ALL
      SELECT 'agent_silent',
             ag.id || ' has sent no heartbeat for ' || (${MS("(SELECT ref_at FROM ref)", "ag.last_heartbeat_at")} / 1000) || ' s',
             ag.last_heartbeat_at, ag.id
        FROM build_agent_instances ag
       WHERE ag.task_id = @task_id
         AND ag.status NOT IN ('completed', 'failed', 'terminated', 'blocked', 'error')
         AND ${MS("(SELECT ref_at FROM ref)", "ag.last_heartbeat_at")} > @silent_ms
    )
    SELECT blocker_type, detail, since, ref_id
      FROM blockers
     ORDER BY since, blocker_type`,
};

export const TROUBLESHOOTING = [T001, T002, T003, T004, T005, T006] as const;
