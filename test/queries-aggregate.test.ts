import { test } from "node:test";
import assert from "node:assert/strict";
import { A001, A002, A003, A004, A005, A006 } from "../src/queries/aggregation.js";
import { P001, P002, P003, P004, P005, P006, P007 } from "../src/queries/parallel.js";
import { D001, D002, D003, D004, D005, D006 } from "../src/queries/detection.js";
import { at, cleanRun, dbWith, line, rows } from "./query-helpers.js";

const E = (s: number, kind: string, f: Record<string, unknown> = {}) => line("e", s, kind, f);

test("A001 sums up an execution", async () => {
  const db = await dbWith(cleanRun());
  assert.deepEqual(rows(db, A001, { execution_id: "exec-clean" }), [{
    execution_id: "exec-clean", task_list_id: "tl-clean", status: "completed", started_at: at(0), completed_at: at(24), duration_ms: 24_000,
    tasks: 2, tasks_completed: 2, tasks_failed: 0, tool_calls: 2, errors: 0, blocked: 0, assertions: 1, pass_rate: 1, skills: 1, agents: 2,
    waves: 1, input_tokens: 1000, output_tokens: 200, cache_read_tokens: null, cache_write_tokens: null, cache_write_1h_tokens: null,
    reasoning_tokens: null, total_tokens: 1200, cost_usd: 0.006, model_calls: 1, model_calls_unpriced: 0,
    // A run of its own: it carries nothing of another's record.
    replayed_model_calls: 0, replayed_input_tokens: null, replayed_output_tokens: null, replayed_cache_read_tokens: null,
    replayed_cache_write_tokens: null, replayed_cache_write_1h_tokens: null, replayed_cost_usd: null, replayed_tool_calls: 0, replayed_entries: 0,
  }]);
});

test("A001's total_tokens is every kind of token the run's own calls used, and null when no call said any", async () => {
  const db = await dbWith([
    E(0, "execution:status", { status: "running" }),
    E(1, "llm:call", { call_id: "c1", model: "m", input_tokens: 10, output_tokens: 5, cache_read_tokens: 1000, cache_write_tokens: 200 }),
    E(2, "llm:call", { call_id: "c2", model: "m", input_tokens: 0, output_tokens: 0, cache_write_1h_tokens: 40 }),
  ]);
  // 10 + 5 + 1000 + 200 + 40, worked out by hand: cache writes of both kinds count.
  assert.equal(rows(db, A001, { execution_id: "e" })[0]!.total_tokens, 1255);
  const none = await dbWith([E(0, "execution:status", { status: "running" })]);
  assert.equal(rows(none, A001, { execution_id: "e" })[0]!.total_tokens, null);
});

test("A002 groups tasks by status with share and mean time", async () => {
  const task = (s: number, id: string, status: string, dur: number) => [
    E(s, "task:status", { task_id: id, status: "running" }),
    E(s + dur, "task:status", { task_id: id, status }),
  ];
  const db = await dbWith([...task(0, "a", "completed", 10), ...task(0, "b", "completed", 20), ...task(0, "c", "failed", 5), E(0, "task:status", { task_id: "d", status: "pending" })]);
  assert.deepEqual(rows(db, A002, { execution_id: "e" }), [
    { status: "completed", count: 2, pct: 50, avg_ms: 15_000 },
    { status: "failed", count: 1, pct: 25, avg_ms: 5_000 },
    { status: "pending", count: 1, pct: 25, avg_ms: null },
  ]);
});

test("A003 counts activity per hour", async () => {
  const db = await dbWith([
    E(0, "tool:start", { tool_use_id: "x", tool: "Read", input: {} }),
    E(3600, "transcript:entry", { entry_type: "error", category: "c", summary: "e" }),
    E(3601, "transcript:entry", { entry_type: "checkpoint", category: "c", summary: "c" }),
  ]);
  assert.deepEqual(rows(db, A003, { execution_id: "e" }), [
    { hour: "2026-01-16T09:00Z", entries: 1, tool_calls: 1, errors: 0 },
    { hour: "2026-01-16T10:00Z", entries: 2, tool_calls: 0, errors: 1 },
  ]);
});

test("A004 gives the pass rate per category, skips left out", async () => {
  const r = (s: number, id: string, category: string, result: string) => E(s, "assertion:result", { assertion_id: id, task_id: "t", category, description: "d", result });
  const db = await dbWith([r(0, "1", "lint", "pass"), r(1, "2", "lint", "fail"), r(2, "3", "lint", "skip"), r(3, "4", "tests", "pass")]);
  assert.deepEqual(rows(db, A004, { execution_id: "e" }), [
    { category: "lint", total: 3, passed: 1, failed: 1, skipped: 1, pass_rate: 0.5 },
    { category: "tests", total: 1, passed: 1, failed: 0, skipped: 0, pass_rate: 1 },
  ]);
});

test("A005 gives duration percentiles per tool", async () => {
  // Read takes 100, 200, …, 1000 ms: p50 = 550 (interpolated), p90 = 910, p99 = 991, max 1000.
  const lines = Array.from({ length: 10 }, (_, i) => [
    E(i * 10, "tool:start", { tool_use_id: `r${i}`, tool: "Read", input: {} }),
    E(i * 10 + (i + 1) / 10, "tool:end", { tool_use_id: `r${i}`, is_error: false }),
  ]).flat();
  const db = await dbWith(lines);
  assert.deepEqual(rows(db, A005, { execution_id: "e" }), [{ tool: "Read", calls: 10, p50_ms: 550, p90_ms: 910, p99_ms: 991, max_ms: 1000 }]);
});

test("A006 sets the runs of a task list side by side", async () => {
  const db = await dbWith([...cleanRun("run-1", "tl", 0), ...cleanRun("run-2", "tl", 100), ...cleanRun("other", "tl-2", 50)]);
  const compared = rows(db, A006, { task_list_id: "tl" }).map((r) => [r.execution_id, r.started_at, r.duration_ms, r.tasks_completed, r.errors, r.pass_rate, r.tool_calls, r.cost_usd]);
  assert.deepEqual(compared, [
    ["run-1", at(0), 24_000, 2, 0, 1, 2, 0.006],
    ["run-2", at(100), 24_000, 2, 0, 1, 2, 0.006],
  ]);
  assert.deepEqual(rows(db, A006, {}).map((r) => r.execution_id), ["run-1", "run-2", "other"]);
});

/** Two waves: the first with two agents working 10 s and 20 s of a 20 s wave, one writing a shared file. */
function wavesFixture() {
  const task = (s: number, id: string, agent: string, wave: string, dur: number, status = "completed") => [
    E(s, "task:status", { task_id: id, status: "running", instance_id: agent, wave_id: wave }),
    ...(status === "running" ? [] : [E(s + dur, "task:status", { task_id: id, status, instance_id: agent, wave_id: wave })]),
  ];
  const write = (s: number, id: string, agent: string, task: string, wave: string, file: string) =>
    E(s, "tool:start", { tool_use_id: id, tool: "Edit", input: { file_path: file }, instance_id: agent, task_id: task, wave_id: wave });
  return [
    E(0, "execution:status", { status: "started" }),
    E(0, "wave:status", { wave_id: "w1", wave_number: 1, status: "running", task_ids: ["t1", "t2"] }),
    ...task(0, "t1", "a1", "w1", 10),
    ...task(0, "t2", "a2", "w1", 20),
    write(1, "x1", "a1", "t1", "w1", "shared.ts"),
    write(2, "x2", "a2", "t2", "w1", "shared.ts"),
    write(3, "x3", "a2", "t2", "w1", "own.ts"),
    E(0, "assertion:result", { assertion_id: "r1", task_id: "t1", category: "c", description: "d", result: "pass" }),
    E(1, "assertion:result", { assertion_id: "r2", task_id: "t2", category: "c", description: "d", result: "fail" }),
    E(20, "wave:status", { wave_id: "w1", wave_number: 1, status: "completed" }),
    E(21, "wave:status", { wave_id: "w2", wave_number: 2, status: "running", task_ids: ["t3", "t4", "t5"] }),
    ...task(21, "t3", "a3", "w2", 5),
    ...task(21, "t4", "a4", "w2", 6),
    ...task(21, "t5", "a5", "w2", 0, "running"),
    E(21, "agent:heartbeat", { instance_id: "a5", status: "working", current_task_id: "t5" }),
    E(22, "agent:heartbeat", { instance_id: "a3", status: "working", current_task_id: "t3" }),
    E(26, "agent:heartbeat", { instance_id: "a3", status: "completed", current_task_id: "t3" }),
    E(400, "execution:status", { status: "failed" }),
  ];
}

test("P001 shows each wave's state", async () => {
  const db = await dbWith(wavesFixture());
  assert.deepEqual(rows(db, P001, { execution_id: "e" }).map(({ wave_id, ...r }) => (void wave_id, r)), [
    { wave_number: 1, status: "completed", started_at: at(0), completed_at: at(20), total_tasks: 2, completed: 2, failed: 0, running: 0, pass_rate: 0.5 },
    { wave_number: 2, status: "running", started_at: at(21), completed_at: null, total_tasks: 3, completed: 2, failed: 0, running: 1, pass_rate: null },
  ]);
});

test("P002 finds agents silent past the threshold, from the run's last event", async () => {
  const db = await dbWith(wavesFixture());
  assert.deepEqual(rows(db, P002, { execution_id: "e" }), [
    { instance_id: "a5", status: "working", current_task_id: "t5", last_heartbeat_at: at(21), silent_ms: 379_000 },
  ]);
  assert.deepEqual(rows(db, P002, { execution_id: "e" }, { silent_ms: 400_000 }), []);
});

test("P003 finds a file written by two agents in one wave", async () => {
  const db = await dbWith(wavesFixture());
  assert.deepEqual(rows(db, P003, { execution_id: "e" }), [{ wave_number: 1, file_path: "shared.ts", agents: ["a1", "a2"], tasks: ["t1", "t2"], writes: 2 }]);
});

test("P004 measures parallel efficiency per wave", async () => {
  const db = await dbWith(wavesFixture());
  // Wave 1: (10 s + 20 s) busy ÷ (20 s × 2 agents) = 0.75. Wave 2 runs to the run's end (400 s):
  // busy 5 + 6 + 379 = 390 s over 379 s × 3 agents.
  assert.deepEqual(rows(db, P004, { execution_id: "e" }), [
    { wave_number: 1, agents: 2, wall_ms: 20_000, busy_ms: 30_000, efficiency: 0.75 },
    { wave_number: 2, agents: 3, wall_ms: 379_000, busy_ms: 390_000, efficiency: 0.343 },
  ]);
});

test("P005 finds each wave's slowest task against its median", async () => {
  const db = await dbWith(wavesFixture());
  assert.deepEqual(rows(db, P005, { execution_id: "e" }), [
    { wave_number: 1, task_id: "t2", status: "completed", duration_ms: 20_000, median_ms: 15_000, ratio: 1.33 },
    { wave_number: 2, task_id: "t5", status: "running", duration_ms: 379_000, median_ms: 6_000, ratio: 63.17 },
  ]);
});

test("P006 pairs tasks that overlapped", async () => {
  const db = await dbWith(wavesFixture());
  assert.deepEqual(rows(db, P006, { execution_id: "e" }).map((r) => [r.task_a, r.task_b, r.overlap_ms, r.wave_number]), [
    ["t1", "t2", 10_000, 1],
    ["t4", "t5", 6_000, 2],
    ["t3", "t4", 5_000, 2],
    ["t3", "t5", 5_000, 2],
  ]);
});

test("P007 follows each agent's life", async () => {
  const db = await dbWith(wavesFixture());
  assert.deepEqual(rows(db, P007, { execution_id: "e" }).map((r) => [r.instance_id, r.spawned_at, r.ended_at, r.status, r.tasks, r.heartbeats, r.lifetime_ms]), [
    ["a5", at(21), null, "working", 1, 1, 379_000],
    ["a3", at(22), at(26), "completed", 1, 2, 4_000],
  ]);
});

test("D001 finds a tool call far slower than its tool's mean", async () => {
  const lines = [1, 1, 1, 1, 1, 1, 1, 30].map((sec, i) => [
    E(i * 100, "tool:start", { tool_use_id: `g${i}`, tool: "Grep", input: { pattern: "x" } }),
    E(i * 100 + sec, "tool:end", { tool_use_id: `g${i}`, is_error: false }),
  ]).flat();
  const db = await dbWith(lines);
  // Mean = (7 × 1 s + 30 s) / 8 = 4.625 s; 30 s is 6.49× it. Nothing else reaches 3×.
  assert.deepEqual(rows(db, D001, { execution_id: "e" }), [{ tool_use_id: "g7", tool: "Grep", duration_ms: 30_000, avg_ms: 4625, ratio: 6.49, task_id: null, input_summary: "x" }]);
});

test("D002 finds runs of three or more errors close together", async () => {
  const err = (s: number, id: string, task: string) => E(s, "transcript:entry", { entry_type: "error", category: "c", summary: id, id, task_id: task });
  const db = await dbWith([err(0, "a", "t1"), err(30, "b", "t2"), err(80, "c", "t1"), err(500, "d", "t3"), err(510, "e", "t3")]);
  assert.deepEqual(rows(db, D002, { execution_id: "e" }), [
    { started_at: at(0), ended_at: at(80), errors: 3, first_error: "error_entry: a", first_error_id: "a", task_ids: ["t1", "t2"], span_ms: 80_000 },
  ]);
  assert.equal(rows(db, D002, { execution_id: "e" }, { min_errors: 2 }).length, 2);
});

test("D003 finds assertions that passed before, in this run or an earlier one", async () => {
  const run = (exec: string, s: number, results: Record<string, string>) => [
    line(exec, s, "execution:status", { status: "started", task_list_id: "tl" }),
    line(exec, s, "task:status", { task_id: `${exec}-t`, status: "running", display_id: "T-1" }),
    ...Object.entries(results).map(([desc, result], i) =>
      line(exec, s + i + 1, "assertion:result", { assertion_id: `${exec}-${i}`, task_id: `${exec}-t`, category: "tests_pass", description: desc, result })),
  ];
  const db = await dbWith([
    ...run("r1", 0, { login: "pass", signup: "fail" }),
    ...run("r2", 100, { login: "fail", signup: "fail", logout: "pass", logout2: "fail" }),
  ]);
  assert.deepEqual(rows(db, D003, { execution_id: "r2" }), [
    { task_id: "r2-t", category: "tests_pass", description: "login", passed_at: at(1), failed_at: at(101), passed_in: "r1", assertion_id: "r2-0" },
  ]);
  assert.deepEqual(rows(db, D003, { execution_id: "r1" }), [], "the first run has nothing earlier to regress from");
  // Within one run: the same assertion of the same task passing then failing.
  const same = await dbWith([
    E(0, "assertion:result", { assertion_id: "p", task_id: "t", category: "lint", description: "lint", result: "pass" }),
    E(5, "assertion:result", { assertion_id: "f", task_id: "t", category: "lint", description: "lint", result: "fail" }),
  ]);
  assert.deepEqual(rows(same, D003, { execution_id: "e" }).map((r) => [r.assertion_id, r.passed_at, r.passed_in]), [["f", at(0), "e"]]);
});

test("D004 finds a minute far busier than the run's others", async () => {
  const entries = [
    ...Array.from({ length: 30 }, (_, m) => E(m * 60, "transcript:entry", { entry_type: "checkpoint", category: "c", summary: "tick" })),
    ...Array.from({ length: 30 }, (_, i) => E(300 + i, "transcript:entry", { entry_type: "checkpoint", category: "c", summary: "burst" })),
  ];
  const db = await dbWith(entries);
  // 30 minutes of 1 entry each, except minute 5 with 31: mean 60 / 30 = 2, variance
  // (29 × 1 + 961) / 30 − 4 = 29, σ ≈ 5.39; 31 is above 2 + 3σ ≈ 18.2. (With only ten minutes no
  // single minute could ever be 3σ out: its z-score is at most 9 / √10.)
  assert.deepEqual(rows(db, D004, { execution_id: "e" }), [{ minute: "2026-01-16T09:05:00Z", entries: 31, mean: 2, stddev: 5.39 }]);
});

test("D005 finds resources never given back", async () => {
  const db = await dbWith([
    E(0, "transcript:entry", { entry_type: "lock_acquire", category: "c", summary: "l", instance_id: "a1", details: { file_path: "f.ts", state: "acquired" } }),
    E(1, "agent:heartbeat", { instance_id: "a2", status: "idle", current_task_id: "t2" }),
    E(2, "skill:start", { skill_trace_id: "sk", skill_name: "n", skill_file: "f", line_number: 1, section_title: "s", instance_id: "a1" }),
    E(3, "assertion:chain_start", { chain_id: "ch", task_id: "t1" }),
    E(4, "agent:heartbeat", { instance_id: "a3", status: "terminated" }),
  ]);
  assert.deepEqual(rows(db, D005, { execution_id: "e" }), [
    { resource_type: "lock", id: "f.ts", allocated_at: at(0), owner: "a1" },
    { resource_type: "agent", id: "a2", allocated_at: at(1), owner: "t2" },
    { resource_type: "skill", id: "sk", allocated_at: at(2), owner: "a1" },
    { resource_type: "assertion_chain", id: "ch", allocated_at: at(3), owner: "t1" },
  ]);
});

test("D006 finds agents waiting on each other in a cycle, once", async () => {
  const wait = (exec: string, s: number, agent: string, file: string, holder: string) =>
    line(exec, s, "transcript:entry", { entry_type: "lock_acquire", category: "c", summary: "wait", instance_id: agent, details: { file_path: file, state: "waiting", held_by: holder } });
  const db = await dbWith([
    wait("e", 0, "a1", "x.ts", "a2"), wait("e", 1, "a2", "y.ts", "a1"),
    // A three-agent cycle elsewhere.
    wait("f", 0, "b1", "p", "b2"), wait("f", 1, "b2", "q", "b3"), wait("f", 2, "b3", "r", "b1"),
    // A wait that ended in the lock being acquired is no deadlock.
    wait("g", 0, "c1", "m", "c2"), wait("g", 1, "c2", "n", "c1"),
    line("g", 2, "transcript:entry", { entry_type: "lock_acquire", category: "c", summary: "got it", instance_id: "c1", details: { file_path: "m", state: "acquired" } }),
  ]);
  assert.deepEqual(rows(db, D006, {}), [
    { execution_id: "e", cycle: "a1 → a2 → a1", files: "x.ts, y.ts", agents: 2 },
    { execution_id: "f", cycle: "b1 → b2 → b3 → b1", files: "p, q, r", agents: 3 },
  ]);
});
