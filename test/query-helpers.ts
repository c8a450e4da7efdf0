import path from "node:path";
import { openReadOnly } from "../src/db/open.js";
import { runQuery } from "../src/queries/run.js";
import type { Query } from "../src/queries/types.js";
import { cli, tmpDb, tmpDir, writeJsonl } from "./helpers.js";

export const T0 = Date.parse("2026-01-16T09:00:00.000Z");
/** The ISO time `s` seconds after the fixtures' start. */
export const at = (s: number) => new Date(T0 + s * 1000).toISOString();

/** A line of the event stream for execution `exec` at second `s`. */
export function line(exec: string, s: number, kind: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { kind, execution_id: exec, timestamp: at(s), ...fields };
}

/**
 * A slow call of agent a1 (1.5 s to 85 s) among 40 short calls of a2 ending by 81 s: a backlog
 * of the last few events reaches back only past the short ones.
 */
export function slowCallAmongShort(exec: string): Record<string, unknown>[] {
  return [
    line(exec, 1.5, "tool:start", { tool_use_id: "slow", tool: "Bash", input: { command: "npm test" }, instance_id: "a1" }),
    ...Array.from({ length: 40 }, (_, i) => [
      line(exec, 2 + 2 * i, "tool:start", { tool_use_id: `c${i}`, tool: "Read", input: { file_path: `f${i}.ts` }, instance_id: "a2" }),
      line(exec, 3 + 2 * i, "tool:end", { tool_use_id: `c${i}`, is_error: false }),
    ]).flat(),
    line(exec, 85, "tool:end", { tool_use_id: "slow", is_error: false }),
  ];
}

/** Ingests lines into a fresh database through `obs ingest` and returns its path. */
export async function dbWith(lines: Record<string, unknown>[]): Promise<string> {
  const db = tmpDb();
  const r = await cli(["ingest", writeJsonl(path.join(tmpDir(), "fixture.jsonl"), lines), "--db", db]);
  if (r.code !== 0) throw new Error(`fixture did not ingest: ${r.stderr}`);
  return db;
}

/** Runs one query with its default options (or the given ones) and returns plain rows. */
export function rows<Row>(dbPath: string, q: Query<Row>, args: Record<string, unknown>, options: Record<string, number> = {}): Row[] {
  const db = openReadOnly(dbPath);
  try {
    const params: Record<string, unknown> = { now: null, execution_id: null, task_id: null, correlation_id: null, task_list_id: null, ...args };
    for (const o of q.options ?? []) params[o.name] = options[o.name] ?? o.default;
    const r = runQuery(db, q, params);
    if (r.skipped) throw new Error(`${q.id} skipped: ${r.reason}`);
    return r.rows.map((x) => ({ ...x }));
  } finally {
    db.close();
  }
}

/**
 * A small run with nothing wrong: two agents in one wave, a skill with a tool call, a balanced
 * lock, a passing assertion chain, a decision, heartbeats, a bus event and a model call.
 */
export function cleanRun(exec = "exec-clean", taskList = "tl-clean", start = 0): Record<string, unknown>[] {
  const L = (s: number, kind: string, f: Record<string, unknown> = {}) => line(exec, start + s, kind, f);
  const t1 = `${exec}-t1`;
  const t2 = `${exec}-t2`;
  const w = `${exec}-w1`;
  const a1 = { instance_id: `${exec}-a1`, task_id: t1, wave_id: w };
  const a2 = { instance_id: `${exec}-a2`, task_id: t2, wave_id: w };
  return [
    L(0, "execution:status", { status: "started", task_list_id: taskList }),
    L(0, "task:status", { task_id: t1, status: "pending", title: "Create user.ts", display_id: "T-1", file_path: "src/user.ts" }),
    L(0, "task:status", { task_id: t2, status: "pending", title: "Create api.ts", display_id: "T-2", file_path: "src/api.ts" }),
    L(1, "wave:status", { wave_id: w, wave_number: 1, status: "running", task_ids: [t1, t2] }),
    L(1, "agent:heartbeat", { ...a1, status: "working", current_task_id: t1 }),
    L(1, "agent:heartbeat", { ...a2, status: "working", current_task_id: t2 }),
    L(2, "task:status", { ...a1, status: "running" }),
    L(2, "task:status", { ...a2, status: "running" }),
    L(3, "skill:start", { ...a1, skill_trace_id: `${exec}-s1`, skill_name: "code-generation", skill_file: "SKILLS.md", line_number: 12, section_title: "## Generate" }),
    L(4, "transcript:entry", { ...a1, entry_type: "lock_acquire", category: "coordination", summary: "lock src/user.ts", details: { file_path: "src/user.ts", state: "acquired" } }),
    L(5, "tool:start", { ...a1, tool_use_id: `${exec}-tu1`, tool: "Write", input: { file_path: "src/user.ts", content: "x" }, within_skill: `${exec}-s1` }),
    L(6, "tool:end", { ...a1, tool_use_id: `${exec}-tu1`, is_error: false, output: "ok" }),
    L(7, "transcript:entry", { ...a1, entry_type: "lock_release", category: "coordination", summary: "unlock src/user.ts", details: { file_path: "src/user.ts" } }),
    L(8, "skill:end", { ...a1, skill_trace_id: `${exec}-s1`, status: "success" }),
    L(5, "tool:start", { ...a2, tool_use_id: `${exec}-tu2`, tool: "Write", input: { file_path: "src/api.ts", content: "y" } }),
    L(6, "tool:end", { ...a2, tool_use_id: `${exec}-tu2`, is_error: false }),
    L(9, "transcript:entry", { ...a2, entry_type: "decision", category: "planning", summary: "Use express", details: { options: ["express", "fastify"], chosen: "express", reason: "already a dependency" } }),
    L(10, "assertion:chain_start", { ...a1, chain_id: `${exec}-c1` }),
    L(11, "assertion:result", { ...a1, assertion_id: `${exec}-r1`, chain_id: `${exec}-c1`, category: "file_created", description: "src/user.ts created", result: "pass", evidence: { file_path: "src/user.ts", file_exists: true } }),
    L(12, "assertion:chain_end", { ...a1, chain_id: `${exec}-c1` }),
    L(12, "messagebus:event", { ...a1, event_id: `${exec}-e1`, source: "agent", event_type: "task.progress", severity: "info", human_summary: "halfway", correlation_id: `${exec}-corr` }),
    L(13, "llm:call", { ...a1, model: "claude-sonnet-4-5", input_tokens: 1000, output_tokens: 200, cost_usd: 0.006 }),
    L(20, "task:status", { ...a1, status: "completed" }),
    L(21, "task:status", { ...a2, status: "completed" }),
    L(21, "agent:heartbeat", { ...a1, status: "completed", current_task_id: t1 }),
    L(22, "agent:heartbeat", { ...a2, status: "completed", current_task_id: t2 }),
    L(23, "wave:status", { wave_id: w, wave_number: 1, status: "completed" }),
    L(24, "execution:status", { status: "completed" }),
  ];
}
