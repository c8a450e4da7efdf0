import fs from "node:fs";
import path from "node:path";
import type { PriceTable } from "../../pricing.js";
import { oneLine } from "../shape.js";
import { byTime, count, hashId, jsonLines, obj, str, tableCost, tokenFields, type Row, given } from "./shared.js";
import type { Adapter, AdapterResult, J, InputLine } from "./types.js";

/**
 * OpenAI Codex CLI rollouts (~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl, and
 * archived_sessions/) as obs events. Each line is {timestamp, type, payload}.
 *
 * A session (session_meta) is an execution; each user message starts a task (a turn) that the
 * agent works until the next, or until task_complete says it ended. A tool call is a
 * response_item (function_call, custom_tool_call, local_shell_call, web_search_call, …) ended by
 * the output with its call_id. Failure is not a flag in these files: it is an exit code (in the
 * output, or exec_command_end's), a patch_apply_end that did not succeed, an MCP error, or a
 * result that says the call was rejected before it ran. token_count events carry cumulative
 * totals: each rise of the total is one model call, its tokens the difference (a repeated total
 * is no call); reasoning tokens are kept as the part of the output spent reasoning.
 *
 * A subagent's rollout (session_meta.source.subagent) starts with a copy of its parent's
 * history (the parent's session_meta, messages and every event, token counts included) before
 * the subagent's own first turn. That copy is the parent's, counted when the parent's file is
 * read: here it is skipped (its token totals only set the baseline the subagent's own counts
 * rise from). The subagent is an agent of the root session's execution, its work a task of its
 * own.
 */

const ROLLOUT_TYPES = new Set(["session_meta", "response_item", "event_msg", "turn_context", "compacted"]);

function looksLikeCodex(first: J[]): boolean {
  return first.some((o) => typeof o.type === "string" && ROLLOUT_TYPES.has(o.type) && "payload" in o && !("kind" in o));
}

/** Tools that run a command: their result carries an exit code whenever the command ran. */
const SHELL_TOOLS = new Set(["shell", "container.exec", "local_shell", "shell_command", "exec_command"]);
const CATEGORY: Record<string, string> = {
  shell: "shell", "container.exec": "shell", local_shell: "shell", shell_command: "shell", exec_command: "shell", write_stdin: "shell",
  apply_patch: "file_write", view_image: "file_read", read_file: "file_read", list_dir: "file_read", grep_files: "file_read",
  web_search: "network", spawn_agent: "agent",
};

/** The beginning of a result that says the call did not do what was asked. */
const FAILED_TEXT = /^(?:[\w.\- ]{0,60}?\b(?:rejected|denied|refused)\b|[\w.\-]+ failed\b|failed\b|(?:\w+ )?error:|unsupported call\b)/i;
const EXITED = /(?:^|\n)(?:Process exited with code|Exit code:)\s*(-?\d+)/;
const RUNNING = /(?:^|\n)Process running with session ID\s+(\S+)/;
/** Header lines Codex puts before a command's output. */
const HEADER = /^(?:Chunk ID|Wall time|Process exited with code|Process running with session ID|Original token count|Total output lines|Exit code)\b.*$/;

interface ResultText {
  /** What is stored as the call's output. */
  text: string;
  /** The result proper, without Codex's header lines. */
  body: string;
  exit?: number;
  running?: string;
  success?: boolean;
}

function contentItemsText(v: unknown): string | null {
  if (!Array.isArray(v)) return null;
  return v.map((c) => (c && typeof c === "object" && typeof (c as J).text === "string" ? ((c as J).text as string) : "")).filter(Boolean).join("\n");
}

/** A tool result as Codex records it: a string, content items, {content, success}, or a JSON envelope with metadata.exit_code. */
function readResult(output: unknown): ResultText {
  let success: boolean | undefined;
  let text: string;
  const o = obj(output);
  if (typeof output === "string") text = output;
  else if (o) {
    if (typeof o.success === "boolean") success = o.success;
    text = typeof o.content === "string" ? o.content : (contentItemsText(o.content) ?? JSON.stringify(output));
  } else text = contentItemsText(output) ?? JSON.stringify(output ?? "");
  const r: ResultText = { text, body: text, ...(success !== undefined ? { success } : {}) };
  if (text.startsWith("{")) {
    try {
      const env = JSON.parse(text) as J;
      const meta = obj(env.metadata);
      if (meta && typeof meta.exit_code === "number") {
        r.exit = meta.exit_code;
        r.body = typeof env.output === "string" ? env.output : JSON.stringify(env.output ?? "");
        r.text = r.body;
        return r;
      }
    } catch {
      /* plain text that starts with a brace */
    }
  }
  const exited = EXITED.exec(text);
  if (exited) r.exit = Number(exited[1]);
  const running = RUNNING.exec(text);
  if (running) r.running = running[1];
  const lines = text.split("\n");
  let i = 0;
  while (i < lines.length && HEADER.test(lines[i]!)) i++;
  if (i > 0 && lines[i] === "Output:") i++;
  if (i > 0) r.body = lines.slice(i).join("\n");
  const items = r.body.trimStart().startsWith("[") ? (() => { try { return contentItemsText(JSON.parse(r.body)); } catch { return null; } })() : null;
  if (items !== null) r.body = items;
  return r;
}

interface Call {
  id: string;
  tool: string;
  input: unknown;
  start: string;
  line: number;
  task: string | null;
  end?: string;
  result?: ResultText;
  /** exec_command_end / patch_apply_end / mcp_tool_call_end / a poll of its process. */
  exitCode?: number;
  execOutput?: string;
  patchOk?: boolean;
  patchText?: string;
  mcpError?: string;
  /** A web search: ended when recorded. */
  searchFailed?: boolean;
}

/** Whether a call failed, and why; null while it has no result. */
function verdict(c: Call): { failed: boolean; message?: string } | null {
  if (c.patchOk !== undefined) return c.patchOk ? { failed: false } : { failed: true, message: c.patchText || "patch did not apply" };
  if (c.exitCode !== undefined) return c.exitCode === 0 ? { failed: false } : { failed: true, message: `exit code ${c.exitCode}${c.execOutput ? `: ${c.execOutput}` : ""}` };
  if (c.mcpError !== undefined) return { failed: true, message: c.mcpError };
  if (c.searchFailed !== undefined) return { failed: c.searchFailed, ...(c.searchFailed ? { message: "web search failed" } : {}) };
  const r = c.result;
  if (!r) return null;
  if (r.success === false) return { failed: true, message: r.body };
  // A command still running when it answered: its exit code is still to come.
  if (r.running !== undefined && c.tool !== "write_stdin") return null;
  // A poll of a running process reports that process's exit, not its own: it was applied there.
  if (r.exit !== undefined && c.tool !== "write_stdin") return r.exit === 0 ? { failed: false } : { failed: true, message: `exit code ${r.exit}: ${r.body}` };
  if (r.running !== undefined || r.exit !== undefined) return { failed: false };
  // A command that ran has an exit code; without one it was refused before it ran.
  if (SHELL_TOOLS.has(c.tool)) return { failed: true, message: r.body };
  if (FAILED_TEXT.test(r.body.trimStart())) return { failed: true, message: r.body };
  return { failed: false };
}

/** The milliseconds a UUIDv7 names, or undefined for other ids. */
function uuidV7Time(id: unknown): number | undefined {
  if (typeof id !== "string" || !/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/i.test(id)) return undefined;
  return parseInt(id.replace(/-/g, "").slice(0, 12), 16);
}

const subagentOf = (meta: J): J | string | undefined => {
  const source = obj(meta.source);
  const sub = source?.subagent ?? source?.sub_agent;
  return typeof sub === "string" ? sub : obj(sub);
};

/**
 * The root session of a subagent at any depth: a copied session_meta that is no subagent's
 * names it; else the parent's own rollout does (found beside this file); else the parent.
 */
function rootOf(file: string, meta: J, parent: string, depth: number, copiedMetas: J[]): string {
  if (depth <= 1) return parent;
  const root = copiedMetas.find((m) => !subagentOf(m) && typeof m.id === "string");
  if (root) return String(root.id);
  let current = parent;
  for (let hops = 0; hops < 16; hops++) {
    const parentMeta = findRolloutMeta(file, current);
    const spawn = parentMeta ? obj(obj(subagentOf(parentMeta))?.thread_spawn) : undefined;
    const next = str(spawn?.parent_thread_id) ?? str(parentMeta?.parent_thread_id);
    if (!parentMeta || !next) return current;
    current = next;
  }
  return current;
}

/** The session_meta of the rollout of thread `id` in the sessions folders around `file`. */
function findRolloutMeta(file: string, id: string): J | undefined {
  let dir = path.dirname(path.resolve(file));
  for (let up = 0; up < 4 && !/^(archived_)?sessions$/.test(path.basename(dir)); up++) dir = path.dirname(dir);
  const roots = /^(archived_)?sessions$/.test(path.basename(dir)) ? [path.join(path.dirname(dir), "sessions"), path.join(path.dirname(dir), "archived_sessions")] : [path.dirname(path.resolve(file))];
  const stack = roots.filter((d) => fs.existsSync(d));
  while (stack.length) {
    const d = stack.pop()!;
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) stack.push(p);
      else if (ent.name.endsWith(`${id}.jsonl`)) {
        const first = fs.readFileSync(p, "utf8").split("\n", 1)[0] ?? "";
        try {
          const o = JSON.parse(first) as J;
          if (o.type === "session_meta") return obj(o.payload);
        } catch {
          return undefined;
        }
      }
    }
  }
  return undefined;
}

/** Text of a response_item message's content. */
function messageText(p: J): string {
  const c = p.content;
  if (typeof c === "string") return c;
  if (!Array.isArray(c)) return "";
  return c.map((b) => (b && typeof b === "object" && typeof (b as J).text === "string" ? ((b as J).text as string) : "")).filter(Boolean).join("\n");
}

/** Text Codex adds to the conversation itself (instructions, environment), not the user's words. */
const INJECTED = /^\s*(?:<environment_context>|<user_instructions>|<INSTRUCTIONS>|# AGENTS\.md instructions|<user_shell_command>|<turn_aborted>)/;

function codexEvents(file: string, input: Iterable<InputLine>, prices: PriceTable): AdapterResult {
  const { rows, bad } = jsonLines(file, input);
  const lines = rows.length + bad.length;
  let skipped = 0;
  const metaIndex = rows.findIndex((r) => r.o.type === "session_meta");
  const meta = metaIndex >= 0 ? (obj(rows[metaIndex]!.o.payload) ?? {}) : {};
  const fromName = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$/i.exec(file)?.[1];
  const sessionId = str(meta.id) ?? fromName ?? (rows.length ? `codex-${hashId(rows[0]!.o)}` : null);
  if (!sessionId) return { events: [], skipped: 0, bad, lines, executionId: null };

  // A child (subagent or fork) replays its parent's history after a copy of the parent's session_meta.
  const sub = subagentOf(meta);
  const spawn = obj(obj(sub)?.thread_spawn);
  const isSubagent = sub !== undefined || meta.thread_source === "subagent";
  const parentId = str(spawn?.parent_thread_id) ?? str(meta.parent_thread_id) ?? (isSubagent ? str(meta.forked_from_id) : undefined);
  let replayFrom = -1;
  let replayTo = -1;
  if (isSubagent || str(meta.forked_from_id)) {
    replayFrom = rows.findIndex((r, i) => i > metaIndex && r.o.type === "session_meta" && obj(r.o.payload)?.id !== sessionId);
    if (replayFrom >= 0) {
      const createdMs = Date.parse(String(meta.timestamp ?? rows[metaIndex]?.o.timestamp ?? ""));
      replayTo = rows.findIndex((r, i) => {
        if (i <= replayFrom || r.o.type !== "event_msg") return false;
        const p = obj(r.o.payload) ?? {};
        if (p.type !== "task_started" && p.type !== "turn_started") return false;
        // The parent's copied turns started before the child existed; its own first one after.
        if (typeof p.started_at === "number") return p.started_at >= Math.floor(createdMs / 1000);
        const t = uuidV7Time(p.turn_id);
        return t !== undefined && t >= createdMs - 1000;
      });
      if (replayTo < 0) replayTo = rows.length;
    }
  }
  const inReplay = (i: number) => replayFrom >= 0 && i >= replayFrom && i < replayTo;
  const copiedMetas = rows.filter((r, i) => inReplay(i) && r.o.type === "session_meta").map((r) => obj(r.o.payload) ?? {});
  const exec = isSubagent && parentId ? rootOf(file, meta, parentId, count(spawn?.depth) || 1, copiedMetas) : sessionId;
  const subagent = exec !== sessionId;
  const agent = subagent ? `${exec}/${sessionId}` : `${sessionId}/main`;
  const agentTask = subagent ? `agent-${sessionId}` : null;

  const events: J[] = [];
  const ev = (kind: string, ts: string, fields: J) => events.push({ kind, execution_id: exec, timestamp: ts, ...fields });
  const own = rows.filter((_, i) => !inReplay(i) && i !== metaIndex);
  const hasUserEvents = own.some((r) => r.o.type === "event_msg" && obj(r.o.payload)?.type === "user_message");
  const hasTaskEvents = own.some((r) => r.o.type === "event_msg" && /^(task|turn)_(started|complete)$/.test(String(obj(r.o.payload)?.type)));

  let lastTs = String(rows[metaIndex >= 0 ? metaIndex : 0]?.o.timestamp ?? meta.timestamp ?? "");
  const firstTs = lastTs;
  let model = str(meta.model) ?? "unknown";
  const provider = str(meta.model_provider) ?? "openai";
  let prev: { input: number; cached: number; output: number; reasoning: number; total: number } | null = null;
  let resets = 0;

  interface Turn { id: string; start: string; last: string; ended?: "completed" | "failed" }
  const turns: Turn[] = [];
  let turn: Turn | null = null;
  let pendingTurnId: string | undefined;
  let firstPrompt: string | undefined;
  let firstActivity: string | undefined;
  const calls = new Map<string, Call>();
  const processes = new Map<string, Call>();
  const searchEnds: { id: string; query: string; ts: string }[] = [];
  const touch = (ts: string) => {
    firstActivity ??= ts;
    if (turn) turn.last = ts;
  };
  const taskId = () => (subagent ? agentTask : (turn?.id ?? null));
  const common = () => ({ instance_id: agent, ...(taskId() ? { task_id: taskId() } : {}) });

  const startTurn = (ts: string, n: number, prompt: string) => {
    touch(ts);
    firstPrompt ??= prompt;
    if (!subagent) {
      turn = { id: pendingTurnId ?? `${sessionId}/turn@${n}`, start: ts, last: ts };
      pendingTurnId = undefined;
      turns.push(turn);
      ev("task:status", ts, { task_id: turn.id, status: "running", title: oneLine(prompt), display_id: `turn ${turns.length}`, instance_id: agent });
    }
    ev("transcript:entry", ts, { ...common(), entry_id: `${sessionId}@${n}`, entry_type: "task_start", category: "user", summary: prompt });
  };
  const newCall = (id: string, tool: string, input: unknown, ts: string, n: number): Call => {
    const c: Call = { id, tool, input, start: ts, line: n, task: taskId() };
    calls.set(id, c);
    touch(ts);
    return c;
  };
  const callFor = (id: string, ts: string, n: number): Call => calls.get(id) ?? newCall(id, "unknown", {}, ts, n);

  rows.forEach((r: Row, i) => {
    const { o, n } = r;
    const ts = typeof o.timestamp === "string" && o.timestamp ? o.timestamp : lastTs;
    if (ts) lastTs = ts;
    const p = obj(o.payload) ?? {};
    const type = String(p.type ?? "");
    if (i === metaIndex) return;
    if (inReplay(i)) {
      // The parent's copy: counted when the parent's file is read. Its totals set our baseline.
      const total = o.type === "event_msg" && type === "token_count" ? obj(obj(p.info)?.total_token_usage) : undefined;
      if (total) prev = { input: count(total.input_tokens), cached: count(total.cached_input_tokens), output: count(total.output_tokens), reasoning: count(total.reasoning_output_tokens), total: count(total.total_tokens) };
      skipped++;
      return;
    }
    switch (o.type) {
      case "session_meta":
        skipped++;
        return;
      case "turn_context":
        if (typeof p.model === "string") model = p.model;
        if (typeof p.turn_id === "string" && (!turn || turn.id !== p.turn_id)) pendingTurnId = p.turn_id;
        skipped++;
        return;
      case "compacted":
        touch(ts);
        ev("transcript:entry", ts, { ...common(), entry_id: `${sessionId}@${n}`, entry_type: "checkpoint", category: "compaction", summary: str(p.message) ?? "context compacted" });
        return;
      case "event_msg":
        return eventMsg(p, type, ts, n);
      case "response_item":
        return responseItem(p, type, ts, n);
      default:
        skipped++;
    }
  });

  function eventMsg(p: J, type: string, ts: string, n: number): void {
    switch (type) {
      case "task_started":
      case "turn_started":
        if (typeof p.turn_id === "string") pendingTurnId = p.turn_id;
        skipped++;
        return;
      case "task_complete":
      case "turn_complete":
        if (turn && (!p.turn_id || p.turn_id === turn.id)) {
          turn.ended = "completed";
          turn.last = ts;
        }
        skipped++;
        return;
      case "turn_aborted":
        if (turn) {
          turn.ended = "failed";
          turn.last = ts;
        }
        ev("transcript:entry", ts, { ...common(), entry_id: `${sessionId}@${n}`, entry_type: "error", category: "turn_aborted", summary: `turn aborted: ${str(p.reason) ?? "unknown reason"}` });
        return;
      case "user_message": {
        const prompt = (str(p.message) ?? "").trim();
        if (!prompt || INJECTED.test(prompt)) {
          skipped++;
          return;
        }
        startTurn(ts, n, prompt);
        return;
      }
      case "token_count": {
        const total = obj(obj(p.info)?.total_token_usage);
        if (!total) {
          skipped++; // rate limits only
          return;
        }
        const cur = { input: count(total.input_tokens), cached: count(total.cached_input_tokens), output: count(total.output_tokens), reasoning: count(total.reasoning_output_tokens), total: count(total.total_tokens) };
        if (!cur.total) cur.total = cur.input + cur.output;
        if (prev && cur.total < prev.total) {
          resets++; // a count that started again from zero
          prev = null;
        }
        if (prev && cur.total === prev.total) {
          skipped++; // the same total again: no new call
          return;
        }
        const base = prev ?? { input: 0, cached: 0, output: 0, reasoning: 0, total: 0 };
        prev = cur;
        const input = Math.max(0, cur.input - base.input);
        const cached = Math.min(input, Math.max(0, cur.cached - base.cached));
        const output = Math.max(0, cur.output - base.output);
        const tokens = { model, input_tokens: input - cached, output_tokens: output, cache_read_tokens: cached, cache_write_tokens: 0, cache_write_1h_tokens: 0, reasoning_tokens: Math.min(output, Math.max(0, cur.reasoning - base.reasoning)) };
        const cost = tableCost(prices, tokens);
        touch(ts);
        ev("llm:call", ts, {
          id: `${sessionId}/usage@${cur.total}${resets ? `#${resets}` : ""}`, provider, ...tokenFields(tokens), ...common(),
          ...(cost !== null ? { cost_usd: cost } : {}),
        });
        return;
      }
      case "exec_command_end": {
        const id = str(p.call_id);
        if (!id) return void skipped++;
        const c = callFor(id, ts, n);
        if (typeof p.exit_code === "number") c.exitCode = p.exit_code;
        c.execOutput = (str(p.stderr) ?? str(p.aggregated_output) ?? str(p.formatted_output) ?? str(p.stdout) ?? "").slice(0, 2000);
        c.end = ts;
        touch(ts);
        return;
      }
      case "patch_apply_end": {
        const id = str(p.call_id);
        if (!id) return void skipped++;
        const c = callFor(id, ts, n);
        c.patchOk = p.success !== false;
        c.patchText = str(p.stderr) ?? str(p.stdout);
        c.end ??= ts;
        touch(ts);
        return;
      }
      case "mcp_tool_call_end": {
        const id = str(p.call_id);
        if (!id) return void skipped++;
        const c = callFor(id, ts, n);
        const res = obj(p.result);
        const ok = obj(res?.Ok);
        if (res && "Err" in res) c.mcpError = typeof res.Err === "string" ? res.Err : JSON.stringify(res.Err);
        else if (ok && (ok.isError === true || ok.is_error === true)) c.mcpError = contentItemsText(ok.content) || "the MCP tool reported an error";
        c.end ??= ts;
        touch(ts);
        return;
      }
      case "web_search_end":
        searchEnds.push({ id: str(p.call_id) ?? `${sessionId}/web_search@${n}`, query: String(p.query ?? obj(p.action)?.query ?? ""), ts });
        skipped++;
        return;
      case "error":
      case "stream_error":
        touch(ts);
        ev("transcript:entry", ts, { ...common(), entry_id: `${sessionId}@${n}`, entry_type: "error", category: type, summary: str(p.message) ?? type });
        return;
      case "context_compacted":
        touch(ts);
        ev("transcript:entry", ts, { ...common(), entry_id: `${sessionId}@${n}`, entry_type: "checkpoint", category: "compaction", summary: "context compacted" });
        return;
      default:
        // agent_message and agent_reasoning repeat response items; begin events precede what ends them.
        skipped++;
    }
  }

  function responseItem(p: J, type: string, ts: string, n: number): void {
    if (type === "message") {
      const role = String(p.role ?? "");
      const msg = messageText(p).trim();
      if (role === "user" && !hasUserEvents && msg && !INJECTED.test(msg)) return startTurn(ts, n, msg);
      if (role === "assistant" && msg) {
        touch(ts);
        ev("transcript:entry", ts, { ...common(), entry_id: `${sessionId}@${n}`, entry_type: "discovery", category: "assistant", summary: msg });
        return;
      }
      skipped++;
      return;
    }
    if (type === "reasoning") {
      const summary = Array.isArray(p.summary) ? contentItemsText(p.summary) : "";
      if (summary && summary.trim()) {
        touch(ts);
        ev("transcript:entry", ts, { ...common(), entry_id: `${sessionId}@${n}`, entry_type: "discovery", category: "thinking", summary: summary.trim() });
      } else skipped++;
      return;
    }
    if (type === "web_search_call") {
      const action = obj(p.action) ?? {};
      const query = String(action.query ?? "");
      const k = searchEnds.findIndex((s) => s.query === query);
      const end = k >= 0 ? searchEnds.splice(k, 1)[0] : undefined;
      const c = newCall(str(p.id) ?? end?.id ?? `${sessionId}/web_search@${n}`, "web_search", action, end && end.ts < ts ? end.ts : ts, n);
      c.end = ts;
      if (p.status !== "in_progress" && p.status !== "searching") c.searchFailed = p.status === "failed";
      return;
    }
    if (type.endsWith("_call")) {
      const id = str(p.call_id) ?? str(p.id) ?? `${sessionId}/${type}@${n}`;
      const tool = str(p.name) ?? (type === "local_shell_call" ? "local_shell" : type.replace(/_call$/, ""));
      let input: unknown = p.input ?? p.action ?? p.arguments ?? {};
      if (typeof p.arguments === "string") {
        try {
          input = JSON.parse(p.arguments);
        } catch {
          input = p.arguments;
        }
      }
      const existing = calls.get(id);
      if (existing) Object.assign(existing, { tool, input, start: ts, line: n });
      else newCall(id, tool, input, ts, n);
      return;
    }
    if (type.endsWith("_output") && typeof p.call_id === "string") {
      const c = callFor(p.call_id, ts, n);
      c.result = readResult(p.output);
      c.end = c.end && c.end > ts ? c.end : ts;
      touch(ts);
      // The command that started a process, not a poll that found it still running.
      if (c.result.running !== undefined && c.tool !== "write_stdin" && !processes.has(c.result.running)) processes.set(c.result.running, c);
      // A poll that saw its process exit: the exit belongs to the command that started it.
      const sessionRef = obj(c.input)?.session_id;
      const target = sessionRef !== undefined ? processes.get(String(sessionRef)) : undefined;
      if (c.tool === "write_stdin" && c.result.exit !== undefined && target && target !== c && target.exitCode === undefined) {
        target.exitCode = c.result.exit;
        target.execOutput = c.result.body.slice(0, 2000);
        target.end = ts;
      }
      return;
    }
    skipped++; // ghost snapshots, compaction markers and what else carries no work
  }

  for (const c of calls.values()) {
    ev("tool:start", c.start, {
      instance_id: agent, ...(c.task ? { task_id: c.task } : {}), tool_use_id: c.id, tool: c.tool, input: c.input ?? {},
      entry_id: `${sessionId}@${c.line}`, ...(CATEGORY[c.tool] ? { tool_category: CATEGORY[c.tool] } : {}),
    });
    const v = verdict(c);
    if (!v) continue;
    ev("tool:end", c.end ?? c.start, {
      instance_id: agent, tool_use_id: c.id, is_error: v.failed,
      ...(c.result ? { output: c.result.text } : c.execOutput ? { output: c.execOutput } : {}),
      ...(v.failed ? { error_message: (v.message ?? "").slice(0, 2000) } : {}),
    });
  }
  const endTs = lastTs;
  turns.forEach((t, k) => {
    if (t.ended) return void ev("task:status", t.last, { task_id: t.id, status: t.ended });
    // The last turn of a session that says when turns end is still being worked.
    if (k < turns.length - 1 || !hasTaskEvents) ev("task:status", t.last, { task_id: t.id, status: "completed" });
  });
  const stillWorking = turns.length > 0 && !turns[turns.length - 1]!.ended && hasTaskEvents;
  if (firstActivity) {
    const role = str(spawn?.agent_role) ?? str(meta.agent_role);
    const heartbeat = {
      instance_id: agent, ...(agentTask ? { current_task_id: agentTask } : {}), ...(subagent && role ? { agent_type: role } : {}),
      ...(subagent ? { metrics: { parent_thread_id: parentId, nickname: spawn?.agent_nickname ?? meta.agent_nickname ?? null, role: spawn?.agent_role ?? meta.agent_role ?? null, depth: spawn?.depth ?? null } } : {}),
    };
    ev("agent:heartbeat", firstActivity, { ...heartbeat, status: "working" });
    if (!stillWorking) ev("agent:heartbeat", endTs, { ...heartbeat, status: "completed" });
  }
  if (subagent && agentTask && firstActivity) {
    const who = [str(spawn?.agent_role) ?? str(meta.agent_role) ?? "subagent", str(spawn?.agent_nickname) ?? str(meta.agent_nickname)].filter(Boolean).join(" ");
    ev("task:status", firstActivity, { task_id: agentTask, status: "running", title: oneLine(firstPrompt ? `${who}: ${firstPrompt}` : who), display_id: "subagent" });
    if (!stillWorking) ev("task:status", endTs, { task_id: agentTask, status: "completed" });
  }
  if (!subagent && firstTs) {
    const cwd = str(meta.cwd);
    const branch = str(obj(meta.git)?.branch);
    ev("execution:status", firstTs, {
      status: "started", ...(cwd ? { task_list_id: path.basename(cwd), cwd } : {}), ...(branch ? { git_branch: branch } : {}),
    });
    if (!stillWorking) ev("execution:status", endTs, { status: "completed" });
  }
  return { events: byTime(events), skipped, bad, lines, executionId: exec };
}

export const codex: Adapter = {
  format: "codex",
  describes: "OpenAI Codex CLI rollouts (~/.codex/sessions/…/rollout-*.jsonl)",
  detect: (head) => looksLikeCodex(head.objects),
  read: (input, ctx) => given(codexEvents(input.path, input.lines(), ctx.prices)),
};
