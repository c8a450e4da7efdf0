import { test } from "node:test";
import assert from "node:assert/strict";
import { T001, T002, T003, T004, T005, T006 } from "../src/queries/troubleshooting.js";
import { I001, I002, I003, I004, I005, I006, I007 } from "../src/queries/investigation.js";
import { at, cleanRun, dbWith, line, rows } from "./query-helpers.js";

const E = (s: number, kind: string, f: Record<string, unknown> = {}) => line("e", s, kind, f);

/** One error of every kind, at known seconds. */
const errorsFixture = () => [
  E(0, "execution:status", { status: "started" }),
  E(1, "tool:start", { tool_use_id: "tu-err", tool: "Bash", input: { command: "npm test" }, task_id: "t1" }),
  E(2, "tool:end", { tool_use_id: "tu-err", is_error: true, error_message: "exit 1", task_id: "t1" }),
  E(3, "transcript:entry", { entry_type: "error", category: "failure", summary: "tests broke", task_id: "t1", instance_id: "a1", id: "te-err" }),
  E(4, "skill:start", { skill_trace_id: "sk", skill_name: "validation", skill_file: "f", line_number: 1, section_title: "s", task_id: "t1" }),
  E(5, "skill:end", { skill_trace_id: "sk", status: "failed", error: "checks failed" }),
  E(6, "assertion:result", { assertion_id: "as-f", task_id: "t1", category: "tests_pass", description: "tests pass", result: "fail" }),
  E(7, "messagebus:event", { event_id: "ev-e", source: "a1", event_type: "x", severity: "error", human_summary: "bus error", task_id: "t1" }),
  E(7, "messagebus:event", { event_id: "ev-i", source: "a1", event_type: "x", severity: "info", human_summary: "just info" }),
  E(8, "messagebus:event", { event_id: "ev-c", source: "sup", event_type: "y", severity: "critical", human_summary: "critical!" }),
  E(9, "agent:heartbeat", { instance_id: "a1", status: "failed", current_task_id: "t1", metrics: { error: "OOM" } }),
  E(10, "task:status", { task_id: "t1", status: "failed", title: "Do it", display_id: "T-1" }),
  E(11, "tool:start", { tool_use_id: "tu-blk", tool: "Bash", input: { command: "rm -rf /" }, task_id: "t2" }),
  E(11.5, "tool:blocked", { tool_use_id: "tu-blk", reason: "security policy" }),
  E(20, "execution:status", { status: "failed" }),
];

test("T001 lists every kind of error in time order", async () => {
  const db = await dbWith(errorsFixture());
  assert.deepEqual(rows(db, T001, { execution_id: "e" }), [
    { error_type: "tool_error", source: "Bash", occurred_at: at(2), details: "exit 1", task_id: "t1", id: "tu-err" },
    { error_type: "error_entry", source: "a1", occurred_at: at(3), details: "tests broke", task_id: "t1", id: "te-err" },
    { error_type: "skill_failed", source: "validation", occurred_at: at(5), details: "checks failed", task_id: "t1", id: "sk" },
    { error_type: "assertion_failed", source: "tests_pass", occurred_at: at(6), details: "tests pass", task_id: "t1", id: "as-f" },
    { error_type: "bus_error", source: "a1", occurred_at: at(7), details: "bus error", task_id: "t1", id: "mbl-ev-e" },
    { error_type: "bus_critical", source: "sup", occurred_at: at(8), details: "critical!", task_id: null, id: "mbl-ev-c" },
    { error_type: "agent_failed", source: "a1", occurred_at: at(9), details: "OOM", task_id: "t1", id: "a1" },
    { error_type: "task_failed", source: "T-1", occurred_at: at(10), details: "Do it", task_id: "t1", id: "t1" },
  ]);
});

test("T002 lists blocked commands", async () => {
  const db = await dbWith(errorsFixture());
  assert.deepEqual(rows(db, T002, { execution_id: "e" }), [
    { tool_use_id: "tu-blk", tool: "Bash", input_summary: "rm -rf /", block_reason: "security policy", occurred_at: at(11.5), task_id: "t2" },
  ]);
});

test("T003 finds the root of the first cascade, skipping an isolated earlier error", async () => {
  const err = (s: number, id: string) => E(s, "transcript:entry", { entry_type: "error", category: "f", summary: `error ${id}`, id });
  const db = await dbWith([err(0, "lonely"), err(100, "root"), err(130, "second"), err(150, "third"), err(300, "later")]);
  assert.deepEqual(rows(db, T003, { execution_id: "e" }), [
    { id: "root", error_type: "error_entry", occurred_at: at(100), details: "error root", task_id: null, followed_by: 2, span_ms: 50_000 },
  ]);
  // A narrower window breaks the cascade: 30 s apart is too far, 20 s is not.
  assert.deepEqual(rows(db, T003, { execution_id: "e" }, { window_ms: 25_000 }).map((r) => [r.id, r.followed_by]), [["second", 1]]);
  const only = await dbWith([err(0, "a"), err(500, "b")]);
  assert.deepEqual(rows(only, T003, { execution_id: "e" }).map((r) => [r.id, r.followed_by, r.span_ms]), [["a", 0, 0]]);
});

test("T004 finds what started and never finished, open until the run's last event", async () => {
  const db = await dbWith([
    E(0, "execution:status", { status: "started" }),
    E(1, "tool:start", { tool_use_id: "tu-open", tool: "Bash", input: { command: "sleep" }, task_id: "t1" }),
    E(2, "skill:start", { skill_trace_id: "sk-open", skill_name: "gen", skill_file: "f", line_number: 1, section_title: "s", task_id: "t1" }),
    E(3, "assertion:chain_start", { chain_id: "ch-open", task_id: "t1", description: "checks" }),
    E(4, "task:status", { task_id: "t1", status: "running", title: "Long task" }),
    E(5, "agent:heartbeat", { instance_id: "a1", status: "working", current_task_id: "t1" }),
    E(6, "transcript:entry", { entry_type: "lock_acquire", category: "c", summary: "l", instance_id: "a1", task_id: "t1", details: { file_path: "f.ts", state: "acquired" }, id: "lk" }),
    E(7, "tool:start", { tool_use_id: "tu-done", tool: "Read", input: {} }),
    E(8, "tool:end", { tool_use_id: "tu-done", is_error: false }),
    E(60, "execution:status", { status: "failed" }),
  ]);
  assert.deepEqual(rows(db, T004, { execution_id: "e" }), [
    { op_type: "tool_use", id: "tu-open", started_at: at(1), open_ms: 59_000, task_id: "t1", detail: "Bash: sleep" },
    { op_type: "skill", id: "sk-open", started_at: at(2), open_ms: 58_000, task_id: "t1", detail: "gen" },
    { op_type: "assertion_chain", id: "ch-open", started_at: at(3), open_ms: 57_000, task_id: "t1", detail: "checks" },
    { op_type: "task", id: "t1", started_at: at(4), open_ms: 56_000, task_id: "t1", detail: "Long task" },
    { op_type: "agent", id: "a1", started_at: at(5), open_ms: 55_000, task_id: "t1", detail: "status working" },
    { op_type: "lock", id: "lk", started_at: at(6), open_ms: 54_000, task_id: "t1", detail: "f.ts held by a1" },
  ]);
  // While the run is still going, "open" is measured to now.
  const running = await dbWith([E(0, "execution:status", { status: "running" }), E(1, "tool:start", { tool_use_id: "x", tool: "Bash", input: {} })]);
  assert.equal(rows(running, T004, { execution_id: "e", now: at(101) })[0]!.open_ms, 100_000);
});

test("T005 finds the same failure repeated", async () => {
  const fail = (s: number, id: string, task: string, msg: string) => [
    E(s, "tool:start", { tool_use_id: id, tool: "Bash", input: {}, task_id: task }),
    E(s + 1, "tool:end", { tool_use_id: id, is_error: true, error_message: msg }),
  ];
  const db = await dbWith([
    ...fail(0, "a", "t1", "ECONNREFUSED"), ...fail(10, "b", "t2", "ECONNREFUSED"), ...fail(20, "c", "t1", "other"),
    E(30, "assertion:result", { assertion_id: "r1", task_id: "t3", category: "lint_passes", description: "lint", result: "fail" }),
    E(40, "assertion:result", { assertion_id: "r2", task_id: "t3", category: "lint_passes", description: "lint", result: "fail" }),
    E(50, "assertion:result", { assertion_id: "r3", task_id: "t3", category: "lint_passes", description: "lint", result: "pass" }),
  ]);
  assert.deepEqual(rows(db, T005, { execution_id: "e" }), [
    { signature: "tool Bash: ECONNREFUSED", count: 2, first_at: at(1), last_at: at(11), task_ids: ["t1", "t2"] },
    { signature: "assertion lint_passes: lint", count: 2, first_at: at(30), last_at: at(40), task_ids: ["t3"] },
  ]);
});

test("T006 explains why a task is blocked", async () => {
  const db = await dbWith([
    E(0, "execution:status", { status: "running" }),
    E(0, "task:status", { task_id: "t1", status: "running", title: "Dependency" }),
    E(0, "task:status", { task_id: "t0", status: "completed", title: "Done dependency" }),
    E(0, "task:status", { task_id: "t2", status: "blocked", title: "Blocked one", file_path: "src/shared.ts", depends_on: ["t1", "t0"] }),
    E(1, "transcript:entry", { entry_type: "lock_acquire", category: "c", summary: "l", instance_id: "a1", task_id: "t1", details: { file_path: "src/shared.ts", state: "acquired" }, id: "lk-a1" }),
    E(2, "assertion:result", { assertion_id: "r-f", task_id: "t2", category: "tests_pass", description: "tests pass", result: "fail" }),
    E(3, "tool:start", { tool_use_id: "tu-b", tool: "Bash", input: { command: "curl x | sh" }, task_id: "t2" }),
    E(4, "tool:blocked", { tool_use_id: "tu-b", reason: "piping to a shell" }),
    E(5, "agent:heartbeat", { instance_id: "a2", status: "blocked", current_task_id: "t2" }),
  ]);
  assert.deepEqual(rows(db, T006, { task_id: "t2", now: at(10) }), [
    { blocker_type: "dependency", detail: "t1 is running: Dependency", since: at(0), ref_id: "t1" },
    { blocker_type: "lock_held", detail: "src/shared.ts held by a1 (task t1)", since: at(1), ref_id: "lk-a1" },
    { blocker_type: "failing_assertion", detail: "tests_pass: tests pass", since: at(2), ref_id: "r-f" },
    { blocker_type: "blocked_tool", detail: "Bash curl x | sh — piping to a shell", since: at(4), ref_id: "tu-b" },
    { blocker_type: "agent_blocked", detail: "a2 is blocked", since: at(5), ref_id: "a2" },
  ]);
});

test("I001 traces a task's entries with their tool, skill and assertion details", async () => {
  const db = await dbWith(cleanRun());
  const trace = rows(db, I001, { task_id: "exec-clean-t1" }).map((r) => [r.sequence, r.entry_type, r.status, r.duration_ms, r.tool_use_id, r.skill_trace_id]);
  assert.deepEqual(trace, [
    [1, "skill_invoke", "success", null, null, "exec-clean-s1"],
    [2, "lock_acquire", null, null, null, null],
    [3, "tool_use", "done", 1000, "exec-clean-tu1", null],
    [4, "lock_release", null, null, null, null],
    [5, "skill_complete", "success", 5000, null, "exec-clean-s1"],
    [8, "assertion", "pass", null, null, null],
  ]);
  assert.equal(rows(db, I001, { task_id: "exec-clean-t1" })[2]!.within_skill, "exec-clean-s1");
  assert.deepEqual(rows(db, I001, { task_id: "no-such-task" }), []);
});

test("I002 summarises each tool", async () => {
  const call = (s: number, id: string, tool: string, ms: number, end: "ok" | "err" | "blocked") => [
    E(s, "tool:start", { tool_use_id: id, tool, input: {} }),
    end === "blocked" ? E(s + ms / 1000, "tool:blocked", { tool_use_id: id, reason: "no" }) : E(s + ms / 1000, "tool:end", { tool_use_id: id, is_error: end === "err" }),
  ];
  const db = await dbWith([...call(0, "r1", "Read", 100, "ok"), ...call(1, "r2", "Read", 300, "ok"), ...call(2, "b1", "Bash", 1000, "err"), ...call(5, "b2", "Bash", 20, "blocked")]);
  assert.deepEqual(rows(db, I002, { execution_id: "e" }), [
    { tool: "Bash", calls: 2, errors: 1, blocked: 1, error_rate: 0.5, avg_ms: 510, min_ms: 20, max_ms: 1000 },
    { tool: "Read", calls: 2, errors: 0, blocked: 0, error_rate: 0, avg_ms: 200, min_ms: 100, max_ms: 300 },
  ]);
});

test("I003 summarises each skill", async () => {
  const skill = (s: number, id: string, status: string, dur: number) => [
    E(s, "skill:start", { skill_trace_id: id, skill_name: "validation", skill_file: "f", line_number: 1, section_title: "s" }),
    E(s + dur, "skill:end", { skill_trace_id: id, status }),
  ];
  const db = await dbWith([
    ...skill(0, "s1", "success", 2), ...skill(10, "s2", "failed", 4), ...skill(20, "s3", "partial", 6),
    E(1, "tool:start", { tool_use_id: "x1", tool: "Bash", input: {}, within_skill: "s1" }),
    E(11, "tool:start", { tool_use_id: "x2", tool: "Bash", input: {}, within_skill: "s2" }),
    E(12, "tool:start", { tool_use_id: "x3", tool: "Bash", input: {}, within_skill: "s2" }),
  ]);
  assert.deepEqual(rows(db, I003, { execution_id: "e" }), [
    { skill_name: "validation", invocations: 3, success: 1, partial: 1, failed: 1, running: 0, avg_ms: 4000, avg_tool_calls: 1 },
  ]);
});

test("I004 counts reads, writes and edits per file", async () => {
  const t = (s: number, id: string, tool: string, input: Record<string, unknown>, task: string, agent: string) =>
    E(s, "tool:start", { tool_use_id: id, tool, input, task_id: task, instance_id: agent });
  const db = await dbWith([
    t(0, "1", "Read", { file_path: "a.ts" }, "t1", "a1"), t(1, "2", "Write", { file_path: "a.ts" }, "t1", "a1"),
    t(2, "3", "Edit", { file_path: "a.ts" }, "t2", "a2"), t(3, "4", "Grep", { pattern: "foo", path: "src" }, "t2", "a2"),
    t(4, "5", "Bash", { command: "ls" }, "t2", "a2"),
  ]);
  assert.deepEqual(rows(db, I004, { execution_id: "e" }), [
    { file_path: "a.ts", reads: 1, writes: 1, edits: 1, tasks: 2, agents: 2, last_access: at(2) },
    { file_path: "src", reads: 1, writes: 0, edits: 0, tasks: 1, agents: 1, last_access: at(3) },
  ]);
});

test("I005 follows a correlation id across executions in time order", async () => {
  const bus = (exec: string, s: number, id: string, corr: string) =>
    line(exec, s, "messagebus:event", { event_id: id, source: "s", event_type: "t", severity: "info", human_summary: id, correlation_id: corr });
  const db = await dbWith([bus("e2", 5, "later", "c1"), bus("e1", 1, "first", "c1"), bus("e1", 2, "unrelated", "c2")]);
  assert.deepEqual(rows(db, I005, { correlation_id: "c1" }).map((r) => [r.human_summary, r.execution_id]), [["first", "e1"], ["later", "e2"]]);
});

test("I006 reconstructs decisions with options, choice and reason", async () => {
  const db = await dbWith(cleanRun());
  assert.deepEqual(rows(db, I006, { execution_id: "exec-clean" }).map(({ entry_id, timestamp, ...r }) => (void entry_id, void timestamp, r)), [
    { sequence: 7, task_id: "exec-clean-t2", summary: "Use express", options: ["express", "fastify"], chosen: "express", reason: "already a dependency", instance_id: "exec-clean-a2" },
  ]);
});

test("I007 unpacks assertion evidence, failures first", async () => {
  const db = await dbWith([
    E(0, "assertion:result", { assertion_id: "p", task_id: "t", category: "file_created", description: "d", result: "pass", evidence: { file_path: "a.ts" } }),
    E(1, "assertion:result", { assertion_id: "s", task_id: "t", category: "lint_passes", description: "d", result: "skip" }),
    E(2, "assertion:result", { assertion_id: "f", task_id: "t", category: "tests_pass", description: "d", result: "fail", evidence: { command: "npm test", exit_code: 1, stderr: "boom" } }),
  ]);
  assert.deepEqual(rows(db, I007, { execution_id: "e" }).map((r) => [r.assertion_id, r.result, r.command, r.exit_code, r.stderr, r.file_path]), [
    ["f", "fail", "npm test", 1, "boom", null],
    ["s", "skip", null, null, null, null],
    ["p", "pass", null, null, null, "a.ts"],
  ]);
});
