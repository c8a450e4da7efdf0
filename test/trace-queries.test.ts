/**
 * The trace queries: a run's steps in time order whatever worked them (L006), its tasks with
 * their agent and spawning call (L007), its header (L005), and the parent link of each step as
 * its record names it, resolved within its execution — on a run of 10,000 steps, read in one
 * pass of each table (the plans checked), and on links that are scoped, missing or loop.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { openReadOnly } from "../src/db/open.js";
import { I001 } from "../src/queries/investigation.js";
import { L005, L006, L007 } from "../src/queries/listing.js";
import { at, dbWith, line, rows } from "./query-helpers.js";

const STEPS = 10_000;

/** A run of 10,000 steps and no agent or task: tool calls (every 97th failing) between notes, beside a second run. */
function bigRun(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [line("big", 0, "execution:status", { status: "started" })];
  for (let i = 0; i < STEPS / 2; i++) {
    out.push(line("big", i, "tool:start", { tool_use_id: `tu-${i}`, tool: "Read", input: { file_path: `src/f${i}.ts` } }));
    out.push(line("big", i + 0.5, "tool:end", { tool_use_id: `tu-${i}`, is_error: i % 97 === 0 }));
    out.push(line("big", i + 0.5, "transcript:entry", { entry_type: "discovery", category: "note", summary: `note ${i}` }));
  }
  for (let i = 0; i < 2000; i++) {
    out.push(line("other", i, "tool:start", { tool_use_id: `o-${i}`, tool: "Bash", input: { command: "true" } }));
    out.push(line("other", i + 1, "tool:end", { tool_use_id: `o-${i}`, is_error: false }));
  }
  return out;
}

test("a run of 10,000 steps without agents or tasks: every step once, in time order, each with its tool call", async () => {
  const db = await dbWith(bigRun());
  const steps = rows(db, L006, { execution_id: "big" });
  assert.equal(steps.length, STEPS);
  assert.equal(new Set(steps.map((s) => s.entry_id)).size, STEPS, "each entry once");
  for (let i = 1; i < steps.length; i++) assert.ok(steps[i - 1]!.timestamp <= steps[i]!.timestamp, `time order at ${i}`);
  assert.equal(steps.filter((s) => s.tool_use_id !== null).length, STEPS / 2);
  // i = 0, 97, …, 4947: 52 failures, worked out as ⌈5000 / 97⌉.
  assert.equal(steps.filter((s) => s.status === "error").length, Math.ceil(5000 / 97));
  assert.deepEqual({ ...steps[0] }, {
    sequence: 1, timestamp: at(0), entry_type: "tool_use", summary: "Read: src/f0.ts", duration_ms: 500, status: "error", entry_id: steps[0]!.entry_id,
    instance_id: null, category: "tool", tool_use_id: "tu-0", tool: "Read", within_skill: null, skill_trace_id: null, skill_name: null, assertion_id: null,
    task_id: null, replay_of: null, execution_id: "big", source_type: null, parent_ref: null, parent_entry_id: null,
  });
  const [info] = rows(db, L005, { execution_id: "big" });
  assert.deepEqual({ ...info }, {
    execution_id: "big", status: "started", task_list_id: null, message: null, started_at: at(0), completed_at: null,
    duration_ms: (STEPS / 2 - 0.5) * 1000, step_count: STEPS, agent_count: 0, task_count: 0,
  });
  assert.deepEqual(rows(db, L007, { execution_id: "big" }), []);
});

test("the execution timeline and a task's trace are read through their scope's index and primary keys, never a scan of a big table", async () => {
  const db = await dbWith([
    ...bigRun(),
    line("big", 1, "task:status", { task_id: "t1", status: "running" }),
    line("big", 2, "tool:start", { task_id: "t1", tool_use_id: "t1-tool", tool: "Bash", input: { command: "ls" } }),
  ]);
  const d = openReadOnly(db);
  try {
    for (const [q, params] of [[L006, { execution_id: "big" }], [I001, { task_id: "t1" }], [L007, { execution_id: "big" }]] as const) {
      const plan = (d.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(params) as { detail: string }[]).map((r) => r.detail);
      const scans = plan.filter((p) => /^SCAN (transcript_entries|tool_uses|assertion_results|skill_traces|te|tu|ar|st)\b/.test(p));
      assert.deepEqual(scans, [], `${q.id} scans a table:\n${plan.join("\n")}`);
      // Joined to an entry by its tool call, never a tool call looked for among the run's for every entry.
      assert.ok(!plan.some((p) => /USING INDEX idx_\w+_(execution|task) \((execution|task)_id=\?\) LEFT-JOIN/.test(p)), `${q.id}: ${plan.join("\n")}`);
    }
    const plan = (d.prepare(`EXPLAIN QUERY PLAN ${L006.sql}`).all({ execution_id: "big" }) as { detail: string }[]).map((r) => r.detail).join("\n");
    assert.match(plan, /SEARCH tool_uses USING INDEX idx_tool_use_execution \(execution_id=\?\)/);
    assert.match(plan, /SEARCH te USING INDEX idx_transcript_exec(_sequence|ution) \(execution_id=\?\)/);
  } finally {
    d.close();
  }
});

test("parent links: a tool call's parent call, an entry's parent trace or span, resolved within the execution; one not there keeps its reference", async () => {
  const e = (exec: string, s: number, id: string, details: Record<string, unknown> = {}) =>
    line(exec, s, "transcript:entry", { entry_id: id, entry_type: "discovery", category: "trace", summary: id, details });
  const lines = [
    e("r1", 0, "root"),
    e("r1", 1, "child", { parent_trace_id: "root" }),
    line("r1", 2, "tool:start", { tool_use_id: "call", tool: "Task", input: { description: "sub" }, entry_id: "call-entry" }),
    line("r1", 3, "tool:start", { tool_use_id: "inner", tool: "Bash", input: { command: "ls" }, parent_tool_use_id: "call" }),
    e("r1", 4, "under-call", { parent_span_id: "call" }),
    e("r1", 5, "orphan", { parent_trace_id: "gone" }),
    e("r1", 6, "numbered", { parent_id: 42 }),
    // The same producer ids in a second run: its own rows, its links to its own.
    e("r2", 10, "root"),
    e("r2", 11, "child", { parent_trace_id: "root" }),
  ];
  const db = await dbWith(lines);
  const link = (exec: string) => Object.fromEntries(rows(db, L006, { execution_id: exec }).map((s) => [s.summary, [s.parent_ref, s.parent_entry_id]]));
  assert.deepEqual(link("r1"), {
    root: [null, null],
    child: ["root", "root"],
    "Task: sub": [null, null],
    "Bash: ls": ["call", "call-entry"],
    "under-call": ["call", "call-entry"],
    orphan: ["gone", null],
    numbered: ["42", null],
  });
  assert.deepEqual(link("r2"), { root: [null, null], child: ["root", "root@r2"] });
});

test("tasks of an execution: each with the agent that made most of its steps, the call that started it, in the order they started", async () => {
  const db = await dbWith([
    line("x", 0, "task:status", { task_id: "turn-1", status: "running", title: "First prompt" }),
    line("x", 1, "transcript:entry", { task_id: "turn-1", entry_type: "task_start", category: "user", summary: "go" }),
    line("x", 2, "tool:start", { task_id: "turn-1", instance_id: "main", tool_use_id: "toolu_T", tool: "Task", input: { description: "Find" } }),
    line("x", 3, "tool:start", { task_id: "toolu_T", instance_id: "sub", tool_use_id: "toolu_B", tool: "Bash", input: { command: "ls" }, parent_tool_use_id: "toolu_T" }),
    line("x", 4, "transcript:entry", { task_id: "toolu_T", instance_id: "sub", entry_type: "discovery", category: "assistant", summary: "found" }),
    line("x", 5, "transcript:entry", { task_id: "named-only", entry_type: "discovery", category: "x", summary: "no task row" }),
    line("x", 6, "task:status", { task_id: "turn-1", status: "completed" }),
  ]);
  const tasks = rows(db, L007, { execution_id: "x" }).map((t) => [t.task_id, t.instance_id, t.step_count, t.title, t.status, t.spawned_by_entry_id !== null]);
  assert.deepEqual(tasks, [
    ["turn-1", "main", 2, "First prompt", "completed", false],
    ["toolu_T", "sub", 2, null, null, true],
    ["named-only", null, 1, null, null, false],
  ]);
});
