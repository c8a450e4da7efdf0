/**
 * "Statuses with a time (runs, tasks, agents) keep the latest" (docs/events.md), in whatever
 * order the lines come — their completion times too. A subagent's completion is told twice, by
 * the session (as it echoes the subagent) and by the subagent's own file, at different moments;
 * which file is read first must not decide when it completed (nor may an export, which writes
 * the lines back in time order, change it).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { all, spawnCli, tmpDir, writeJsonl } from "./helpers.js";

const T1 = "2026-03-01T10:00:05.000Z";
const T2 = "2026-03-01T10:00:09.000Z";
const base = (kind: string, timestamp: string, f: Record<string, unknown>) => ({ kind, execution_id: "run-1", timestamp, ...f });
/** Each thing ends twice: failed at T1, completed at T2. */
const early = [
  base("execution:status", T1, { status: "failed" }),
  base("task:status", T1, { task_id: "t-1", status: "failed" }),
  base("agent:heartbeat", T1, { instance_id: "ag-1", status: "failed" }),
];
const late = [
  base("execution:status", T2, { status: "completed" }),
  base("task:status", T2, { task_id: "t-1", status: "completed" }),
  base("agent:heartbeat", T2, { instance_id: "ag-1", status: "completed" }),
];
const start = [
  base("execution:status", "2026-03-01T10:00:00.000Z", { status: "started" }),
  base("task:status", "2026-03-01T10:00:00.000Z", { task_id: "t-1", status: "running" }),
  base("agent:heartbeat", "2026-03-01T10:00:00.000Z", { instance_id: "ag-1", status: "working" }),
];

function rowsAfter(files: object[][]): Record<string, unknown>[] {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const paths = files.map((lines, i) => writeJsonl(path.join(dir, `${i}.jsonl`), lines));
  // One ingest per file, in the order given: the second file's lines come after the first's.
  for (const p of paths) assert.equal(spawnCli(["ingest", p, "--db", db]).code, 0);
  return all(db, `
    SELECT 'run' AS what, status, completed_at FROM task_list_execution_runs
    UNION ALL SELECT 'task', status, completed_at FROM tasks
    UNION ALL SELECT 'agent', status, completed_at FROM build_agent_instances
    ORDER BY what`);
}

test("a run's, a task's and an agent's completion is the latest, whichever line is read first", () => {
  const want = [
    { what: "agent", status: "completed", completed_at: T2 },
    { what: "run", status: "completed", completed_at: T2 },
    { what: "task", status: "completed", completed_at: T2 },
  ];
  assert.deepEqual(rowsAfter([[...start, ...early, ...late]]), want, "in time order");
  assert.deepEqual(rowsAfter([[...start, ...late, ...early]]), want, "the later end read first, in one file");
  assert.deepEqual(rowsAfter([[...start, ...late], early]), want, "the later end read first, in another file");
});
