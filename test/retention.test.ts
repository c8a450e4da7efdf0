import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { all, spawnCli, tmpDir } from "./helpers.js";

const TABLES = [
  "transcript_entries", "tool_uses", "skill_traces", "assertion_results", "assertion_chains", "message_bus_log", "events",
  "llm_calls", "agent_heartbeats", "build_agent_instances", "tasks", "parallel_execution_waves", "task_list_execution_runs",
];

test("obs prune removes whole executions older than an age, everything that belongs to them, and nothing else", () => {
  const db = path.join(tmpDir(), "demo.db");
  assert.equal(spawnCli(["demo", "--db", db]).code, 0);
  const env = { OBS_NOW: "2026-11-21T00:00:00.000Z" };
  const rowsOf = (exec: string) =>
    Object.fromEntries(TABLES.map((t) => [t, all(db, `SELECT COUNT(*) AS n FROM ${t} WHERE ${t === "parallel_execution_waves" ? "execution_run_id" : t === "task_list_execution_runs" ? "id" : "execution_id"} = ?`, exec)[0]!.n]));
  const kept = rowsOf("exec-102");

  const dry = spawnCli(["prune", "--older-than", "2d", "--dry-run", "--db", db, "--json"], { env });
  assert.equal(dry.code, 0, dry.stderr);
  const plan = JSON.parse(dry.stdout);
  assert.deepEqual(plan.executions, ["exec-101"], "the demo's runs end on Nov 18, 19 and 20; two days before Nov 21 leaves Nov 18");
  assert.equal(plan.dry_run, true);
  assert.ok(plan.rows_total > 1000);
  assert.ok((rowsOf("exec-101").transcript_entries as number) > 0, "a dry run changes nothing");

  const real = spawnCli(["prune", "--older-than", "2d", "--db", db], { env });
  assert.equal(real.code, 0, real.stderr);
  assert.match(real.stdout, /^removed 1 execution last active before 2026-11-19 00:00:00 \([\d,]+ rows\)\n {2}exec-101 /);
  for (const [table, n] of Object.entries(rowsOf("exec-101"))) assert.equal(n, 0, `${table} still holds exec-101 rows`);
  assert.equal(all(db, `SELECT COUNT(*) AS n FROM wave_task_assignments WHERE wave_id LIKE 'wave-101-%'`)[0]!.n, 0);
  assert.equal(all(db, `SELECT COUNT(*) AS n FROM task_dependencies WHERE task_id LIKE 'task-101-%'`)[0]!.n, 0);
  assert.deepEqual(rowsOf("exec-102"), kept, "other executions keep every row");
  assert.equal(spawnCli(["validate", "exec-102", "--db", db]).code, 0);

  // A stored retention is what prune applies by default; --vacuum gives the space back.
  assert.equal(spawnCli(["prune", "--db", db]).code, 2, "no age and no retention: obs asks");
  assert.match(spawnCli(["prune", "--db", db]).stderr, /obs config retention 30/);
  assert.match(spawnCli(["config", "retention", "1", "--db", db]).stdout, /retention: 1 days/);
  assert.deepEqual(JSON.parse(spawnCli(["config", "--db", db, "--json"]).stdout), { retention_days: 1, max_cost_usd: null, max_tokens: null, max_duration_ms: null, max_errors: null, max_loops: null });
  const vacuumed = JSON.parse(spawnCli(["prune", "--vacuum", "--db", db, "--json"], { env }).stdout);
  assert.deepEqual(vacuumed.executions, ["exec-102"]);
  assert.ok(vacuumed.bytes_after < vacuumed.bytes_before, `${vacuumed.bytes_after} < ${vacuumed.bytes_before}`);
  assert.deepEqual(JSON.parse(spawnCli(["ls", "--db", db, "--json"]).stdout).map((r: { execution_id: string }) => r.execution_id), ["exec-103"]);
  assert.equal(spawnCli(["config", "colour", "on", "--db", db]).code, 2);
});
