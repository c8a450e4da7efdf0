import fs from "node:fs";
import path from "node:path";
import { costOf, type PriceTable } from "../../pricing.js";
import { oneLine } from "../shape.js";
import type { Adapter, AdapterResult, BadLine, J } from "./types.js";

/**
 * Claude Code sessions (~/.claude/projects/<project>/<session>.jsonl) as obs events.
 *
 * A session is an execution (its task list is the project folder; cwd and git branch kept).
 * Each user prompt starts a task (a turn) that the main agent works until the next prompt.
 * Each tool_use block is a tool call started at its line's time and ended by the tool_result
 * with the same id. Text and thinking become transcript entries, API errors error entries.
 * Subagents are agents of the session working a task named after the Task call that spawned
 * them: in 1.x their lines sit in the session file (isSidechain), in 2.x they have files of
 * their own under <session>/subagents/ (joined through the Task result's agentId). Token usage
 * becomes one model call per API response: the lines of one streamed response repeat its
 * usage, growing, so the largest of each count is the response's.
 *
 * Lines are taken in time order (their file order is not). Lines that carry nothing obs uses
 * (snapshots, progress, queue operations, system notes) are skipped and counted.
 */

type Block = { type?: string; id?: string; name?: string; input?: unknown; text?: string; thinking?: string; tool_use_id?: string; content?: unknown; is_error?: boolean };

const SKIPPED_TYPES = new Set(["file-history-snapshot", "progress", "queue-operation", "system"]);

/** Whether parsed lines look like a Claude Code session. */
function looksLikeClaudeCode(first: J[]): boolean {
  return first.some((o) => typeof o.sessionId === "string" || (o.type === "summary" && "leafUuid" in o) || o.type === "file-history-snapshot");
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((b: Block) => (b?.type === "text" ? (b.text ?? "") : b?.type === "tool_result" ? textOf(b.content) : ""))
      .filter(Boolean)
      .join("\n");
  }
  return "";
}

/** The session file a 2.x subagent file belongs to: <project>/<session>/subagents/agent-x.jsonl → <project>/<session>.jsonl. */
function parentSessionFile(file: string): string | null {
  const dir = path.dirname(file);
  if (path.basename(dir) !== "subagents") return null;
  const sessionDir = path.dirname(dir);
  return path.join(path.dirname(sessionDir), `${path.basename(sessionDir)}.jsonl`);
}

/** In a session file, the Task call whose result names this agent (toolUseResult.agentId), if any. */
function taskCallFor(sessionFile: string, agentId: string): string | null {
  let text: string;
  try {
    text = fs.readFileSync(sessionFile, "utf8");
  } catch {
    return null;
  }
  for (const l of text.split("\n")) {
    if (!l.includes(agentId)) continue;
    try {
      const o = JSON.parse(l) as J;
      const tur = o.toolUseResult as J | undefined;
      if (tur?.agentId === agentId) {
        const blocks = ((o.message as J)?.content ?? []) as Block[];
        const result = Array.isArray(blocks) ? blocks.find((b) => b?.type === "tool_result") : undefined;
        if (result?.tool_use_id) return result.tool_use_id;
      }
    } catch {
      /* another line's problem, reported when that file is read */
    }
  }
  return null;
}

function claudeCodeEvents(file: string, text: string, prices: PriceTable): AdapterResult {
  const bad: BadLine[] = [];
  const rows: { o: J; n: number }[] = [];
  let skipped = 0;
  let lineNo = 0;
  for (const raw of text.split("\n")) {
    lineNo++;
    if (raw.trim() === "") continue;
    let o: unknown;
    try {
      o = JSON.parse(raw);
    } catch (e) {
      bad.push({ source: file, line: lineNo, reason: `not JSON: ${(e as Error).message}` });
      continue;
    }
    if (o === null || typeof o !== "object" || Array.isArray(o)) {
      bad.push({ source: file, line: lineNo, reason: "not a JSON object" });
      continue;
    }
    rows.push({ o: o as J, n: lineNo });
  }
  const lines = rows.length + bad.length;
  const sessionId = rows.map((r) => r.o.sessionId).find((s): s is string => typeof s === "string") ?? null;
  if (!sessionId) {
    // A file of summaries alone names no session: nothing to attach them to.
    return { events: [], skipped: rows.length, bad, lines, executionId: null };
  }
  const subagentFile = parentSessionFile(file);
  const agentIdOfFile = rows.map((r) => r.o.agentId).find((a): a is string => typeof a === "string");
  const project = path.basename(subagentFile ? path.dirname(path.dirname(path.dirname(file))) : path.dirname(file));
  const spawnedBy = subagentFile && agentIdOfFile ? taskCallFor(subagentFile, agentIdOfFile) : null;
  // A subagent no Task call started (a compaction run) works a task of its own.
  const taskOfFile = subagentFile ? (spawnedBy ?? `${sessionId}/agent-${agentIdOfFile ?? path.basename(file, ".jsonl")}`) : null;

  // Time order; lines without a time (summaries) keep their place after the one before.
  let lastTs = "";
  const timed = rows.map((r) => {
    const ts = typeof r.o.timestamp === "string" ? r.o.timestamp : lastTs;
    if (ts) lastTs = ts;
    return { ...r, ts };
  });
  const firstTs = timed.find((r) => r.ts)?.ts;
  for (const r of timed) if (!r.ts) r.ts = firstTs ?? "";
  timed.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.n - b.n));
  if (!firstTs) return { events: [], skipped: rows.length, bad, lines, executionId: sessionId };
  const endTs = timed[timed.length - 1]!.ts;

  const events: J[] = [];
  const ev = (kind: string, ts: string, fields: J) => events.push({ kind, execution_id: sessionId, timestamp: ts, ...fields });
  if (!subagentFile) {
    const cwd = timed.map((r) => r.o.cwd).find((c): c is string => typeof c === "string");
    const branch = timed.map((r) => r.o.gitBranch).find((b): b is string => typeof b === "string" && b !== "");
    ev("execution:status", firstTs, { status: "started", task_list_id: project, ...(cwd ? { cwd } : {}), ...(branch ? { git_branch: branch } : {}) });
  }

  // 1.x subagents: sidechain conversations in this file, each from its root line.
  const byUuid = new Map(rows.map((r) => [r.o.uuid as string, r.o]));
  const sidechainRoot = (o: J): string => {
    let cur = o;
    for (let guard = 0; guard < 100000; guard++) {
      const parent = byUuid.get(cur.parentUuid as string);
      if (!parent || !parent.isSidechain) return String(cur.uuid);
      cur = parent;
    }
    return String(cur.uuid);
  };
  const taskPrompts = new Map<string, string>(); // Task call id → its prompt, to find the sidechain it started
  for (const { o } of timed) {
    const content = (o.message as J | undefined)?.content;
    if (o.type !== "assistant" || !Array.isArray(content)) continue;
    for (const b of content as Block[]) {
      if (b?.type === "tool_use" && b.name === "Task" && b.id) taskPrompts.set(b.id, String((b.input as J)?.prompt ?? ""));
    }
  }
  const sidechainTask = new Map<string, string>();
  const agentFor = (o: J): { agent: string; task: string | null } => {
    if (subagentFile) return { agent: `${sessionId}/${agentIdOfFile ?? "subagent"}`, task: taskOfFile };
    if (!o.isSidechain) return { agent: `${sessionId}/main`, task: null };
    const root = sidechainRoot(o);
    if (!sidechainTask.has(root)) {
      const prompt = textOf((byUuid.get(root)?.message as J | undefined)?.content).trim();
      const call = [...taskPrompts].find(([id, p]) => p.trim() === prompt && ![...sidechainTask.values()].includes(id));
      sidechainTask.set(root, call?.[0] ?? `${sessionId}/sidechain-${root}`);
    }
    const task = sidechainTask.get(root)!;
    return { agent: `${sessionId}/sidechain-${task}`, task };
  };

  const agents = new Map<string, { first: string; last: string; task: string | null }>();
  const responses = new Map<string, { model: string; ts: string; agent: string; task: string | null; input: number; output: number; cacheRead: number; cacheWrite: number; cost: number | null }>();
  let turn: string | null = null;
  let turnNo = 0;
  const turnLast = new Map<string, string>();
  const taskCalls = new Map<string, { ts: string; description: string }>();

  for (const { o, ts } of timed) {
    const type = o.type as string | undefined;
    if (type && SKIPPED_TYPES.has(type)) {
      skipped++;
      continue;
    }
    if (type === "summary") {
      ev("transcript:entry", ts, { entry_id: `${sessionId}/summary/${String(o.leafUuid ?? ts)}`, entry_type: "checkpoint", category: "summary", summary: String(o.summary ?? "") });
      continue;
    }
    if (type !== "user" && type !== "assistant") {
      skipped++;
      continue;
    }
    const { agent, task: agentTask } = agentFor(o);
    const a = agents.get(agent) ?? { first: ts, last: ts, task: agentTask };
    a.last = ts;
    agents.set(agent, a);
    const msg = (o.message ?? {}) as J;
    const content = msg.content;
    const uuid = String(o.uuid ?? `${ts}`);
    const isMain = agent === `${sessionId}/main`;

    if (type === "user") {
      const blocks = Array.isArray(content) ? (content as Block[]) : null;
      const results = blocks?.filter((b) => b?.type === "tool_result") ?? [];
      for (const b of results) {
        const out = textOf(b.content);
        ev("tool:end", ts, {
          tool_use_id: b.tool_use_id, is_error: Boolean(b.is_error), output: out, instance_id: agent,
          ...(b.is_error ? { error_message: out.slice(0, 2000) } : {}),
        });
        const call = b.tool_use_id ? taskCalls.get(b.tool_use_id) : undefined;
        if (call) ev("task:status", ts, { task_id: b.tool_use_id, status: b.is_error ? "failed" : "completed" });
      }
      const prompt = results.length ? "" : textOf(content).trim();
      if (prompt && !o.isMeta && !o.isCompactSummary) {
        if (isMain) {
          turnNo++;
          turn = `turn-${uuid}`;
          ev("task:status", ts, { task_id: turn, status: "running", title: oneLine(prompt), display_id: `turn ${turnNo}`, instance_id: agent });
          turnLast.set(turn, ts);
        }
        ev("transcript:entry", ts, {
          entry_id: `${uuid}#prompt`, entry_type: "task_start", category: "user", summary: prompt, instance_id: agent,
          ...((isMain ? turn : agentTask) ? { task_id: isMain ? turn : agentTask } : {}),
        });
      }
      continue;
    }

    // An assistant line: its blocks, and the usage of the response it is part of.
    const task = isMain ? turn : agentTask;
    if (task && isMain) turnLast.set(task, ts);
    const common = { instance_id: agent, ...(task ? { task_id: task } : {}) };
    const apiError = o.isApiErrorMessage === true || msg.model === "<synthetic>";
    const blocks = Array.isArray(content) ? (content as Block[]) : [];
    blocks.forEach((b, i) => {
      const entryId = `${uuid}#${i}`;
      if (b?.type === "tool_use" && b.id) {
        ev("tool:start", ts, {
          ...common, tool_use_id: b.id, tool: b.name ?? "unknown", input: b.input ?? {}, entry_id: entryId,
          ...(agentTask && !isMain ? { parent_tool_use_id: agentTask } : {}),
        });
        if (b.name === "Task") {
          const description = String((b.input as J)?.description ?? (b.input as J)?.prompt ?? "subagent");
          taskCalls.set(b.id, { ts, description });
          ev("task:status", ts, { task_id: b.id, status: "running", title: oneLine(description), display_id: "subagent" });
        }
      } else if (b?.type === "text" && (b.text ?? "").trim()) {
        ev("transcript:entry", ts, { ...common, entry_id: entryId, entry_type: apiError ? "error" : "discovery", category: apiError ? "api_error" : "assistant", summary: b.text!.trim() });
      } else if (b?.type === "thinking" && (b.thinking ?? "").trim()) {
        ev("transcript:entry", ts, { ...common, entry_id: entryId, entry_type: "discovery", category: "thinking", summary: b.thinking!.trim() });
      }
    });
    const usage = msg.usage as J | undefined;
    const responseId = String(msg.id ?? o.requestId ?? uuid);
    if (usage && !apiError) {
      const r = responses.get(responseId) ?? { model: String(msg.model ?? "unknown"), ts, agent, task, input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cost: null };
      // A streamed response repeats its usage on each of its lines, growing: the largest is the response's.
      r.input = Math.max(r.input, Number(usage.input_tokens ?? 0));
      r.output = Math.max(r.output, Number(usage.output_tokens ?? 0));
      r.cacheRead = Math.max(r.cacheRead, Number(usage.cache_read_input_tokens ?? 0));
      r.cacheWrite = Math.max(r.cacheWrite, Number(usage.cache_creation_input_tokens ?? 0));
      if (typeof o.costUSD === "number") r.cost = Math.max(r.cost ?? 0, o.costUSD);
      r.ts = ts;
      responses.set(responseId, r);
    }
  }

  for (const [id, r] of responses) {
    const cost = r.cost ?? costOf(prices, { model: r.model, input_tokens: r.input, output_tokens: r.output, cache_read_tokens: r.cacheRead, cache_write_tokens: r.cacheWrite });
    ev("llm:call", r.ts, {
      id: `${sessionId}/${id}`, model: r.model, provider: "anthropic", input_tokens: r.input, output_tokens: r.output,
      cache_read_tokens: r.cacheRead, cache_write_tokens: r.cacheWrite, instance_id: r.agent, ...(r.task ? { task_id: r.task } : {}),
      ...(cost !== null ? { cost_usd: cost } : {}),
    });
  }
  for (const [t, last] of turnLast) ev("task:status", last, { task_id: t, status: "completed" });
  for (const [agent, a] of agents) {
    ev("agent:heartbeat", a.first, { instance_id: agent, status: "working", ...(a.task ? { current_task_id: a.task } : {}) });
    ev("agent:heartbeat", a.last, { instance_id: agent, status: "completed", ...(a.task ? { current_task_id: a.task } : {}) });
  }
  if (!subagentFile) ev("execution:status", endTs, { status: "completed" });
  if (subagentFile && !spawnedBy && taskOfFile) {
    const kind = agentIdOfFile?.startsWith("acompact") ? "compaction" : "subagent";
    ev("task:status", firstTs, { task_id: taskOfFile, status: "running", title: `${kind} ${agentIdOfFile ?? ""}`.trim(), display_id: kind });
    ev("task:status", endTs, { task_id: taskOfFile, status: "completed" });
  }
  // Folded in time order, so sequence numbers follow time.
  events.sort((x, y) => (String(x.timestamp) < String(y.timestamp) ? -1 : String(x.timestamp) > String(y.timestamp) ? 1 : 0));
  return { events, skipped, bad, lines, executionId: sessionId };
}

export const claudeCode: Adapter = {
  format: "claude-code",
  describes: "Claude Code sessions (~/.claude/projects/<project>/<session>.jsonl)",
  detect: (head) => looksLikeClaudeCode(head.objects),
  read: (file, data, ctx) => claudeCodeEvents(file, data.toString("utf8"), ctx.prices),
};
