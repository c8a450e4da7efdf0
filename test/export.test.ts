import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { all, spawnCli, tmpDir } from "./helpers.js";

/** Every table's rows of one execution, in a stable order, without where they were ingested from. */
function snapshot(db: string, exec: string): Record<string, unknown[]> {
  const q: Record<string, string> = {
    task_list_execution_runs: `SELECT * FROM task_list_execution_runs WHERE id = @e`,
    tasks: `SELECT * FROM tasks WHERE execution_id = @e ORDER BY id`,
    task_dependencies: `SELECT * FROM task_dependencies WHERE task_id IN (SELECT id FROM tasks WHERE execution_id = @e) ORDER BY 1, 2`,
    parallel_execution_waves: `SELECT * FROM parallel_execution_waves WHERE execution_run_id = @e ORDER BY id`,
    wave_task_assignments: `SELECT * FROM wave_task_assignments WHERE wave_id IN (SELECT id FROM parallel_execution_waves WHERE execution_run_id = @e) ORDER BY 1, 2`,
    wave_statistics: `SELECT * FROM wave_statistics WHERE execution_id = @e ORDER BY wave_id`,
    transcript_entries: `SELECT * FROM transcript_entries WHERE execution_id = @e ORDER BY id`,
    tool_uses: `SELECT * FROM tool_uses WHERE execution_id = @e ORDER BY id`,
    skill_traces: `SELECT * FROM skill_traces WHERE execution_id = @e ORDER BY id`,
    assertion_chains: `SELECT * FROM assertion_chains WHERE execution_id = @e ORDER BY id`,
    assertion_results: `SELECT * FROM assertion_results WHERE execution_id = @e ORDER BY id`,
    events: `SELECT * FROM events WHERE execution_id = @e ORDER BY id`,
    message_bus_log: `SELECT * FROM message_bus_log WHERE execution_id = @e ORDER BY id`,
    build_agent_instances: `SELECT * FROM build_agent_instances WHERE execution_id = @e ORDER BY id`,
    agent_heartbeats: `SELECT * FROM agent_heartbeats WHERE execution_id = @e ORDER BY id`,
    llm_calls: `SELECT * FROM llm_calls WHERE execution_id = @e ORDER BY id`,
  };
  return Object.fromEntries(
    Object.entries(q).map(([t, sql]) => [t, all(db, sql, { e: exec }).map(({ source, created_at, ...r }) => (void source, void created_at, r))]),
  );
}

test("obs export --jsonl then ingest into an empty database gives the same rows", () => {
  const dir = tmpDir();
  const demo = path.join(dir, "demo.db");
  assert.equal(spawnCli(["demo", "--db", demo]).code, 0);
  for (const exec of ["exec-103", "exec-101"]) {
    const out = path.join(dir, `${exec}.jsonl`);
    const r = spawnCli(["export", exec, "--jsonl", "--output", out, "--db", demo]);
    assert.equal(r.code, 0, r.stderr);
    const copy = path.join(dir, `${exec}.db`);
    const ingest = spawnCli(["ingest", out, "--db", copy]);
    assert.equal(ingest.code, 0, ingest.stderr);
    const before = snapshot(demo, exec);
    const after = snapshot(copy, exec);
    for (const table of Object.keys(before)) {
      assert.ok(before[table]!.length > 0, `${exec}: ${table} has rows to compare`);
      assert.deepEqual(after[table], before[table], `${exec}: ${table} differs after the round trip`);
    }
    // And the questions asked of it have the same answers.
    assert.equal(spawnCli(["validate", exec, "--json", "--db", copy]).stdout, spawnCli(["validate", exec, "--json", "--db", demo]).stdout);
  }
  const none = spawnCli(["export", "exec-103", "--db", demo]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /choose the export format/);
});
