import type { Palette } from "../io.js";
import type { I001Row } from "../queries/investigation.js";
import type { ExecutionInfoRow, ExecutionTaskRow, TaskInfoRow } from "../queries/listing.js";
import { passes, type StepFilter } from "./filter.js";
import { cutAtWord, displayWidth, fmtMs, wrapWords } from "./format.js";
import { statusColor } from "./timeline.js";

/** One node of a trace tree: the run or task at its root, tasks, skills and steps below. */
export interface TreeNode {
  kind: "execution" | "task" | "skill" | "step";
  /** An id shown whole (the execution's, a task's); steps are known by their summary. */
  id: string | null;
  label: string;
  status: string | null;
  duration_ms: number | null;
  timestamp: string | null;
  entry_type: string | null;
  category: string | null;
  source_type: string | null;
  tool: string | null;
  entry_id: string | null;
  tool_use_id: string | null;
  task_id: string | null;
  instance_id: string | null;
  replay_of: string | null;
  /** What a reader must know of where it stands: history replayed from another run, a parent not in the record, a parent link that loops. */
  notes: string[];
  /** Shown only to place what a filter kept below it (it did not pass the filter itself). */
  context?: boolean;
  children: TreeNode[];
}

const blank = (kind: TreeNode["kind"], id: string | null, label: string): TreeNode => ({
  kind, id, label, status: null, duration_ms: null, timestamp: null, entry_type: null, category: null, source_type: null, tool: null,
  entry_id: null, tool_use_id: null, task_id: null, instance_id: null, replay_of: null, notes: [], children: [],
});

function stepNode(r: I001Row): TreeNode {
  const skill = r.entry_type === "skill_invoke" && r.skill_trace_id !== null;
  const label = skill ? `skill ${r.skill_name ?? r.skill_trace_id}` : r.tool_use_id ? (r.summary ?? r.tool ?? r.tool_use_id) : `${r.entry_type}: ${r.summary ?? ""}`;
  return {
    ...blank(skill ? "skill" : "step", null, label),
    status: r.status, duration_ms: r.duration_ms, timestamp: r.timestamp, entry_type: r.entry_type, category: r.category, source_type: r.source_type, tool: r.tool,
    entry_id: r.entry_id, tool_use_id: r.tool_use_id, task_id: r.task_id, instance_id: r.instance_id, replay_of: r.replay_of,
    // History a resumed or forked run carries from another: there, and said so.
    notes: r.replay_of ? [`replayed from ${r.replay_of}`] : [],
  };
}

const LOOP = "its parent link loops back: placed as if it had none";

/** A node being placed: where it may go, best first (its record's parent, its skill, its task, the root). */
interface Placing {
  node: TreeNode;
  order: number;
  candidates: TreeNode[];
  pick: number;
}

/**
 * Nests steps under the parent their record names (a trace's parent trace, a tool call's
 * parent call, an OpenTelemetry span's parent), else under the skill they ran in, else under
 * their task (a subagent's task is the Task call that started it), else under the root. A
 * parent that is not among the steps is said so; a parent link that loops back is broken at
 * the loop's earliest step, which is placed as if it had none. Nothing is dropped.
 */
function nest(
  root: TreeNode,
  steps: I001Row[],
  taskOf: (taskId: string | null, byEntry: ReadonlyMap<string, TreeNode>) => TreeNode | null,
  tasks: Placing[],
  outside: string,
): void {
  const byEntry = new Map<string, TreeNode>();
  const skills = new Map<string, TreeNode>();
  const placing: Placing[] = [...tasks];
  const pending: { p: Placing; r: I001Row }[] = [];
  steps.forEach((r, i) => {
    if (r.entry_type === "skill_complete" && r.skill_trace_id && skills.has(r.skill_trace_id)) {
      const node = skills.get(r.skill_trace_id)!;
      node.status = r.status;
      node.duration_ms = r.duration_ms;
      byEntry.set(r.entry_id, node);
      return;
    }
    const node = stepNode(r);
    if (node.kind === "skill") skills.set(r.skill_trace_id!, node);
    byEntry.set(r.entry_id, node);
    const p: Placing = { node, order: 2 * i + 1, candidates: [], pick: 0 };
    placing.push(p);
    pending.push({ p, r });
  });
  for (const { p, r } of pending) {
    const named = r.parent_entry_id !== null ? byEntry.get(r.parent_entry_id) : undefined;
    if (named === p.node) p.node.notes.push(LOOP);
    else if (r.parent_ref !== null && !named) {
      p.node.notes.push(r.parent_entry_id !== null ? `parent ${r.parent_ref} is ${outside}` : `parent ${r.parent_ref} is not in the record`);
    }
    const skill = r.within_skill !== null ? skills.get(r.within_skill) : undefined;
    const task = taskOf(r.task_id, byEntry);
    p.candidates = [named, skill, task ?? undefined, root].filter((n, i, all): n is TreeNode => n !== undefined && n !== p.node && all.indexOf(n) === i);
  }
  placeLoopFree(root, placing);
  placing.sort((a, b) => a.order - b.order);
  for (const p of placing) p.candidates[p.pick]!.children.push(p.node);
}

/**
 * Chooses each node's parent so that following parents always reaches the root: a walk up
 * that meets a node already on it has found a loop, broken where the loop's earliest node
 * gives up its first choice. Iterative, so a chain of any depth is fine.
 */
function placeLoopFree(root: TreeNode, placing: Placing[]): void {
  const of = new Map<TreeNode, Placing>(placing.map((p) => [p.node, p]));
  const state = new Map<TreeNode, 1 | 2>([[root, 2]]);
  for (const start of placing) {
    let path: Placing[] = [];
    let cur: Placing | undefined = start;
    while (cur && state.get(cur.node) !== 2) {
      if (state.get(cur.node) === 1) {
        const loop = path.slice(path.indexOf(cur));
        const first = loop.reduce((a, b) => (b.order < a.order ? b : a));
        first.pick++;
        if (!first.node.notes.includes(LOOP)) first.node.notes.push(LOOP);
        for (const p of path) state.delete(p.node);
        path = [];
        cur = start;
        continue;
      }
      state.set(cur.node, 1);
      path.push(cur);
      cur = of.get(cur.candidates[cur.pick]!);
    }
    for (const p of path) state.set(p.node, 2);
  }
}

/**
 * A task's tree: the task, its steps under the parents their record names within the task,
 * tool calls under the skill they ran in, the rest under the task, in sequence order.
 */
export function buildTaskTree(task: TaskInfoRow, rows: I001Row[]): TreeNode {
  const root: TreeNode = { ...blank("task", task.task_id, task.title ?? ""), status: task.status, duration_ms: task.duration_ms, timestamp: task.started_at, task_id: task.task_id, instance_id: task.instance_id };
  nest(root, rows, () => root, [], "outside this task");
  return root;
}

/**
 * An execution's tree: the run, its tasks (a subagent's under the Task call that started it)
 * in the order they started, and every step under its parent; steps of no task under the run.
 */
export function buildExecutionTree(exec: ExecutionInfoRow, steps: I001Row[], taskRows: ExecutionTaskRow[]): TreeNode {
  const root: TreeNode = { ...blank("execution", exec.execution_id, exec.message ?? ""), status: exec.status, duration_ms: exec.duration_ms, timestamp: exec.started_at };
  const firstStep = new Map<string, number>();
  steps.forEach((s, i) => {
    if (s.task_id !== null && !firstStep.has(s.task_id)) firstStep.set(s.task_id, i);
  });
  // A task started by a tool call of the record (a subagent's) is that call; any other has a node of its own.
  const entries = new Set(steps.map((s) => s.entry_id));
  const spawnedBy = new Map<string, string>();
  const taskNodes = new Map<string, TreeNode>();
  const placing: Placing[] = [];
  taskRows.forEach((t, j) => {
    if (t.spawned_by_entry_id !== null && entries.has(t.spawned_by_entry_id)) {
      spawnedBy.set(t.task_id, t.spawned_by_entry_id);
      return;
    }
    const node: TreeNode = {
      ...blank("task", t.task_id, t.title ?? ""), status: t.status, duration_ms: t.duration_ms, timestamp: t.first_at, entry_type: "task",
      task_id: t.task_id, instance_id: t.instance_id, replay_of: t.replay_of, notes: t.replay_of ? [`replayed from ${t.replay_of}`] : [],
    };
    taskNodes.set(t.task_id, node);
    placing.push({ node, order: 2 * (firstStep.get(t.task_id) ?? steps.length + j), candidates: [root], pick: 0 });
  });
  // A task started by a tool call (a subagent's) is that call: its steps nest under it.
  const taskOf = (id: string | null, byEntry: ReadonlyMap<string, TreeNode>): TreeNode | null => {
    if (id === null) return null;
    const spawn = spawnedBy.get(id);
    if (spawn !== undefined) return byEntry.get(spawn) ?? null;
    return taskNodes.get(id) ?? null;
  };
  nest(root, steps, taskOf, placing, "not in the record");
  return root;
}

/**
 * The tree narrowed by a filter: the nodes that pass it, and the nodes above them (marked as
 * context) so each stays where it is. The root always stays.
 */
export function filterTree(root: TreeNode, f: StepFilter): { tree: TreeNode; matched: number } {
  const order: TreeNode[] = [];
  const stack = [root];
  while (stack.length) {
    const n = stack.pop()!;
    order.push(n);
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
  }
  const kept = new Map<TreeNode, TreeNode>();
  let matched = 0;
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    const children = n.children.map((c) => kept.get(c)).filter((c): c is TreeNode => c !== undefined);
    const own = n !== root && passes(n, f);
    if (own) matched++;
    if (own || children.length || n === root) kept.set(n, { ...n, children, ...(own || n === root ? {} : { context: true }) });
  }
  return { tree: kept.get(root)!, matched };
}

/** How many levels the tree has below its root. */
export function treeDepth(root: TreeNode): number {
  let max = 0;
  const stack: [TreeNode, number][] = [[root, 0]];
  while (stack.length) {
    const [n, d] = stack.pop()!;
    if (d > max) max = d;
    for (const c of n.children) stack.push([c, d + 1]);
  }
  return max;
}

export function countNodes(root: TreeNode): number {
  let n = 0;
  const stack = [root];
  while (stack.length) {
    const x = stack.pop()!;
    n++;
    for (const c of x.children) stack.push(c);
  }
  return n;
}

/**
 * The tree as text, as a trace viewer's format_tree prints it: one node a line, indented under
 * its parent, with its status and duration. Ids, statuses, durations and notes are never cut;
 * the label gives up what the width does not leave. Past the depth the width can indent, a
 * node says its depth instead of indenting further. With `marks` (a filtered tree), the nodes
 * that passed the filter are marked ▶ apart from those shown as their context.
 */
export function renderTree(root: TreeNode, c: Palette, width: number, o: { limit?: number; marks?: boolean } = {}): string {
  const lines: string[] = [];
  const maxDepth = Number.isFinite(width) ? Math.max(3, Math.floor(width / 6)) : 40;
  const limit = o.limit ?? Infinity;
  let shown = 0;
  const stack: { n: TreeNode; pad: string; depth: number; last: boolean }[] = [{ n: root, pad: "", depth: 0, last: true }];
  while (stack.length && shown < limit) {
    const { n, pad, depth, last } = stack.pop()!;
    shown++;
    const connector = depth === 0 ? "" : last ? "└─ " : "├─ ";
    const prefix = depth > maxDepth ? `${pad.slice(0, (maxDepth - 2) * 3)}┊ ${depth} ${connector}` : pad + connector;
    // Under a filter, what passed it is marked, so it stands out from its context without colour too.
    const marked = o.marks && depth > 0 && !n.context;
    // Lines carried on under a node: its siblings' line, and its children's when it has any.
    const cont = (depth === 0 ? "" : prefix.slice(0, -3) + (last ? "   " : "│  ")) + (n.children.length ? "│  " : "   ") + (marked ? "  " : "");
    lines.push(line(c, marked ? `${prefix}▶ ` : prefix, cont, n, width));
    // Past the depth that is drawn, the indentation stops growing (and so does its memory).
    const childPad = depth === 0 || depth >= maxDepth ? pad : pad + (last ? "   " : "│  ");
    for (let i = n.children.length - 1; i >= 0; i--) stack.push({ n: n.children[i]!, pad: childPad, depth: depth + 1, last: i === n.children.length - 1 });
  }
  const total = countNodes(root);
  if (shown < total) lines.push(c.dim(`… ${total - shown} more ${total - shown === 1 ? "node" : "nodes"} (--limit ${total} shows them all)`));
  return lines.join("\n");
}

/** How much of a label is a name never cut: a step's type or a tool's name before its ": ", a skill's whole label. */
function labelLead(n: TreeNode): string {
  if (n.kind === "skill") return n.label;
  return /^\S+: /.exec(n.label)?.[0] ?? "";
}

/**
 * A node's line: id, label, status, duration and notes. The label gives up words to fit; when
 * what must stay whole (the id, the label's type, the tail) cannot share one line, the tail goes
 * on the lines under it, after `cont` (the tree's lines carried on).
 */
function line(c: Palette, prefix: string, cont: string, n: TreeNode, width: number): string {
  const tail = [
    n.status ? (n.context ? c.dim(n.status) : statusColor(c, n.status)(n.status)) : "",
    n.duration_ms !== null ? c.dim(fmtMs(n.duration_ms)) : "",
    ...n.notes.map((x) => c.dim(`(${x})`)),
  ].filter(Boolean);
  const tailText = [n.status ?? "", n.duration_ms !== null ? fmtMs(n.duration_ms) : "", ...n.notes.map((x) => `(${x})`)].filter(Boolean).join("  ");
  const idPart = n.id ?? "";
  const sep = (a: string, b: string) => (a && b ? 2 : 0);
  const before = displayWidth(prefix) + displayWidth(idPart) + sep(idPart, n.label);
  const room = Number.isFinite(width) ? width - before - (tailText ? 2 + displayWidth(tailText) : 0) : Infinity;
  const lead = displayWidth(labelLead(n));
  // The tail moves down when the label could not keep its type and a few words beside it.
  const apart = Number.isFinite(width) && tailText !== "" && room < Math.min(displayWidth(n.label), lead + 8);
  const labelRoom = apart ? width - before : room;
  const room2 = Math.max(10, width - displayWidth(cont));
  // An id too long to leave its label a few words (a task named by its run's id and its own)
  // has its label on the line under it rather than a bare "…" that overflows the line.
  const below = Number.isFinite(width) && idPart !== "" && n.label !== "" && labelRoom < Math.min(displayWidth(n.label), Math.max(lead, 1) + 8);
  const label = n.label && !below ? cutAtWord(n.label, Math.max(lead, 1, labelRoom)) : "";
  const head = [idPart ? (n.context ? c.dim(idPart) : n.kind === "execution" || n.kind === "task" ? c.bold(idPart) : idPart) : "", label ? (n.context ? c.dim(label) : label) : ""].filter(Boolean).join("  ");
  if (!apart && !below) return `${c.dim(prefix)}${head}${tail.length ? "  " + tail.join("  ") : ""}`;
  const labelLine = below ? [c.dim(cont) + (n.context ? c.dim : (t: string) => t)(cutAtWord(n.label, Math.max(lead, room2)))] : [];
  const parts = [n.status ?? "", n.duration_ms !== null ? fmtMs(n.duration_ms) : "", ...n.notes.map((x) => `(${x})`)].filter(Boolean);
  // The tail's parts two spaces apart, as on a node's line; a part longer than a line (a note) wraps.
  const under: string[] = [];
  for (const p of parts) {
    const last = under.length ? under[under.length - 1]! : null;
    if (last !== null && displayWidth(last) + 2 + displayWidth(p) <= room2) under[under.length - 1] = `${last}  ${p}`;
    else under.push(...wrapWords(p, room2));
  }
  return [`${c.dim(prefix)}${head}`, ...labelLine, ...under.map((l) => c.dim(cont) + (n.context ? c.dim(l) : paintTail(c, n, l)))].join("\n");
}

/** A tail line moved under its node, coloured as it was on the node's line: the status by what it says, the rest dim. */
function paintTail(c: Palette, n: TreeNode, l: string): string {
  if (n.status && l.startsWith(n.status)) return statusColor(c, n.status)(n.status) + c.dim(l.slice(n.status.length));
  return c.dim(l);
}
