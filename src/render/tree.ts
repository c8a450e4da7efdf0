import type { Palette } from "../io.js";
import type { I001Row } from "../queries/investigation.js";
import type { TaskInfoRow } from "../queries/listing.js";
import { cut, fmtMs } from "./format.js";
import { statusColor } from "./timeline.js";

interface Node {
  label: string;
  status: string | null;
  duration_ms: number | null;
  children: Node[];
}

/**
 * Seed 002's format_tree: the task, its skills with the tool calls made inside them, and the
 * steps made outside any skill, in sequence order.
 */
export function buildTree(task: TaskInfoRow, rows: I001Row[]): Node {
  const root: Node = { label: `${task.task_id}${task.title ? `  ${task.title}` : ""}`, status: task.status, duration_ms: task.duration_ms, children: [] };
  const skills = new Map<string, Node>();
  for (const r of rows) {
    if (r.entry_type === "skill_invoke" && r.skill_trace_id) {
      const node: Node = { label: `skill ${r.skill_name ?? r.skill_trace_id}`, status: "running", duration_ms: null, children: [] };
      skills.set(r.skill_trace_id, node);
      root.children.push(node);
    } else if (r.entry_type === "skill_complete" && r.skill_trace_id && skills.has(r.skill_trace_id)) {
      const node = skills.get(r.skill_trace_id)!;
      node.status = r.status;
      node.duration_ms = r.duration_ms;
    } else if (r.tool_use_id && r.within_skill && skills.has(r.within_skill)) {
      skills.get(r.within_skill)!.children.push(leaf(r));
    } else {
      root.children.push(leaf(r));
    }
  }
  return root;
}

function leaf(r: I001Row): Node {
  const base = r.tool_use_id ? (r.summary ?? r.tool ?? r.tool_use_id) : `${r.entry_type}: ${r.summary ?? ""}`;
  // History a resumed or forked run carries from another: there, and said so.
  const label = r.replay_of ? `${base} (replayed from ${r.replay_of})` : base;
  return { label, status: r.status, duration_ms: r.duration_ms, children: [] };
}

export function renderTree(root: Node, c: Palette, width: number): string {
  const lines: string[] = [];
  const line = (prefix: string, n: Node) => {
    const tail = [n.status ? statusColor(c, n.status)(n.status) : "", n.duration_ms !== null ? c.dim(fmtMs(n.duration_ms)) : ""].filter(Boolean).join("  ");
    const room = Math.max(10, width - prefix.length - 24);
    lines.push(`${c.dim(prefix)}${cut(n.label, room)}${tail ? "  " + tail : ""}`);
  };
  line("", root);
  const walk = (nodes: Node[], pad: string) => {
    nodes.forEach((n, i) => {
      const last = i === nodes.length - 1;
      line(pad + (last ? "└─ " : "├─ "), n);
      walk(n.children, pad + (last ? "   " : "│  "));
    });
  };
  walk(root.children, "");
  return lines.join("\n");
}
