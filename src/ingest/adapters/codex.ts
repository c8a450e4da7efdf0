import fs from "node:fs";
import path from "node:path";
import type { PriceTable } from "../../pricing.js";
import { oneLine } from "../shape.js";
import { parseJson } from "../text.js";
import { byTime, changed, cmpTime, Column, count, hashId, jsonLine, obj, str, tableCost, TimeColumn, timeOf, tokenFields, type Row, type Time } from "./shared.js";
import type { Adapter, AdapterContext, AdapterInput, AdapterRead, BadLine, J } from "./types.js";

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
      const env = parseJson(text) as J;
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
  /** Its place among the calls: the order they were first named in. */
  slot: number;
  /** The last rows that changed its start, and it at all: its events wait for them. */
  startRow: number;
  endRow: number;
  /** The session_id its input names (a poll of a running process). */
  sessionRef?: unknown;
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
function rootOf(file: string, meta: J, parent: string, depth: number, rootId: string | undefined): string {
  if (depth <= 1) return parent;
  if (rootId !== undefined) return rootId;
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

/** A file's first line, read up to its newline (a parent's rollout may be big: only its session_meta is wanted). */
function firstLine(file: string): string {
  const fd = fs.openSync(file, "r");
  try {
    const parts: Buffer[] = [];
    const buf = Buffer.alloc(64 * 1024);
    for (let pos = 0; ; ) {
      const got = fs.readSync(fd, buf, 0, buf.length, pos);
      if (got === 0) break;
      const nl = buf.subarray(0, got).indexOf(0x0a);
      parts.push(Buffer.from(buf.subarray(0, nl >= 0 ? nl : got)));
      if (nl >= 0) break;
      pos += got;
    }
    return Buffer.concat(parts).toString("utf8");
  } finally {
    fs.closeSync(fd);
  }
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
        const first = firstLine(p);
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

/** What the first reading learns of the file as a whole, before any line's events are made. */
interface Facts {
  /** The line of the session's own session_meta (the first), or -1. */
  metaN: number;
  meta: J;
  sessionId: string | null;
  /** The lines [replayFrom, replayTo) are a parent's history copied into a child's rollout (replayFrom -1: none). */
  replayFrom: number;
  replayTo: number;
  /** The id of the first copied session_meta that is no subagent's: the root session of a subagent at any depth. */
  rootId: string | undefined;
  hasUserEvents: boolean;
  hasTaskEvents: boolean;
  /** The session's first time: its session_meta line's (or first line's). */
  startTs: string;
}

/**
 * The lines that say what the file is as a whole: only these are parsed for the facts when a
 * file is too big to keep (Codex writes these type names as they are, never escaped).
 */
const FACT_LINE = /session_meta|user_message|t(?:ask|urn)_(?:started|complete)/;

/** Gathers the Facts from a file's rows in file order (rows that hold none of FACT_LINE may be left out, but the first). */
class FactFinder {
  private seenFirst = false;
  private firstHash = "";
  private firstTs: unknown;
  private metaTs: unknown;
  private canReplay = false;
  private createdMs = NaN;
  readonly f: Facts = { metaN: -1, meta: {}, sessionId: null, replayFrom: -1, replayTo: Infinity, rootId: undefined, hasUserEvents: false, hasTaskEvents: false, startTs: "" };
  constructor(private readonly fromName: string | undefined) {}
  /** Whether a line's row is needed whatever it holds. */
  get wantsAny(): boolean {
    return !this.seenFirst;
  }
  row(o: J, n: number): void {
    const f = this.f;
    if (!this.seenFirst) {
      this.seenFirst = true;
      this.firstTs = o.timestamp;
      if (o.type !== "session_meta" || !str(obj(o.payload)?.id)) this.firstHash = hashId(o);
    }
    const p = obj(o.payload);
    if (o.type === "session_meta" && f.metaN < 0) {
      f.metaN = n;
      f.meta = p ?? {};
      this.metaTs = o.timestamp;
      f.sessionId = str(f.meta.id) ?? this.fromName ?? `codex-${this.firstHash}`;
      const sub = subagentOf(f.meta);
      this.canReplay = sub !== undefined || f.meta.thread_source === "subagent" || str(f.meta.forked_from_id) !== undefined;
      this.createdMs = Date.parse(String(f.meta.timestamp ?? o.timestamp ?? ""));
      return;
    }
    if (f.replayFrom < 0) {
      if (this.canReplay && o.type === "session_meta" && p?.id !== f.sessionId) f.replayFrom = n;
    } else if (f.replayTo === Infinity && o.type === "event_msg") {
      const q = p ?? {};
      if (q.type === "task_started" || q.type === "turn_started") {
        // The parent's copied turns started before the child existed; its own first one after.
        let own = false;
        if (typeof q.started_at === "number") own = q.started_at >= Math.floor(this.createdMs / 1000);
        else {
          const t = uuidV7Time(q.turn_id);
          own = t !== undefined && t >= this.createdMs - 1000;
        }
        if (own) f.replayTo = n;
      }
    }
    if (f.replayFrom >= 0 && n >= f.replayFrom && n < f.replayTo) {
      const m = p ?? {};
      if (o.type === "session_meta" && f.rootId === undefined && !subagentOf(m) && typeof m.id === "string") f.rootId = String(m.id);
      return;
    }
    if (o.type === "event_msg") {
      if (p?.type === "user_message") f.hasUserEvents = true;
      if (/^(task|turn)_(started|complete)$/.test(String(p?.type))) f.hasTaskEvents = true;
    }
  }
  done(): Facts {
    const f = this.f;
    if (f.metaN < 0) f.sessionId = this.fromName ?? (this.seenFirst ? `codex-${this.firstHash}` : null);
    f.startTs = String((f.metaN >= 0 ? this.metaTs : this.firstTs) ?? f.meta.timestamp ?? "");
    return f;
  }
}

/**
 * How a file is read: whole (its parsed lines in memory, its events sorted by time at the end);
 * the first of two readings of a big file (what is found kept, lines' texts let go); the second
 * (each line's events as they come).
 */
type Mode = "whole" | "facts" | "events";

interface Machine {
  /** Takes the file's next row (of number i); gives its time. */
  step(o: J, n: number, i: number): string;
  /** The events its rows made (whole), or the events of the row just taken (events). */
  lineEvents: J[];
  /** The calls in the order they were first named (their events' order among equal times). */
  slots: Call[];
  /** What is given after every line: calls' events (whole), then turns', agents' and the session's ends. */
  finish(): { calls: J[]; ends: J[] };
  skipped(): number;
  exec: string;
  toolStart(c: Call): J;
  toolEnd(c: Call): J | null;
}

/**
 * The state a rollout's lines build, line by line (the rules of the file header). A "facts"
 * machine keeps of a call only what decides its events' times and whether it ends, not its
 * input and output; the others keep all.
 */
function machine(file: string, facts: Facts, prices: PriceTable, mode: Mode): Machine {
  const full = mode !== "facts";
  const { meta, metaN } = facts;
  const sessionId = facts.sessionId!;
  const sub = subagentOf(meta);
  const spawn = obj(obj(sub)?.thread_spawn);
  const isSubagent = sub !== undefined || meta.thread_source === "subagent";
  const parentId = str(spawn?.parent_thread_id) ?? str(meta.parent_thread_id) ?? (isSubagent ? str(meta.forked_from_id) : undefined);
  const inReplay = (n: number) => facts.replayFrom >= 0 && n >= facts.replayFrom && n < facts.replayTo;
  const exec = isSubagent && parentId ? rootOf(file, meta, parentId, count(spawn?.depth) || 1, facts.rootId) : sessionId;
  const subagent = exec !== sessionId;
  const agent = subagent ? `${exec}/${sessionId}` : `${sessionId}/main`;
  const agentTask = subagent ? `agent-${sessionId}` : null;
  const { hasUserEvents, hasTaskEvents } = facts;

  let skipped = 0;
  let lineEvents: J[] = [];
  const ev = (kind: string, ts: string, fields: J) => {
    lineEvents.push({ kind, execution_id: exec, timestamp: ts, ...fields });
  };

  let lastTs = facts.startTs;
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
  const slots: Call[] = [];
  const processes = new Map<string, Call>();
  const searchEnds: { id: string; query: string; ts: string }[] = [];
  let row = -1;
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
  /** What a call's input says of the process it writes to (a poll's session_id). */
  const setInput = (c: Call, input: unknown) => {
    c.sessionRef = obj(input)?.session_id;
    c.input = full ? input : undefined;
  };
  const newCall = (id: string, tool: string, input: unknown, ts: string, n: number): Call => {
    const had = calls.get(id);
    const c: Call = { id, tool, input: undefined, start: ts, line: n, task: taskId(), slot: had ? had.slot : slots.length, startRow: row, endRow: row };
    setInput(c, input);
    slots[c.slot] = c;
    calls.set(id, c);
    touch(ts);
    return c;
  };
  /** The call named `id`, to be changed by this row (its events wait for it). */
  const callFor = (id: string, ts: string, n: number): Call => {
    const c = calls.get(id);
    if (!c) return newCall(id, "unknown", {}, ts, n);
    c.endRow = row;
    return c;
  };

  function step(o: J, n: number, i: number): string {
    row = i;
    const ts = typeof o.timestamp === "string" && o.timestamp ? o.timestamp : lastTs;
    if (ts) lastTs = ts;
    const p = obj(o.payload) ?? {};
    const type = String(p.type ?? "");
    if (n === metaN) return ts;
    if (inReplay(n)) {
      // The parent's copy: counted when the parent's file is read. Its totals set our baseline.
      const total = o.type === "event_msg" && type === "token_count" ? obj(obj(p.info)?.total_token_usage) : undefined;
      if (total) prev = { input: count(total.input_tokens), cached: count(total.cached_input_tokens), output: count(total.output_tokens), reasoning: count(total.reasoning_output_tokens), total: count(total.total_tokens) };
      skipped++;
      return ts;
    }
    switch (o.type) {
      case "session_meta":
        skipped++;
        break;
      case "turn_context":
        if (typeof p.model === "string") model = p.model;
        if (typeof p.turn_id === "string" && (!turn || turn.id !== p.turn_id)) pendingTurnId = p.turn_id;
        skipped++;
        break;
      case "compacted":
        touch(ts);
        ev("transcript:entry", ts, { ...common(), entry_id: `${sessionId}@${n}`, entry_type: "checkpoint", category: "compaction", summary: str(p.message) ?? "context compacted" });
        break;
      case "event_msg":
        eventMsg(p, type, ts, n);
        break;
      case "response_item":
        responseItem(p, type, ts, n);
        break;
      default:
        skipped++;
    }
    return ts;
  }

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
        c.execOutput = full ? (str(p.stderr) ?? str(p.aggregated_output) ?? str(p.formatted_output) ?? str(p.stdout) ?? "").slice(0, 2000) : "";
        c.end = ts;
        touch(ts);
        return;
      }
      case "patch_apply_end": {
        const id = str(p.call_id);
        if (!id) return void skipped++;
        const c = callFor(id, ts, n);
        c.patchOk = p.success !== false;
        c.patchText = full ? (str(p.stderr) ?? str(p.stdout)) : undefined;
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
        if (res && "Err" in res) c.mcpError = !full ? "" : typeof res.Err === "string" ? res.Err : JSON.stringify(res.Err);
        else if (ok && (ok.isError === true || ok.is_error === true)) c.mcpError = !full ? "" : contentItemsText(ok.content) || "the MCP tool reported an error";
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
          input = parseJson(p.arguments);
        } catch {
          input = p.arguments;
        }
      }
      const existing = calls.get(id);
      if (existing) {
        Object.assign(existing, { tool, start: ts, line: n, startRow: row, endRow: row });
        setInput(existing, input);
      } else newCall(id, tool, input, ts, n);
      return;
    }
    if (type.endsWith("_output") && typeof p.call_id === "string") {
      const c = callFor(p.call_id, ts, n);
      const r = readResult(p.output);
      c.result = full ? r : { text: "", body: "", ...(r.exit !== undefined ? { exit: r.exit } : {}), ...(r.running !== undefined ? { running: r.running } : {}), ...(r.success !== undefined ? { success: r.success } : {}) };
      c.end = c.end && c.end > ts ? c.end : ts;
      touch(ts);
      // The command that started a process, not a poll that found it still running.
      if (c.result.running !== undefined && c.tool !== "write_stdin" && !processes.has(c.result.running)) processes.set(c.result.running, c);
      // A poll that saw its process exit: the exit belongs to the command that started it.
      const sessionRef = c.sessionRef;
      const target = sessionRef !== undefined ? processes.get(String(sessionRef)) : undefined;
      if (c.tool === "write_stdin" && c.result.exit !== undefined && target && target !== c && target.exitCode === undefined) {
        target.exitCode = c.result.exit;
        target.execOutput = c.result.body.slice(0, 2000);
        target.end = ts;
        target.endRow = row;
      }
      return;
    }
    skipped++; // ghost snapshots, compaction markers and what else carries no work
  }

  const toolStart = (c: Call): J => ({
    kind: "tool:start", execution_id: exec, timestamp: c.start,
    instance_id: agent, ...(c.task ? { task_id: c.task } : {}), tool_use_id: c.id, tool: c.tool, input: c.input ?? {},
    entry_id: `${sessionId}@${c.line}`, ...(CATEGORY[c.tool] ? { tool_category: CATEGORY[c.tool] } : {}),
  });
  const toolEnd = (c: Call): J | null => {
    const v = verdict(c);
    if (!v) return null;
    return {
      kind: "tool:end", execution_id: exec, timestamp: c.end ?? c.start,
      instance_id: agent, tool_use_id: c.id, is_error: v.failed,
      ...(c.result ? { output: c.result.text } : c.execOutput ? { output: c.execOutput } : {}),
      ...(v.failed ? { error_message: (v.message ?? "").slice(0, 2000) } : {}),
    };
  };

  function finish(): { calls: J[]; ends: J[] } {
    const callEvents: J[] = [];
    if (mode === "whole") {
      for (const c of slots) {
        callEvents.push(toolStart(c));
        const e = toolEnd(c);
        if (e) callEvents.push(e);
      }
    }
    lineEvents = [];
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
      // Named: a rollout read again as it grows moves the agent's end, not adds one.
      if (!stillWorking) ev("agent:heartbeat", endTs, { ...heartbeat, status: "completed", heartbeat_id: `${agent}@end` });
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
    return { calls: callEvents, ends: lineEvents };
  }

  return {
    step,
    get lineEvents() {
      return lineEvents;
    },
    set lineEvents(v: J[]) {
      lineEvents = v;
    },
    slots,
    finish,
    skipped: () => skipped,
    exec,
    toolStart,
    toolEnd,
  };
}

/** Up to this many characters of lines, a rollout's parsed lines are kept and it is read once (OBS_CODEX_KEEP_CHARS sets another bound: tests stream small rollouts with it). */
const KEEP_CHARS = process.env.OBS_CODEX_KEEP_CHARS !== undefined && process.env.OBS_CODEX_KEEP_CHARS !== "" && Number(process.env.OBS_CODEX_KEEP_CHARS) >= 0 ? Number(process.env.OBS_CODEX_KEEP_CHARS) : 8 * 1024 * 1024;

const fileNameId = (file: string) => /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$/i.exec(file)?.[1];

/**
 * A rollout's events. A small one is read once, its parsed lines kept, and its events sorted by
 * time at the end. A big one is never held whole: a first reading parses only the lines that
 * say what the file is (its session_meta, whether it has user_message and task events, where a
 * child's copy of its parent's history ends); a second keeps a few facts per line (its number,
 * length, time, whether it makes events) and per call (its times, the last lines that change it,
 * whether it ends), from which the time order of every event is worked out; a third makes each
 * line's events and gives them in that order as they come, holding only what waits for a later
 * line (a call until its output). The events are those of the whole-file reading, in its order.
 */
function* codexRead(input: AdapterInput, ctx: AdapterContext): AdapterRead {
  const file = input.path;
  const prices = ctx.prices;
  const finder = new FactFinder(fileNameId(file));
  let kept: Row[] | null = [];
  let keptChars = 0;
  let bad: BadLine[] = [];
  const scratch: BadLine[] = [];
  // The lines the facts were found in (their numbers and lengths): the next reading checks they are still what they were.
  const factLines: number[] = [];
  for (const { text, n, invalid } of input.lines()) {
    if (kept) {
      const o = jsonLine(file, text, n, invalid, bad);
      if (!o) continue;
      keptChars += text.length;
      if (keptChars <= KEEP_CHARS) kept.push({ o, n });
      else kept = null;
      if (finder.wantsAny || FACT_LINE.test(text)) factLines.push(n, text.length);
      finder.row(o, n);
      continue;
    }
    if (!finder.wantsAny && !FACT_LINE.test(text)) continue;
    const o = jsonLine(file, text, n, invalid, scratch);
    scratch.length = 0;
    if (!o) continue;
    factLines.push(n, text.length);
    finder.row(o, n);
  }
  const facts = finder.done();

  if (kept) {
    const lines = kept.length + bad.length;
    if (!facts.sessionId) return { skipped: 0, bad, lines, executionId: null };
    const m = machine(file, facts, prices, "whole");
    kept.forEach((r, i) => m.step(r.o, r.n, i));
    kept = null;
    const rowEvents = m.lineEvents;
    const { calls, ends } = m.finish();
    yield* byTime([...rowEvents, ...calls, ...ends]);
    return { skipped: m.skipped(), bad, lines, executionId: m.exec };
  }

  // ---- second reading: a few facts per line and per call ----
  bad = [];
  let rows = 0;
  const nOf = new Column((k) => new Int32Array(k));
  const lenOf = new Column((k) => new Int32Array(k));
  const emits = new Column((k) => new Uint8Array(k));
  const rowTime = new TimeColumn();
  if (!facts.sessionId) {
    for (const { text, n, invalid } of input.lines()) if (jsonLine(file, text, n, invalid, bad)) rows++;
    return { skipped: 0, bad, lines: rows + bad.length, executionId: null };
  }
  const pre = machine(file, facts, prices, "facts");
  let emitting = 0;
  let nextFact = 0;
  for (const { text, n, invalid } of input.lines()) {
    const o = jsonLine(file, text, n, invalid, bad);
    if (!o) continue;
    const i = rows++;
    if (i === 0 || FACT_LINE.test(text)) {
      if (factLines[nextFact] !== n || factLines[nextFact + 1] !== text.length) throw changed(file, Math.min(n, factLines[nextFact] ?? n));
      nextFact += 2;
    }
    nOf.set(i, n);
    lenOf.set(i, text.length);
    pre.lineEvents = [];
    rowTime.set(i, pre.step(o, n, i));
    if (pre.lineEvents.length) {
      emits.set(i, 1);
      emitting++;
    }
  }
  if (nextFact < factLines.length) throw changed(file, factLines[nextFact]!);
  pre.lineEvents = [];
  const lines = rows + bad.length;
  const { ends } = pre.finish();
  const skipped = pre.skipped();

  // Every event's place: a line's events, then each call's start and end (in the order calls were
  // first named), then the ends, ordered by time (ties in that order), as the whole-file reading
  // sorts them. Each waits for the last line that changes it.
  const K = pre.slots.length;
  const startT = new TimeColumn();
  const endT = new TimeColumn();
  const startReady = new Int32Array(K);
  const endReady = new Int32Array(K);
  const ends0 = rows + 2 * K;
  const items: number[] = [];
  for (let i = 0; i < rows; i++) if (emits.get(i)) items.push(i);
  for (let k = 0; k < K; k++) {
    const c = pre.slots[k]!;
    const ends = verdict(c) !== null;
    startT.set(k, c.start);
    endT.set(k, c.end ?? c.start);
    // A call that never ends is given once nothing more changes it; one that ends, its start once it is named.
    startReady[k] = ends ? c.startRow : c.endRow;
    endReady[k] = ends ? c.endRow : -1;
    items.push(rows + 2 * k);
    if (ends) items.push(rows + 2 * k + 1);
  }
  pre.slots.length = 0;
  for (let j = 0; j < ends.length; j++) items.push(ends0 + j);
  const endTimes = ends.map((e) => timeOf(String(e.timestamp)));
  const timeAt = (it: number): Time => (it < rows ? rowTime.get(it) : it < ends0 ? ((it - rows) & 1 ? endT.get((it - rows) >> 1) : startT.get((it - rows) >> 1)) : endTimes[it - ends0]!);
  const readyAt = (it: number): number => (it < rows ? it : it < ends0 ? ((it - rows) & 1 ? endReady[(it - rows) >> 1]! : startReady[(it - rows) >> 1]!) : -1);
  items.sort((a, b) => cmpTime(timeAt(a), timeAt(b)) || a - b);
  const order = Int32Array.from(items);
  items.length = 0;

  // ---- third reading: each line's events, given in their place as soon as nothing they wait for is to come ----
  const m = machine(file, facts, prices, "events");
  const held = new Map<number, J[]>();
  const given = new Uint8Array(K); // how many of a call's events are given
  let next = 0;
  let row = 0;
  function* giveReady(upTo: number): Generator<J> {
    while (next < order.length && readyAt(order[next]!) <= upTo) {
      const it = order[next++]!;
      if (it < rows) {
        const evs = held.get(it);
        if (!evs) throw changed(file, nOf.get(it));
        held.delete(it);
        yield* evs;
        continue;
      }
      if (it >= ends0) {
        yield ends[it - ends0]!;
        continue;
      }
      const k = (it - rows) >> 1;
      const c = m.slots[k];
      if (!c) throw changed(file, nOf.get(Math.min(readyAt(it), rows - 1)));
      const isEnd = (it - rows) & 1;
      let e: J | null;
      if (isEnd) {
        e = m.toolEnd(c);
        if (!e) throw changed(file, nOf.get(endReady[k]!));
      } else e = m.toolStart(c);
      yield e;
      const done = ++given[k]!;
      // All its events given and nothing more to change it: what it held is let go.
      if (done === (endReady[k]! >= 0 ? 2 : 1)) {
        c.input = undefined;
        c.result = undefined;
        c.execOutput = undefined;
        c.patchText = undefined;
        c.mcpError = undefined;
      }
    }
  }
  for (const { text, n } of input.lines()) {
    if (row >= rows) break;
    if (n !== nOf.get(row)) {
      if (n > nOf.get(row)) throw changed(file, nOf.get(row));
      continue;
    }
    if (text.length !== lenOf.get(row)) throw changed(file, n);
    let o: unknown;
    try {
      o = parseJson(text);
    } catch {
      throw changed(file, n);
    }
    if (!obj(o)) throw changed(file, n);
    const i = row++;
    m.lineEvents = [];
    m.step(o as J, n, i);
    if (m.lineEvents.length) {
      if (!emits.get(i)) throw changed(file, n);
      held.set(i, m.lineEvents);
    } else if (emits.get(i)) throw changed(file, n);
    yield* giveReady(i);
  }
  if (row < rows) throw changed(file, nOf.get(row));
  yield* giveReady(Infinity);
  if (next < order.length || m.skipped() !== skipped) throw changed(file, nOf.get(rows - 1));
  return { skipped, bad, lines, executionId: m.exec };
}

export const codex: Adapter = {
  format: "codex",
  describes: "OpenAI Codex CLI rollouts (~/.codex/sessions/…/rollout-*.jsonl)",
  detect: (head) => looksLikeCodex(head.objects),
  read: (input, ctx) => codexRead(input, ctx),
};
