import path from "node:path";
import type { PriceTable } from "../../pricing.js";
import { oneLine } from "../shape.js";
import { parseJson } from "../text.js";
import { byTime, count, CUT_OFF, endsBeforeItCloses, errorLine, given, jsonLines, obj, partsText, str, tableCost, textLines, tokenFields } from "./shared.js";
import type { Adapter, AdapterInput, AdapterResult, BadLine, InputLine, J } from "./types.js";

/**
 * Gemini CLI session recordings (~/.gemini/tmp/<project>/chats/session-*.json, and the newer
 * append-only .jsonl) as obs events.
 *
 * A .json recording is one object {sessionId, projectHash, startTime, lastUpdated, messages}
 * rewritten whole; a .jsonl one starts with that header and appends each message as it changes
 * (the same id again, the last copy wins), `{"$set": {…}}` metadata updates and
 * `{"$rewindTo": id}` rewinds. A session is an execution; each user prompt starts a task (a
 * turn); a `gemini` message's text and thoughts are entries, its toolCalls tool calls (status
 * success, error, or cancelled: a call that was refused), its tokens one model call (prompt
 * tokens include the cached ones; thoughts are output). A rewind takes messages out of what
 * Gemini shows, not out of what happened: their tools ran and their tokens were billed, so they
 * stay, and the rewind is an entry. A subagent's recording (kind "subagent", in
 * chats/<parent session>/) is an agent of the parent's execution working a task of its own.
 */

function looksLikeGemini(first: J[], bytes: Buffer): boolean {
  if (first.some((o) => typeof o.sessionId === "string" && typeof o.projectHash === "string")) return true;
  const head = bytes.toString("utf8", 0, Math.min(bytes.length, 4096));
  return /^\s*\{\s*"sessionId"\s*:/.test(head) && /"projectHash"\s*:/.test(head);
}

const CATEGORY: Record<string, string> = {
  read_file: "file_read", read_many_files: "file_read", list_directory: "file_read", glob: "file_read",
  search_file_content: "file_read", grep: "file_read", write_file: "file_write", replace: "file_write", edit: "file_write",
  run_shell_command: "shell", web_fetch: "network", google_web_search: "network", delegate_to_agent: "agent",
};

interface Message {
  rec: J;
  /** Where its first copy is (a line, or its place in a .json file's messages). */
  n: number;
}

interface Recording {
  header: J;
  messages: Map<string, Message>;
  rewinds: { to: string; ts: string; n: number }[];
  bad: BadLine[];
  lines: number;
  skipped: number;
}

/**
 * Whether a recording is lines (.jsonl), read as they come, rather than one document (.json,
 * usually pretty-printed: its first line is only its opening `{`): its first line is JSON.
 */
function isLines(input: AdapterInput): boolean {
  for (const { text, invalid } of input.lines()) {
    if (invalid) return true; // a bad first line, named as such
    if (text.trim() === "") continue;
    try {
      JSON.parse(text);
      return true;
    } catch {
      return false;
    }
  }
  return true;
}

function readRecording(input: AdapterInput): Recording {
  const file = input.path;
  const rec: Recording = { header: {}, messages: new Map(), rewinds: [], bad: [], lines: 0, skipped: 0 };
  const put = (m: J, n: number) => {
    const id = String(m.id);
    const prior = rec.messages.get(id);
    rec.messages.set(id, { rec: m, n: prior?.n ?? n });
  };
  // One object for the whole session (a .json recording): its messages are numbered by their place.
  const whole = (doc: J): Recording => {
    const { messages, ...header } = doc;
    rec.header = header;
    (Array.isArray(messages) ? messages : []).forEach((m, i) => obj(m) && typeof (m as J).id === "string" && put(m as J, i + 1));
    rec.lines = 1 + rec.messages.size;
    return rec;
  };
  let lines: Iterable<InputLine>;
  if (isLines(input)) lines = input.lines();
  else {
    const text = input.bytes().toString("utf8");
    let doc: J | undefined;
    try {
      doc = obj(parseJson(text));
    } catch (e) {
      // One document, so one reason, not one per line of its pretty-printing.
      rec.bad = [endsBeforeItCloses(text) ? { source: file, line: 1, reason: CUT_OFF } : { source: file, line: errorLine(e, text) ?? 1, reason: `not one JSON document: ${(e as Error).message}` }];
      rec.lines = 1;
      return rec;
    }
    if (doc) return whole(doc);
    lines = textLines(text);
  }
  // A recording is read whole: a .json one is one document, a .jsonl one is rewritten in place ($set, $rewindTo).
  const { rows, bad } = jsonLines(file, lines);
  // A .json recording written on one line.
  if (rows.length === 1 && bad.length === 0 && Array.isArray(rows[0]!.o.messages)) return whole(rows[0]!.o);
  rec.bad = bad;
  rec.lines = rows.length + bad.length;
  let lastTs = "";
  for (const { o, n } of rows) {
    if (typeof o.$rewindTo === "string") rec.rewinds.push({ to: o.$rewindTo, ts: lastTs, n });
    else if (obj(o.$set)) {
      const set = o.$set as J;
      const { messages, ...rest } = set;
      Object.assign(rec.header, rest);
      if (Array.isArray(messages)) for (const m of messages) if (obj(m) && typeof (m as J).id === "string") put(m as J, n);
      if (typeof rest.lastUpdated === "string") lastTs = rest.lastUpdated;
      rec.skipped++;
    } else if (typeof o.id === "string" && typeof o.type === "string") {
      put(o, n);
      if (typeof o.timestamp === "string") lastTs = o.timestamp;
    } else if (typeof o.sessionId === "string") {
      Object.assign(rec.header, o);
      if (typeof o.startTime === "string" && !lastTs) lastTs = o.startTime;
    } else rec.skipped++;
  }
  return rec;
}

/** The text of a tool call's result: the function response's output or error, else what Gemini displayed. */
function resultText(tc: J): { output: string; error?: string } {
  const parts = Array.isArray(tc.result) ? tc.result : tc.result ? [tc.result] : [];
  const texts: string[] = [];
  let error: string | undefined;
  for (const part of parts) {
    if (typeof part === "string") texts.push(part);
    const response = obj(obj(obj(part)?.functionResponse)?.response);
    if (!response) continue;
    if (response.error !== undefined) error = typeof response.error === "string" ? response.error : JSON.stringify(response.error);
    if (response.output !== undefined) texts.push(typeof response.output === "string" ? response.output : JSON.stringify(response.output));
    else if (response.error === undefined) texts.push(JSON.stringify(response));
  }
  const display = typeof tc.resultDisplay === "string" ? tc.resultDisplay : tc.resultDisplay ? JSON.stringify(tc.resultDisplay) : "";
  return { output: texts.join("\n") || display, ...(error ? { error } : {}) };
}

function geminiEvents(input: AdapterInput, prices: PriceTable): AdapterResult {
  const file = input.path;
  const rec = readRecording(input);
  const { header } = rec;
  const sessionId = str(header.sessionId);
  if (!sessionId) return { events: [], skipped: rec.lines - rec.bad.length, bad: rec.bad, lines: rec.lines, executionId: null };
  const dir = path.dirname(path.resolve(file));
  const inChats = path.basename(dir) === "chats";
  // A subagent records into chats/<parent session id>/<its id>.jsonl.
  const parent = header.kind === "subagent" && !inChats && path.basename(path.dirname(dir)) === "chats" ? path.basename(dir) : undefined;
  const exec = parent ?? sessionId;
  const subagent = parent !== undefined;
  const agent = subagent ? `${exec}/${sessionId}` : `${sessionId}/main`;
  const agentTask = subagent ? `agent-${sessionId}` : null;
  const chatsDir = inChats ? dir : subagent ? path.dirname(dir) : undefined;
  const project = chatsDir ? path.basename(path.dirname(chatsDir)) : str(header.projectHash);

  const events: J[] = [];
  let skipped = rec.skipped;
  const ev = (kind: string, ts: string, fields: J) => events.push({ kind, execution_id: exec, timestamp: ts, ...fields });
  const messages = [...rec.messages.values()].sort((a, b) => a.n - b.n);
  const firstTs = str(header.startTime) ?? str(messages[0]?.rec.timestamp);
  if (!firstTs) return { events: [], skipped: rec.lines - rec.bad.length, bad: rec.bad, lines: rec.lines, executionId: exec };
  let lastTs = firstTs;

  interface Turn { id: string; last: string }
  const turns: Turn[] = [];
  let turn: Turn | null = null;
  let firstPrompt: string | undefined;
  const taskId = () => (subagent ? agentTask : (turn?.id ?? null));
  const common = () => ({ instance_id: agent, ...(taskId() ? { task_id: taskId() } : {}) });
  const touch = (ts: string) => {
    if (ts > lastTs) lastTs = ts;
    if (turn && ts > turn.last) turn.last = ts;
  };

  for (const { rec: m } of messages) {
    const id = String(m.id);
    const ts = str(m.timestamp) ?? lastTs;
    const type = String(m.type);
    if (type === "user") {
      // What the user typed is displayContent when it differs from what the model was sent (/init).
      const shown = m.displayContent !== undefined && m.displayContent !== null ? partsText(m.displayContent) : undefined;
      const prompt = (shown ?? partsText(m.content)).trim();
      if (!prompt) {
        skipped++; // a tool's response handed back, not a prompt
        continue;
      }
      firstPrompt ??= prompt;
      if (!subagent) {
        turn = { id: `${sessionId}/${id}`, last: ts };
        turns.push(turn);
        ev("task:status", ts, { task_id: turn.id, status: "running", title: oneLine(prompt), display_id: `turn ${turns.length}`, instance_id: agent });
      }
      touch(ts);
      ev("transcript:entry", ts, { ...common(), entry_id: `${sessionId}/${id}`, entry_type: "task_start", category: "user", summary: prompt });
      continue;
    }
    if (type !== "gemini") {
      const summary = partsText(m.content).trim();
      if (!summary) {
        skipped++;
        continue;
      }
      touch(ts);
      ev("transcript:entry", ts, { ...common(), entry_id: `${sessionId}/${id}`, entry_type: type === "error" ? "error" : "discovery", category: type, summary });
      continue;
    }
    touch(ts);
    (Array.isArray(m.thoughts) ? m.thoughts : []).forEach((th: unknown, k: number) => {
      const t = obj(th);
      const summary = [str(t?.subject), str(t?.description)?.trim()].filter(Boolean).join(": ");
      if (summary) ev("transcript:entry", str(t?.timestamp) ?? ts, { ...common(), entry_id: `${sessionId}/${id}#thought${k}`, entry_type: "discovery", category: "thinking", summary });
    });
    const said = partsText(m.content).trim();
    if (said) ev("transcript:entry", ts, { ...common(), entry_id: `${sessionId}/${id}#text`, entry_type: "discovery", category: "assistant", summary: said });
    for (const raw of Array.isArray(m.toolCalls) ? m.toolCalls : []) {
      const tc = obj(raw);
      if (!tc || typeof tc.id !== "string") continue;
      const tool = str(tc.name) ?? "unknown";
      const end = str(tc.timestamp) && String(tc.timestamp) > ts ? String(tc.timestamp) : ts;
      touch(end);
      ev("tool:start", ts, {
        ...common(), tool_use_id: tc.id, tool, input: tc.args ?? {}, entry_id: `${sessionId}/${id}#${tc.id}`,
        ...(CATEGORY[tool] ? { tool_category: CATEGORY[tool] } : {}),
      });
      const status = String(tc.status ?? "");
      const { output, error } = resultText(tc);
      if (status === "success" || status === "error") {
        const failed = status === "error";
        ev("tool:end", end, {
          instance_id: agent, tool_use_id: tc.id, is_error: failed, output,
          ...(failed ? { error_message: (error ?? output).slice(0, 2000) || "the tool reported an error" } : {}),
        });
      } else if (status === "cancelled") {
        ev("tool:blocked", end, { instance_id: agent, tool_use_id: tc.id, reason: error ?? "cancelled before it ran" });
      } // scheduled, awaiting approval, executing: still going
    }
    const tokens = obj(m.tokens);
    if (tokens) {
      const prompt = count(tokens.input);
      const cached = Math.min(prompt, count(tokens.cached));
      const thoughts = count(tokens.thoughts);
      const t = {
        model: str(m.model) ?? "unknown", input_tokens: prompt - cached + count(tokens.tool), output_tokens: count(tokens.output) + thoughts,
        cache_read_tokens: cached, cache_write_tokens: 0, cache_write_1h_tokens: 0, reasoning_tokens: thoughts,
      };
      const cost = tableCost(prices, t);
      ev("llm:call", ts, { id: `${sessionId}/${id}`, response_id: id, provider: "google", ...tokenFields(t), ...common(), ...(cost !== null ? { cost_usd: cost } : {}) });
    }
  }
  for (const r of rec.rewinds) {
    const ts = r.ts || lastTs;
    ev("transcript:entry", ts, { ...common(), entry_id: `${sessionId}/rewind@${r.n}`, entry_type: "checkpoint", category: "rewind", summary: `rewound to before message ${r.to}` });
  }
  const endTs = str(header.lastUpdated) && String(header.lastUpdated) > lastTs ? String(header.lastUpdated) : lastTs;
  for (const t of turns) ev("task:status", t.last, { task_id: t.id, status: "completed" });
  ev("agent:heartbeat", firstTs, { instance_id: agent, status: "working", ...(agentTask ? { current_task_id: agentTask } : {}) });
  // Named: a recording read again as it grows moves the agent's end, not adds one.
  ev("agent:heartbeat", endTs, { instance_id: agent, status: "completed", heartbeat_id: `${agent}@end`, ...(agentTask ? { current_task_id: agentTask } : {}) });
  if (subagent && agentTask) {
    ev("task:status", firstTs, { task_id: agentTask, status: "running", title: oneLine(firstPrompt ? `subagent: ${firstPrompt}` : "subagent"), display_id: "subagent" });
    ev("task:status", endTs, { task_id: agentTask, status: "completed" });
  } else {
    const dirs = Array.isArray(header.directories) ? header.directories.filter((d): d is string => typeof d === "string") : [];
    ev("execution:status", firstTs, { status: "started", ...(project ? { task_list_id: project } : {}), ...(dirs[0] ? { cwd: dirs[0] } : {}) });
    ev("execution:status", endTs, { status: "completed" });
  }
  return { events: byTime(events), skipped, bad: rec.bad, lines: rec.lines, executionId: exec };
}

export const geminiCli: Adapter = {
  format: "gemini-cli",
  describes: "Gemini CLI session recordings (~/.gemini/tmp/<project>/chats/session-*.json, *.jsonl)",
  detect: (head) => looksLikeGemini(head.objects, head.bytes),
  read: (input, ctx) => given(geminiEvents(input, ctx.prices)),
};
