import fs from "node:fs";
import path from "node:path";
import { costOf } from "../../pricing.js";
import { oneLine } from "../shape.js";
import { fileLines } from "../lines.js";
import { given, jsonLine } from "./shared.js";
import type { Adapter, AdapterContext, AdapterResult, BadLine, InputLine, J } from "./types.js";

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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The session a 2.x subagent file belongs to: <project>/<session>/subagents/agent-x.jsonl, or a
 * workflow's agents in <project>/<session>/subagents/workflows/<name>/agent-x.jsonl.
 */
function subagentSession(file: string): { sessionFile: string; sessionDir: string; project: string; workflow: string | null } | null {
  const parts = path.resolve(file).split(path.sep);
  const at = parts.lastIndexOf("subagents");
  if (at < 2) return null;
  const sessionDir = parts.slice(0, at).join(path.sep);
  const workflow = parts[at + 1] === "workflows" && parts.length > at + 3 ? parts[at + 2]! : null;
  return {
    sessionFile: `${sessionDir}.jsonl`,
    sessionDir,
    project: parts[at - 2]!,
    workflow,
  };
}

/** What the session says of one of its subagents: the Task call that started it and its type. */
interface Spawn {
  call: string | null;
  agentType: string | null;
  description: string | null;
}

/**
 * A subagent's sidecar (agent-x.meta.json beside agent-x.jsonl), when Claude Code wrote one: the
 * agent's type and the Task call that started it, without reading the whole session again.
 */
function sidecarOf(file: string): Spawn | null {
  const meta = file.replace(/\.jsonl$/, ".meta.json");
  let o: J;
  try {
    o = JSON.parse(fs.readFileSync(meta, "utf8")) as J;
  } catch {
    return null;
  }
  if (!o || typeof o !== "object") return null;
  const s = (...keys: string[]) => keys.map((k) => o[k]).find((v): v is string => typeof v === "string" && v !== "") ?? null;
  return { call: s("toolUseId", "toolUseID", "parentToolUseId", "parentToolUseID", "tool_use_id"), agentType: s("agentType", "subagent_type", "subagentType"), description: s("description") };
}

/**
 * What a session file says of the subagents it started: for each agent id, the Task call whose
 * result names it (toolUseResult.agentId) with its type and description. Read once per session
 * for all its subagents' files (through the run's memo), line by line.
 */
const SPAWN_NEEDLES = ['"agentId"', '"subagent_type"', '"name":"Task"'].map((t) => Buffer.from(t));

function spawnsOf(sessionFile: string): Map<string, Spawn> {
  const byAgent = new Map<string, { call: string; agentType: string | null }>();
  const calls = new Map<string, { agentType: string | null; description: string | null }>();
  let fd: number;
  try {
    fd = fs.openSync(sessionFile, "r");
  } catch {
    return new Map();
  }
  try {
    // Only two kinds of line matter: a Task result naming its agent, and a Task call (its type,
    // its description); the others are passed over unread.
    for (const { text: l } of fileLines(fd, { start: 0, firstLine: 1, holding: SPAWN_NEEDLES }, fs.fstatSync(fd).size)) {
      try {
        const o = JSON.parse(l) as J;
        const tur = o.toolUseResult as J | undefined;
        const blocks = ((o.message as J)?.content ?? []) as Block[];
        if (!Array.isArray(blocks)) continue;
        if (typeof tur?.agentId === "string" && !byAgent.has(tur.agentId)) {
          const result = blocks.find((b) => b?.type === "tool_result");
          if (result?.tool_use_id) byAgent.set(tur.agentId, { call: result.tool_use_id, agentType: typeof tur.agentType === "string" ? tur.agentType : null });
        }
        for (const b of blocks) {
          if (b?.type !== "tool_use" || !b.id) continue;
          const input = (b.input ?? {}) as J;
          calls.set(b.id, { agentType: typeof input.subagent_type === "string" ? input.subagent_type : null, description: typeof input.description === "string" ? input.description : null });
        }
      } catch {
        /* another line's problem, reported when that file is read */
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  const out = new Map<string, Spawn>();
  for (const [agent, { call, agentType }] of byAgent) {
    const use = calls.get(call);
    out.set(agent, { call, agentType: agentType ?? use?.agentType ?? null, description: use ? use.description : null });
  }
  return out;
}

/** The tokens of one API response's usage: cache writes split into 5-minute and 1-hour ones. */
function usageOf(usage: J): { input: number; output: number; cacheRead: number; write5m: number; write1h: number } {
  const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.round(v) : 0);
  const breakdown = usage.cache_creation as J | undefined;
  const total = n(usage.cache_creation_input_tokens);
  // Without a breakdown every write is a 5-minute one, as Claude Code wrote them before 1-hour caching.
  const write1h = breakdown ? n(breakdown.ephemeral_1h_input_tokens) : 0;
  const write5m = breakdown && "ephemeral_5m_input_tokens" in breakdown ? n(breakdown.ephemeral_5m_input_tokens) : Math.max(0, total - write1h);
  return { input: n(usage.input_tokens), output: n(usage.output_tokens), cacheRead: n(usage.cache_read_input_tokens), write5m, write1h };
}

/** The fields of a line this adapter reads; the rest of a line is never looked at. */
const READ_FIELDS = ["type", "timestamp", "sessionId", "agentId", "cwd", "gitBranch", "uuid", "parentUuid", "isSidechain", "isMeta",
  "isCompactSummary", "isApiErrorMessage", "error", "requestId", "costUSD", "summary", "leafUuid", "parentToolUseID"] as const;

/** A line as far as it is read: its message only where one is used, a progress line's echoed response only. */
function kept(o: J): J {
  const k: J = {};
  for (const f of READ_FIELDS) if (o[f] !== undefined) k[f] = o[f];
  const type = o.type as string | undefined;
  if (o.message !== undefined && (!(type && SKIPPED_TYPES.has(type)) || o.isSidechain)) k.message = o.message;
  const data = o.data as J | undefined;
  if (data && data.type === "agent_progress") {
    const echoed = data.message as J | undefined;
    const m = echoed?.message as J | undefined;
    k.data = { type: data.type, agentId: data.agentId, message: echoed && { type: echoed.type, timestamp: echoed.timestamp, message: m && { id: m.id, model: m.model, usage: m.usage } } };
  }
  return k;
}

function claudeCodeEvents(file: string, input: Iterable<InputLine>, ctx: AdapterContext): AdapterResult {
  const prices = ctx.prices;
  // The whole file is needed at once (time order, sidechains, responses over several lines), so
  // each line is kept only as far as this adapter reads it: a tool result's copy in
  // toolUseResult, a snapshot's files and a progress line's output are let go as the line is read.
  const rows: { o: J; n: number }[] = [];
  const bad: BadLine[] = [];
  for (const { text, n, invalid } of input) {
    const o = jsonLine(file, text, n, invalid, bad);
    if (o) rows.push({ o: kept(o), n });
  }
  let skipped = 0;
  const lines = rows.length + bad.length;
  const sub = subagentSession(file);
  const subagentFile = sub?.sessionFile ?? null;
  // The file's own session: Claude Code names session files (and subagents' session folders)
  // by it. A resumed or forked session's file also carries lines of the session it came from,
  // under that session's id; those are history it replays, not another execution.
  const ownName = path.basename(sub ? sub.sessionDir : file, ".jsonl");
  const named = rows.map((r) => r.o.sessionId).filter((s): s is string => typeof s === "string");
  const sessionId = UUID.test(ownName) && named.includes(ownName) ? ownName : (named[named.length - 1] ?? null);
  if (!sessionId) {
    // A file of summaries alone names no session: nothing to attach them to.
    return { events: [], skipped: rows.length, bad, lines, executionId: null };
  }
  const agentIdOfFile = rows.map((r) => r.o.agentId).find((a): a is string => typeof a === "string");
  const project = sub ? sub.project : path.basename(path.dirname(file));
  const spawn = sub ? (sidecarOf(file) ?? (agentIdOfFile ? (ctx.memo(`claude-code:spawns:${subagentFile}`, () => spawnsOf(subagentFile!)).get(agentIdOfFile) ?? null) : null)) : null;
  const spawnedBy = spawn?.call ?? null;
  // A subagent no Task call started (a compaction run, a workflow's agent) works a task of its own.
  const taskOfFile = sub ? (spawnedBy ?? `${sessionId}/agent-${agentIdOfFile ?? path.basename(file, ".jsonl")}`) : null;

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
    // It started with its own first line: what it carries of an earlier session happened then.
    const ownFirst = timed.find((r) => r.ts && (r.o.sessionId === sessionId || r.o.sessionId === undefined))?.ts ?? firstTs;
    ev("execution:status", ownFirst, { status: "started", task_list_id: project, ...(cwd ? { cwd } : {}), ...(branch ? { git_branch: branch } : {}) });
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
  const taskTypes = new Map<string, string>(); // Task call id → the subagent_type it asked for
  for (const { o } of timed) {
    const content = (o.message as J | undefined)?.content;
    if (o.type !== "assistant" || !Array.isArray(content)) continue;
    for (const b of content as Block[]) {
      if (b?.type === "tool_use" && b.name === "Task" && b.id) {
        taskPrompts.set(b.id, String((b.input as J)?.prompt ?? ""));
        const type = (b.input as J)?.subagent_type;
        if (typeof type === "string" && type !== "") taskTypes.set(b.id, type);
      }
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

  // The kind of agent each is: the main agent, a subagent of the type its Task call asked for (or
  // its sidecar says), a compaction run, a workflow's agent.
  const typeOf = (agent: string, task: string | null): string => {
    if (agent === `${sessionId}/main`) return "main";
    if (subagentFile) {
      if (spawn?.agentType) return spawn.agentType;
      if (agentIdOfFile?.startsWith("acompact")) return "compaction";
      if (sub?.workflow) return `workflow:${sub.workflow}`;
    }
    return (task ? taskTypes.get(task) : undefined) ?? "subagent";
  };
  const agents = new Map<string, { first: string; last: string; task: string | null }>();
  const seen = (agent: string, ts: string, task: string | null) => {
    const a = agents.get(agent) ?? { first: ts, last: ts, task };
    if (ts < a.first) a.first = ts;
    if (ts > a.last) a.last = ts;
    agents.set(agent, a);
  };
  interface Response { model: string; ts: string; agent: string; task: string | null; input: number; output: number; cacheRead: number; write5m: number; write1h: number; cost: number | null }
  const responses = new Map<string, Response>();
  /** One API response's usage, seen on one more of its lines: the largest of each count is the response's. */
  const respond = (responseId: string, model: string, ts: string, agent: string, task: string | null, usage: J, costUSD: unknown) => {
    const u = usageOf(usage);
    const r = responses.get(responseId) ?? { model, ts, agent, task, input: 0, output: 0, cacheRead: 0, write5m: 0, write1h: 0, cost: null };
    r.input = Math.max(r.input, u.input);
    r.output = Math.max(r.output, u.output);
    r.cacheRead = Math.max(r.cacheRead, u.cacheRead);
    r.write5m = Math.max(r.write5m, u.write5m);
    r.write1h = Math.max(r.write1h, u.write1h);
    if (typeof costUSD === "number" && Number.isFinite(costUSD)) r.cost = Math.max(r.cost ?? 0, costUSD);
    if (ts > r.ts) r.ts = ts;
    responses.set(responseId, r);
  };
  let turn: string | null = null;
  let turnNo = 0;
  const turnLast = new Map<string, string>();
  const taskCalls = new Map<string, { ts: string; description: string }>();

  for (const { o, ts } of timed) {
    const type = o.type as string | undefined;
    const data = o.data as J | undefined;
    if (type === "progress" && data?.type === "agent_progress" && typeof data.agentId === "string") {
      // A subagent's messages echoed into the session while it works. Its own file (when there
      // is one) has the same responses; only their usage is taken, under the same ids, so each
      // response counts once whichever of the two is read.
      const echoed = data.message as J | undefined;
      const m = echoed?.message as J | undefined;
      const usage = m?.usage as J | undefined;
      if (echoed?.type === "assistant" && usage && typeof m?.id === "string" && m.model !== "<synthetic>") {
        const agent = `${sessionId}/${data.agentId}`;
        const task = typeof o.parentToolUseID === "string" ? o.parentToolUseID : null;
        const at = typeof echoed.timestamp === "string" ? echoed.timestamp : ts;
        seen(agent, at, task);
        respond(m.id, String(m.model ?? "unknown"), at, agent, task, usage, undefined);
      }
      skipped++;
      continue;
    }
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
    seen(agent, ts, agentTask);
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
    // Claude Code writes some lines itself ("<synthetic>"): an API error it met is flagged as one
    // (or says so); others ("No response requested.") are notes, and none was a model call.
    const synthetic = msg.model === "<synthetic>";
    const apiError = o.isApiErrorMessage === true || Boolean(o.error) || (synthetic && /^API Error\b/.test(textOf(content).trim()));
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
        ev("transcript:entry", ts, { ...common, entry_id: entryId, entry_type: apiError ? "error" : "discovery", category: apiError ? "api_error" : synthetic ? "synthetic" : "assistant", summary: b.text!.trim() });
      } else if (b?.type === "thinking" && (b.thinking ?? "").trim()) {
        ev("transcript:entry", ts, { ...common, entry_id: entryId, entry_type: "discovery", category: "thinking", summary: b.thinking!.trim() });
      }
    });
    const usage = msg.usage as J | undefined;
    // A streamed response repeats its usage on each of its lines, growing: one model call each.
    if (usage && !apiError && !synthetic) respond(String(msg.id ?? o.requestId ?? uuid), String(msg.model ?? "unknown"), ts, agent, task, usage, o.costUSD);
  }

  for (const [id, r] of responses) {
    const u = { model: r.model, input_tokens: r.input, output_tokens: r.output, cache_read_tokens: r.cacheRead, cache_write_tokens: r.write5m, cache_write_1h_tokens: r.write1h };
    const cost = r.cost ?? costOf(prices, u);
    ev("llm:call", r.ts, {
      ...u, id: `${sessionId}/${id}`, response_id: id, provider: "anthropic", instance_id: r.agent, ...(r.task ? { task_id: r.task } : {}),
      ...(cost !== null ? { cost_usd: cost } : {}),
    });
  }
  for (const [t, last] of turnLast) ev("task:status", last, { task_id: t, status: "completed" });
  for (const [agent, a] of agents) {
    const agent_type = typeOf(agent, a.task);
    ev("agent:heartbeat", a.first, { instance_id: agent, status: "working", agent_type, ...(a.task ? { current_task_id: a.task } : {}) });
    ev("agent:heartbeat", a.last, { instance_id: agent, status: "completed", agent_type, ...(a.task ? { current_task_id: a.task } : {}) });
  }
  if (!subagentFile) ev("execution:status", endTs, { status: "completed" });
  if (subagentFile && !spawnedBy && taskOfFile) {
    const kind = agentIdOfFile?.startsWith("acompact") ? "compaction" : sub?.workflow ? `workflow ${sub.workflow}` : "subagent";
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
  read: (input, ctx) => given(claudeCodeEvents(input.path, input.lines(), ctx)),
};
