import { jx, needs, PARENT_ENTRY, STEP_COLUMNS, STEP_FROM, STEP_NEEDS, STEP_OPTIONAL, STEPS_CTE } from "./fragments.js";
import { parseJson } from "./run.js";
import type { Query } from "./types.js";

/** I — Investigation: one task's path, and how tools, skills, files, decisions and evidence were used. */

export interface I001Row {
  sequence: number;
  timestamp: string;
  entry_type: string;
  summary: string | null;
  duration_ms: number | null;
  status: string | null;
  entry_id: string;
  instance_id: string | null;
  category: string | null;
  tool_use_id: string | null;
  tool: string | null;
  within_skill: string | null;
  skill_trace_id: string | null;
  skill_name: string | null;
  assertion_id: string | null;
  task_id: string | null;
  /** The execution whose record this entry is, when the task's run only carries it (a resumed or forked session). */
  replay_of: string | null;
  execution_id: string;
  /** The producer's own type for the step where an adapter kept it apart from its category (an EventLog's event_type). */
  source_type: string | null;
  /** The parent step its record names (a tool call's parent call, a trace's parent trace), as written. */
  parent_ref: string | null;
  /** That parent's entry in the execution; NULL when the record names none, or one the execution does not hold. */
  parent_entry_id: string | null;
}
export const I001: Query<I001Row> = {
  id: "I001",
  family: "Investigation",
  title: "Task trace",
  description: "A task's whole path: its transcript entries in sequence order, each with its tool, skill or assertion and their duration and status.",
  arg: "task",
  needs: { transcript_entries: STEP_NEEDS("task_id").transcript_entries!, tool_uses: STEP_NEEDS("task_id").tool_uses! },
  // A file of another producer with steps but no skills or assertions is still traced.
  optional: needs(STEP_OPTIONAL, { skill_traces: STEP_NEEDS("task_id").skill_traces!, assertion_results: STEP_NEEDS("task_id").assertion_results! }),
  sql: `
    -- The task's entries, each with its tool call or assertion (found from their rows through
    -- the task index), in sequence order. History the run replays from another is shown, marked
    -- by replay_of; each step's parent link is resolved within its execution (it may lie
    -- outside the task).
    WITH ${STEPS_CTE("task_id", "@task_id")},
    steps AS (
      SELECT ${STEP_COLUMNS}
      ${STEP_FROM}
    )
    SELECT s.*, ${PARENT_ENTRY("s.parent_ref", "s.execution_id")} AS parent_entry_id
      FROM steps s
     ORDER BY s.sequence, s.timestamp`,
};

export interface I002Row { tool: string; calls: number; errors: number; blocked: number; error_rate: number; avg_ms: number | null; min_ms: number | null; max_ms: number | null }
export const I002: Query<I002Row> = {
  id: "I002",
  family: "Investigation",
  title: "Tool usage",
  description: "Per tool: calls, errors, blocked calls, error rate, and mean, shortest and longest duration.",
  arg: "execution",
  executionScoped: true,
  needs: { tool_uses: ["execution_id", "tool", "is_error", "is_blocked", "duration_ms"] },
  sql: `
    SELECT tool,
           COUNT(*)                                   AS calls,
           SUM(is_error)                              AS errors,
           SUM(is_blocked)                            AS blocked,
           ROUND(1.0 * SUM(is_error) / COUNT(*), 4)   AS error_rate,
           CAST(ROUND(AVG(duration_ms)) AS INTEGER)   AS avg_ms,
           MIN(duration_ms)                           AS min_ms,
           MAX(duration_ms)                           AS max_ms
      FROM tool_uses
     WHERE execution_id = @execution_id
     GROUP BY tool
     ORDER BY calls DESC, tool`,
};

export interface I003Row { skill_name: string; invocations: number; success: number; partial: number; failed: number; running: number; avg_ms: number | null; avg_tool_calls: number | null }
export const I003: Query<I003Row> = {
  id: "I003",
  family: "Investigation",
  title: "Skill usage",
  description: "Per skill: invocations by status, mean duration and mean number of tool calls.",
  arg: "execution",
  executionScoped: true,
  needs: { skill_traces: ["execution_id", "skill_name", "status", "duration_ms", "tool_calls"] },
  sql: `
    SELECT skill_name,
           COUNT(*)                                          AS invocations,
           SUM(status = 'success')                           AS success,
           SUM(status = 'partial')                           AS partial,
           SUM(status = 'failed')                            AS failed,
           SUM(status IS NULL)                               AS running,
           CAST(ROUND(AVG(duration_ms)) AS INTEGER)          AS avg_ms,
           ROUND(AVG(json_array_length(tool_calls)), 1)      AS avg_tool_calls
      FROM skill_traces
     WHERE execution_id = @execution_id
     GROUP BY skill_name
     ORDER BY invocations DESC, skill_name`,
};

export interface I004Row { file_path: string; reads: number; writes: number; edits: number; tasks: number; agents: number; last_access: string | null }
export const I004: Query<I004Row> = {
  id: "I004",
  family: "Investigation",
  title: "File access",
  description: "Per file a tool touched (its input's file_path, path or pattern): reads, writes, edits, how many tasks and agents, last access.",
  arg: "execution",
  executionScoped: true,
  needs: {
    tool_uses: ["execution_id", "input", "tool", "tool_category", "task_id", "transcript_entry_id", "end_time", "start_time"],
    transcript_entries: ["id", "instance_id"],
  },
  sql: `
    WITH access AS (
      SELECT COALESCE(json_extract(tu.input, '$.file_path'), json_extract(tu.input, '$.notebook_path'),
                      json_extract(tu.input, '$.path'), json_extract(tu.input, '$.pattern')) AS file_path,
             tu.tool,
             tu.tool_category,
             tu.task_id,
             te.instance_id,
             COALESCE(tu.end_time, tu.start_time) AS at
        FROM tool_uses tu
        LEFT JOIN transcript_entries te ON te.id = tu.transcript_entry_id
       WHERE tu.execution_id = @execution_id
         AND json_valid(tu.input)
    )
    SELECT file_path,
           SUM(tool_category = 'file_read')                                   AS reads,
           SUM(tool_category = 'file_write' AND tool NOT IN ('Edit', 'MultiEdit')) AS writes,
           SUM(tool IN ('Edit', 'MultiEdit'))                                 AS edits,
           COUNT(DISTINCT task_id)                                            AS tasks,
           COUNT(DISTINCT instance_id)                                        AS agents,
           MAX(at)                                                            AS last_access
      FROM access
     WHERE file_path IS NOT NULL
     GROUP BY file_path
     ORDER BY reads + writes + edits DESC, file_path`,
};

export interface I005Row { timestamp: string; source: string | null; event_type: string | null; severity: string | null; human_summary: string | null; execution_id: string | null; task_id: string | null; event_id: string | null }
export const I005: Query<I005Row> = {
  id: "I005",
  family: "Investigation",
  title: "Correlated events",
  description: "Message-bus events sharing a correlation id, in time order, across executions.",
  arg: "correlation",
  needs: { message_bus_log: ["timestamp", "source", "event_type", "severity", "human_summary", "execution_id", "task_id", "event_id", "correlation_id"] },
  sql: `
    SELECT timestamp, source, event_type, severity, human_summary, execution_id, task_id, event_id
      FROM message_bus_log
     WHERE correlation_id = @correlation_id
     ORDER BY timestamp, id`,
};

export interface I006Row { sequence: number; timestamp: string; task_id: string | null; summary: string | null; options: unknown; chosen: unknown; reason: string | null; instance_id: string | null; entry_id: string }
export const I006: Query<I006Row> = {
  id: "I006",
  family: "Investigation",
  title: "Decisions",
  description: "Decision points in sequence order, with the options weighed, the choice and the reason given.",
  arg: "execution",
  executionScoped: true,
  needs: { transcript_entries: ["id", "execution_id", "entry_type", "sequence", "timestamp", "task_id", "summary", "details", "instance_id"] },
  sql: `
    SELECT sequence,
           timestamp,
           task_id,
           summary,
           ${jx("details", "$.options")} AS options,
           ${jx("details", "$.chosen")}  AS chosen,
           ${jx("details", "$.reason")}  AS reason,
           instance_id,
           id                                  AS entry_id
      FROM transcript_entries
     WHERE execution_id = @execution_id
       AND entry_type = 'decision'
     ORDER BY sequence`,
  shape: (r) => ({ ...r, options: parseJson(r.options) }) as I006Row,
};

export interface I007Row { assertion_id: string; task_id: string | null; chain_id: string | null; category: string | null; description: string | null; result: string; command: string | null; exit_code: number | null; stderr: string | null; file_path: string | null; timestamp: string | null }
export const I007: Query<I007Row> = {
  id: "I007",
  family: "Investigation",
  title: "Assertion evidence",
  description: "Assertion results with their evidence unpacked (command, exit code, stderr, file), failures first.",
  arg: "execution",
  executionScoped: true,
  needs: { assertion_results: ["id", "execution_id", "task_id", "chain_id", "category", "description", "result", "evidence", "timestamp"] },
  sql: `
    SELECT id                                   AS assertion_id,
           task_id,
           chain_id,
           category,
           description,
           result,
           ${jx("evidence", "$.command")}   AS command,
           ${jx("evidence", "$.exit_code")} AS exit_code,
           ${jx("evidence", "$.stderr")}    AS stderr,
           ${jx("evidence", "$.file_path")} AS file_path,
           timestamp
      FROM assertion_results
     WHERE execution_id = @execution_id
     ORDER BY CASE result WHEN 'fail' THEN 0 WHEN 'warn' THEN 1 WHEN 'skip' THEN 2 ELSE 3 END,
              timestamp, id`,
};

export const INVESTIGATION = [I001, I002, I003, I004, I005, I006, I007] as const;
