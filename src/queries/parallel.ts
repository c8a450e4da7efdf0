import { MS, REF_CTE, REF_NEEDS, needs } from "./fragments.js";
import { parseJson } from "./run.js";
import type { Query } from "./types.js";

/** P — Parallel execution: waves, agents, and what they did at the same time. */

const TERMINAL_AGENT = "('completed', 'failed', 'terminated')";

export interface P001Row {
  wave_number: number; status: string | null; started_at: string | null; completed_at: string | null;
  total_tasks: number; completed: number; failed: number; running: number; pass_rate: number | null; wave_id: string;
}
export const P001: Query<P001Row> = {
  id: "P001",
  family: "Parallel",
  title: "Wave progress",
  description: "Each wave's state: status, timing, its tasks by status, and the pass rate of their assertions.",
  arg: "execution",
  executionScoped: true,
  needs: {
    parallel_execution_waves: ["id", "execution_run_id", "wave_number", "status", "started_at", "completed_at"],
    wave_task_assignments: ["wave_id", "task_id"],
    tasks: ["id", "status"],
    assertion_results: ["task_id", "result"],
  },
  sql: `
    WITH w AS (
      SELECT * FROM parallel_execution_waves WHERE execution_run_id = @execution_id
    ),
    assigned AS (
      SELECT a.wave_id, a.task_id, t.status
        FROM wave_task_assignments a
        JOIN w ON w.id = a.wave_id
        LEFT JOIN tasks t ON t.id = a.task_id
    )
    SELECT w.wave_number,
           w.status,
           w.started_at,
           w.completed_at,
           (SELECT COUNT(*) FROM assigned a WHERE a.wave_id = w.id)                          AS total_tasks,
           (SELECT COUNT(*) FROM assigned a WHERE a.wave_id = w.id AND a.status = 'completed') AS completed,
           (SELECT COUNT(*) FROM assigned a WHERE a.wave_id = w.id AND a.status = 'failed')    AS failed,
           (SELECT COUNT(*) FROM assigned a WHERE a.wave_id = w.id AND a.status = 'running')   AS running,
           (SELECT ROUND(1.0 * SUM(r.result = 'pass') / NULLIF(SUM(r.result <> 'skip'), 0), 4)
              FROM assertion_results r
             WHERE r.task_id IN (SELECT task_id FROM assigned a WHERE a.wave_id = w.id))       AS pass_rate,
           w.id AS wave_id
      FROM w
     ORDER BY w.wave_number`,
};

const SILENT = { name: "silent_ms", description: "no heartbeat for longer than this is silent", default: 300_000 };

export interface P002Row { instance_id: string; status: string | null; current_task_id: string | null; last_heartbeat_at: string | null; silent_ms: number }
export const P002: Query<P002Row> = {
  id: "P002",
  family: "Parallel",
  title: "Silent agents",
  description: "Agents not in a terminal status that sent no heartbeat for longer than the threshold, measured from the run's last event (or now while it runs).",
  arg: "execution",
  executionScoped: true,
  options: [SILENT],
  needs: needs(REF_NEEDS, { build_agent_instances: ["id", "execution_id", "status", "task_id", "last_heartbeat_at", "spawned_at"] }),
  sql: `
    WITH ${REF_CTE},
    silence AS (
      SELECT a.id AS instance_id,
             a.status,
             a.task_id AS current_task_id,
             a.last_heartbeat_at,
             ${MS("(SELECT ref_at FROM ref)", "COALESCE(a.last_heartbeat_at, a.spawned_at)")} AS silent_ms
        FROM build_agent_instances a
       WHERE a.execution_id = @execution_id
         AND a.status NOT IN ${TERMINAL_AGENT}
    )
    SELECT instance_id, status, current_task_id, last_heartbeat_at, silent_ms
      FROM silence
     WHERE silent_ms > @silent_ms
     ORDER BY silent_ms DESC`,
};

export interface P003Row { wave_number: number | null; file_path: string; agents: string[]; tasks: string[]; writes: number }
export const P003: Query<P003Row> = {
  id: "P003",
  family: "Parallel",
  title: "File conflicts",
  description: "Files written (Write, Edit, …) by two or more agents in the same wave.",
  arg: "execution",
  executionScoped: true,
  needs: {
    tool_uses: ["execution_id", "tool_category", "input", "transcript_entry_id", "wave_id", "task_id"],
    transcript_entries: ["id", "instance_id", "wave_number"],
    parallel_execution_waves: ["id", "wave_number"],
  },
  sql: `
    WITH writes AS (
      SELECT COALESCE(w.wave_number, te.wave_number)        AS wave_number,
             json_extract(tu.input, '$.file_path')          AS file_path,
             te.instance_id,
             tu.task_id
        FROM tool_uses tu
        LEFT JOIN transcript_entries te       ON te.id = tu.transcript_entry_id
        LEFT JOIN parallel_execution_waves w  ON w.id  = tu.wave_id
       WHERE tu.execution_id = @execution_id
         AND +tu.tool_category = 'file_write'
         AND json_valid(tu.input)
    )
    SELECT wave_number,
           file_path,
           json_group_array(DISTINCT instance_id) AS agents,
           json_group_array(DISTINCT task_id)     AS tasks,
           COUNT(*)                               AS writes
      FROM writes
     WHERE file_path IS NOT NULL
       AND instance_id IS NOT NULL
     GROUP BY wave_number, file_path
    HAVING COUNT(DISTINCT instance_id) >= 2
     ORDER BY wave_number, file_path`,
  shape: (r) => ({ ...r, agents: parseJson(r.agents), tasks: parseJson(r.tasks) }) as P003Row,
};

/** Tasks of the execution with their wave and agent; a task still running ends at the reference time. */
const WAVE_TASKS_CTE = `
  ${REF_CTE},
  wave_tasks AS (
    SELECT w.id            AS wave_id,
           w.wave_number,
           w.started_at    AS wave_started_at,
           w.completed_at  AS wave_completed_at,
           t.id            AS task_id,
           t.status,
           COALESCE(a.instance_id, t.id) AS agent,
           t.started_at,
           COALESCE(t.completed_at, (SELECT ref_at FROM ref)) AS ended_at
      FROM parallel_execution_waves w
      JOIN wave_task_assignments a ON a.wave_id = w.id
      JOIN tasks t                 ON t.id = a.task_id
     WHERE w.execution_run_id = @execution_id
       AND t.started_at IS NOT NULL
  )`;
const WAVE_TASKS_NEEDS = needs(REF_NEEDS, {
  parallel_execution_waves: ["id", "execution_run_id", "wave_number", "started_at", "completed_at"],
  wave_task_assignments: ["wave_id", "task_id", "instance_id"],
  tasks: ["id", "status", "started_at", "completed_at"],
});

export interface P004Row { wave_number: number; agents: number; wall_ms: number | null; busy_ms: number | null; efficiency: number | null }
export const P004: Query<P004Row> = {
  id: "P004",
  family: "Parallel",
  title: "Parallel efficiency",
  description: "Per wave: busy task time ÷ (wave wall time × agents) — 1.0 means every agent worked the whole wave.",
  arg: "execution",
  executionScoped: true,
  needs: WAVE_TASKS_NEEDS,
  sql: `
    WITH ${WAVE_TASKS_CTE},
    per_wave AS (
      SELECT wave_number,
             COUNT(DISTINCT agent)                                          AS agents,
             ${MS("COALESCE(MAX(wave_completed_at), MAX(ended_at))", "COALESCE(MIN(wave_started_at), MIN(started_at))")} AS wall_ms,
             SUM(${MS("ended_at", "started_at")})                             AS busy_ms
        FROM wave_tasks
       GROUP BY wave_id
    )
    SELECT wave_number,
           agents,
           wall_ms,
           busy_ms,
           ROUND(1.0 * busy_ms / NULLIF(wall_ms * agents, 0), 4) AS efficiency
      FROM per_wave
     ORDER BY wave_number`,
};

export interface P005Row { wave_number: number; task_id: string; status: string | null; duration_ms: number; median_ms: number; ratio: number | null }
export const P005: Query<P005Row> = {
  id: "P005",
  family: "Parallel",
  title: "Wave bottlenecks",
  description: "Each wave's slowest task, and any other at least the given ratio above the wave's median task duration.",
  arg: "execution",
  executionScoped: true,
  options: [{ name: "min_ratio", description: "also list tasks this many times the median or more", default: 2 }],
  needs: WAVE_TASKS_NEEDS,
  sql: `
    WITH ${WAVE_TASKS_CTE},
    timed AS (
      SELECT wave_id, wave_number, task_id, status, ${MS("ended_at", "started_at")} AS duration_ms
        FROM wave_tasks
    ),
    ranked AS (
      SELECT t.*,
             (SELECT percentile(duration_ms, 50) FROM timed m WHERE m.wave_id = t.wave_id)  AS median_ms,
             ROW_NUMBER() OVER (PARTITION BY wave_id ORDER BY duration_ms DESC, task_id)    AS rank_in_wave
        FROM timed t
    )
    SELECT wave_number,
           task_id,
           status,
           duration_ms,
           CAST(ROUND(median_ms) AS INTEGER)                 AS median_ms,
           ROUND(duration_ms / NULLIF(median_ms, 0), 2)      AS ratio
      FROM ranked
     WHERE rank_in_wave = 1
        OR duration_ms >= @min_ratio * median_ms
     ORDER BY wave_number, duration_ms DESC`,
};

export interface P006Row { task_a: string; task_b: string; overlap_ms: number; wave_number: number | null; wave_number_b: number | null; agent_a: string; agent_b: string }
export const P006: Query<P006Row> = {
  id: "P006",
  family: "Parallel",
  title: "Concurrent tasks",
  description: "Pairs of tasks that ran at the same time, with how long they overlapped (the wave of each).",
  arg: "execution",
  executionScoped: true,
  needs: WAVE_TASKS_NEEDS,
  sql: `
    WITH ${WAVE_TASKS_CTE}
    SELECT a.task_id AS task_a,
           b.task_id AS task_b,
           ${MS("MIN(a.ended_at, b.ended_at)", "MAX(a.started_at, b.started_at)")} AS overlap_ms,
           a.wave_number,
           b.wave_number AS wave_number_b,
           a.agent AS agent_a,
           b.agent AS agent_b
      FROM wave_tasks a
      JOIN wave_tasks b ON a.task_id < b.task_id
                       AND a.started_at < b.ended_at
                       AND b.started_at < a.ended_at
     ORDER BY overlap_ms DESC, a.task_id, b.task_id`,
};

export interface P007Row { instance_id: string; spawned_at: string | null; ended_at: string | null; status: string | null; tasks: number; heartbeats: number; lifetime_ms: number | null; task_id: string | null; last_heartbeat_at: string | null }
export const P007: Query<P007Row> = {
  id: "P007",
  family: "Parallel",
  title: "Agent lifecycle",
  description: "Each agent's life: spawned, ended, final status, tasks worked, heartbeats sent and lifetime (to the reference time while alive).",
  arg: "execution",
  executionScoped: true,
  needs: needs(REF_NEEDS, {
    build_agent_instances: ["id", "execution_id", "spawned_at", "completed_at", "status", "task_id", "last_heartbeat_at"],
    agent_heartbeats: ["instance_id", "current_task_id"],
  }),
  sql: `
    WITH ${REF_CTE}
    SELECT a.id                                             AS instance_id,
           a.spawned_at,
           CASE WHEN a.status IN ${TERMINAL_AGENT} THEN COALESCE(a.completed_at, a.last_heartbeat_at) END AS ended_at,
           a.status,
           (SELECT COUNT(*) FROM (SELECT h.current_task_id FROM agent_heartbeats h
                                   WHERE h.instance_id = a.id AND h.current_task_id IS NOT NULL
                                  UNION
                                  SELECT a.task_id WHERE a.task_id IS NOT NULL))           AS tasks,
           (SELECT COUNT(*) FROM agent_heartbeats h WHERE h.instance_id = a.id)            AS heartbeats,
           ${MS(`CASE WHEN a.status IN ${TERMINAL_AGENT} THEN COALESCE(a.completed_at, a.last_heartbeat_at) ELSE (SELECT ref_at FROM ref) END`, "a.spawned_at")} AS lifetime_ms,
           a.task_id,
           a.last_heartbeat_at
      FROM build_agent_instances a
     WHERE a.execution_id = @execution_id
     ORDER BY a.spawned_at, a.id`,
};

export const PARALLEL = [P001, P002, P003, P004, P005, P006, P007] as const;
