/**
 * The trace views as pure functions of rows: the tree (parents, loops, missing parents, a chain
 * 10,000 deep), filters keeping the nodes above what they keep, steps grouped by agent with
 * none dropped, headings and timelines on a 60-column terminal, and JSON too deep to indent.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { palette, type IO } from "../src/io.js";
import type { I001Row } from "../src/queries/investigation.js";
import type { ExecutionInfoRow, ExecutionTaskRow } from "../src/queries/listing.js";
import { heading } from "../src/render/heading.js";
import { deepJson } from "../src/render/output.js";
import { groupByAgent, renderTimeline } from "../src/render/timeline.js";
import { buildExecutionTree, countNodes, filterTree, renderTree, type TreeNode } from "../src/render/tree.js";

const c = palette(false);
const T = Date.parse("2026-01-16T11:00:00.000Z");

let seq = 0;
function step(id: string, o: Partial<I001Row> = {}): I001Row {
  seq++;
  return {
    sequence: seq, timestamp: new Date(T + seq * 1000).toISOString(), entry_type: "discovery", summary: id, duration_ms: null, status: null,
    entry_id: id, instance_id: null, category: "trace", tool_use_id: null, tool: null, within_skill: null, skill_trace_id: null, skill_name: null,
    assertion_id: null, task_id: null, replay_of: null, execution_id: "x", source_type: null, parent_ref: null, parent_entry_id: null, ...o,
  };
}
/** A step whose record names `parent`, found in the run (as L006 resolves it) unless `missing`. */
const child = (id: string, parent: string, o: Partial<I001Row> = {}) => step(id, { parent_ref: parent, parent_entry_id: o.parent_entry_id === undefined ? parent : o.parent_entry_id, ...o });

const exec: ExecutionInfoRow = { execution_id: "x", status: "failed", task_list_id: null, message: "the run", started_at: null, completed_at: null, duration_ms: 9000, step_count: 0, agent_count: 0, task_count: 0 };
const task = (id: string, o: Partial<ExecutionTaskRow> = {}): ExecutionTaskRow => ({
  task_id: id, display_id: null, title: `task ${id}`, status: "completed", started_at: null, completed_at: null, duration_ms: 1000, instance_id: null, step_count: 1,
  first_at: null, spawned_by_entry_id: null, replay_of: null, ...o,
});

/** The tree as "label [notes]" lines indented two spaces a level, to compare with a tree written by hand. */
function shape(n: TreeNode, depth = 0, out: string[] = []): string[] {
  out.push(`${"  ".repeat(depth)}${n.id ?? n.label}${n.notes.length ? ` [${n.notes.join("; ")}]` : ""}${n.context ? " (context)" : ""}`);
  for (const ch of n.children) shape(ch, depth + 1, out);
  return out;
}

test("steps nest under the parent their record names; a loop is broken at its earliest step, a self-parent and a missing parent said so; nothing dropped", () => {
  const steps = [
    child("A", "C"), child("B", "A"), child("C", "B"),
    child("D", "D"),
    child("E", "gone", { parent_entry_id: null }),
    child("F", "E"),
    step("G"),
  ];
  const tree = buildExecutionTree(exec, steps, []);
  assert.deepEqual(shape(tree), [
    "x",
    "  discovery: A [its parent link loops back: placed as if it had none]",
    "    discovery: B",
    "      discovery: C",
    "  discovery: D [its parent link loops back: placed as if it had none]",
    "  discovery: E [parent gone is not in the record]",
    "    discovery: F",
    "  discovery: G",
  ]);
  assert.equal(countNodes(tree), steps.length + 1);
});

test("a subagent's steps under the Task call that started it; skills hold their tool calls; tasks in the order they started; steps of no task under the run", () => {
  const steps = [
    step("untasked-1"),
    step("turn-start", { task_id: "turn" }),
    step("task-call", { task_id: "turn", tool_use_id: "toolu_T", tool: "Task", summary: "Task: find" }),
    child("sub-bash", "toolu_T", { task_id: "toolu_T", parent_entry_id: "task-call", tool_use_id: "b", tool: "Bash", summary: "Bash: ls" }),
    step("sub-text", { task_id: "toolu_T", summary: "found it" }),
    step("skill-in", { task_id: "turn", entry_type: "skill_invoke", skill_trace_id: "s1", skill_name: "codegen", status: "running" }),
    step("write", { task_id: "turn", tool_use_id: "w", tool: "Write", summary: "Write: a.ts", within_skill: "s1", status: "done", duration_ms: 5 }),
    step("skill-out", { task_id: "turn", entry_type: "skill_complete", skill_trace_id: "s1", status: "success", duration_ms: 40 }),
    step("untasked-2"),
  ];
  const tasks = [task("turn"), task("toolu_T", { spawned_by_entry_id: "task-call" }), task("empty", { step_count: 0 })];
  const tree = buildExecutionTree(exec, steps, tasks);
  assert.deepEqual(shape(tree), [
    "x",
    "  discovery: untasked-1",
    "  turn",
    "    discovery: turn-start",
    "    Task: find",
    "      Bash: ls",
    "      discovery: found it",
    "    skill codegen",
    "      Write: a.ts",
    "  discovery: untasked-2",
    "  empty",
  ]);
  const skill = tree.children[1]!.children[2]!;
  assert.deepEqual([skill.status, skill.duration_ms], ["success", 40], "the skill takes its completion's status and duration");
});

test("a filter keeps what passes and the nodes above it, marked as context", () => {
  const steps = [
    step("root"),
    child("step", "root"),
    child("ok", "step", { status: "done", duration_ms: 10, tool: "read_file", tool_use_id: "t1", entry_type: "tool_use" }),
    child("bad", "step", { entry_type: "error", status: "error", summary: "FileNotFoundError" }),
    child("slow", "root", { duration_ms: 2500 }),
  ];
  const tree = buildExecutionTree(exec, steps, []);
  const errors = filterTree(tree, { errors: true });
  assert.equal(errors.matched, 1);
  assert.deepEqual(shape(errors.tree), ["x", "  discovery: root (context)", "    discovery: step (context)", "      error: FileNotFoundError"]);
  assert.deepEqual(shape(filterTree(tree, { minMs: 1000 }).tree), ["x", "  discovery: root (context)", "    discovery: slow"]);
  assert.deepEqual(shape(filterTree(tree, { types: ["READ_FILE"] }).tree), ["x", "  discovery: root (context)", "    discovery: step (context)", "      ok"]);
  assert.deepEqual(shape(filterTree(tree, { types: ["nothing"] }).tree), ["x"]);
  assert.deepEqual(shape(tree).length, 6, "filtering leaves the tree it was given as it was");
});

test("a chain of 10,000 parent links: built, drawn to the width with its depth said past what can be indented, as JSON", () => {
  const steps = [step("n0"), ...Array.from({ length: 9_999 }, (_, i) => child(`n${i + 1}`, `n${i}`))];
  const tree = buildExecutionTree(exec, steps, []);
  assert.equal(countNodes(tree), 10_001);
  const text = renderTree(tree, c, 60);
  const lines = text.split("\n");
  assert.equal(lines.length, 10_001);
  for (const l of lines) assert.ok([...l].length <= 60, `wider than 60: ${l}`);
  assert.match(lines[10_000]!, /┊ 10000 └─ discovery: n9999$/);
  const limited = renderTree(tree, c, 60, { limit: 5 }).split("\n");
  assert.deepEqual(limited.slice(-1), ["… 9996 more nodes (--limit 10001 shows them all)"]);
  // Too deep for JSON.stringify's stack: still exact JSON, the same as a shallow tree would give.
  assert.throws(() => JSON.stringify(tree), RangeError);
  let depth = 0;
  for (let n = JSON.parse(deepJson(tree)) as TreeNode; n.children.length; n = n.children[0]!) depth++;
  assert.equal(depth, 10_000);
  const small = buildExecutionTree(exec, steps.slice(0, 3), []);
  assert.equal(deepJson(small), JSON.stringify(small));
});

test("grouped by agent: each task under the agent that made most of it, each agent's untasked steps apart, no-agent steps last, none dropped", () => {
  const steps = [
    step("s1"),
    step("t1-start", { task_id: "t1" }),
    step("t1-llm", { task_id: "t1", instance_id: "coder" }),
    step("coder-note", { instance_id: "coder" }),
    step("t2", { task_id: "t2", instance_id: "reviewer" }),
    step("s2"),
  ];
  const tasks = [task("t1", { instance_id: "coder" }), task("t2", { instance_id: "reviewer" }), task("t3", { step_count: 0 })];
  const groups = groupByAgent(steps, tasks);
  assert.deepEqual(groups.map((g) => [g.instance_id, g.tasks.map((t) => `${t.task.task_id}:${t.steps.map((s) => s.entry_id).join(",")}`), g.steps.map((s) => s.entry_id)]), [
    ["coder", ["t1:t1-start,t1-llm"], ["coder-note"]],
    ["reviewer", ["t2:t2"], []],
    [null, ["t3:"], ["s1", "s2"]],
  ]);
  const placed = groups.flatMap((g) => [...g.steps, ...g.tasks.flatMap((t) => t.steps)]).map((s) => s.entry_id).sort();
  assert.deepEqual(placed, steps.map((s) => s.entry_id).sort());
  assert.deepEqual(groupByAgent(steps, tasks, { emptyTasks: false }).at(-1)!.tasks, []);
});

function io(columns: number): IO {
  return { out: () => {}, err: () => {}, isTTY: true, errIsTTY: false, columns, color: false, env: {}, stdin: Readable.from([]) };
}

test("on 60 columns a timeline and a heading fit, cutting words but never a time, a duration or an id", () => {
  const id = "9b2f4c1e-7d3a-4e6b-8f10-2a5c6d7e8f90";
  const rows = [
    step("a", { summary: "A summary long enough that it cannot fit in sixty columns", duration_ms: 123_456, status: "done", entry_type: "tool_use", instance_id: id, task_id: "task-with-a-long-id-0001" }),
    step("b", { summary: "short", duration_ms: 999, status: "error (replayed)", entry_type: "error", instance_id: "b", task_id: "t" }),
  ];
  const text = renderTimeline(rows, io(60), c, { agent: true, task: true });
  for (const l of text.split("\n")) assert.ok(l.length <= 60, `wider than 60: ${l}`);
  assert.match(text, / \d\d:\d\d:\d\d\.000 /);
  assert.match(text, /2m 03s/);
  assert.match(text, /999ms/);
  const wide = renderTimeline(rows, io(200), c, { agent: true, task: true });
  assert.match(wide, new RegExp(id), "with room, the agent and task columns are there, whole");
  assert.match(wide, /█/, "and the duration's bar");

  const h = heading([{ text: `Run ${id}`, keep: true }, { text: "failed", keep: true }, { text: "2026-01-16 11:00:00 · 9.5s", keep: true }, { text: "A task described at some length by its producer" }], 60);
  for (const l of h.split("\n")) assert.ok(l.length <= 60, `wider than 60: ${l}`);
  assert.ok(h.includes(`Run ${id}`) && h.includes("2026-01-16 11:00:00 · 9.5s"));
  assert.equal(h.split("\n")[1], "  2026-01-16 11:00:00 · 9.5s  A task described at some …", "what does not fit goes on the next line, cut after a word to its room");
  const tooLong = heading([{ text: `x`.repeat(70), keep: true }, { text: "y" }], 60);
  assert.equal(tooLong.split("\n")[0], "x".repeat(70), "an id wider than the terminal is still whole");
});

test("on 60 columns a deep tree keeps each step's type and its status, duration and notes whole: what does not share the label's line goes under it", () => {
  // Twelve levels of skill_complete steps, each 12.3 s and failed, the deepest replayed from another run.
  const steps = [step("n0", { entry_type: "skill_complete", summary: "Skill validation failed: Error: connect ECONNREFUSED 127.0.0.1:5432", status: "failed", duration_ms: 12_300 }),
    ...Array.from({ length: 11 }, (_, i) => child(`n${i + 1}`, `n${i}`, { entry_type: "skill_complete", summary: "Skill validation failed: Error: connect ECONNREFUSED 127.0.0.1:5432", status: "failed", duration_ms: 12_300, ...(i === 10 ? { replay_of: "exec-before" } : {}) }))];
  const lines = renderTree(buildExecutionTree(exec, steps, []), c, 60).split("\n");
  for (const l of lines) assert.ok([...l].length <= 60, `wider than 60: ${l}`);
  const typed = lines.filter((l) => l.includes("skill_"));
  assert.equal(typed.length, 12);
  for (const l of typed) assert.match(l, /skill_complete: /, `the type whole: ${l}`);
  // Each node's status and duration, on its line or the one under it, whole.
  assert.equal(lines.filter((l) => /\bfailed {2}12\.3s\b/.test(l)).length, 12, lines.join("\n"));
  assert.ok(lines.map((l) => l.replace(/^[│├└─┊\d ]+/, "")).join(" ").includes("(replayed from exec-before)"), "the note whole");
  // A moved tail hangs under its node, inside the tree's lines: the deepest node's comes after it, indented further.
  const last = lines.length - 1 - [...lines].reverse().findIndex((l) => l.includes("└─ skill_complete"));
  assert.match(lines[last + 1]!, /^[│┊\d ]+ {6}failed {2}12\.3s$/, `under its node: ${lines.slice(last, last + 3).join("\n")}`);
});
