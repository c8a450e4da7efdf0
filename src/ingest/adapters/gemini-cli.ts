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
 * tokens include the cached ones; thoughts are output). A call ends when its round was
 * recorded and starts when the file shows it was asked for (see callTimes). A rewind takes
 * messages out of what Gemini shows, not out of what happened: their tools ran and their tokens
 * were billed, so they stay, and the rewind is an entry. A subagent's recording (kind "subagent", in
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
  /** The document ends before it closes (its one bad line says so). */
  cutOff?: true;
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
      if (endsBeforeItCloses(text)) {
        rec.bad = [{ source: file, line: 1, reason: CUT_OFF }];
        rec.cutOff = true;
      } else rec.bad = [{ source: file, line: errorLine(e, text) ?? 1, reason: `not one JSON document: ${(e as Error).message}` }];
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

/**
 * When Gemini CLI received the model's request for a call, if it named the call itself: a call
 * the model gave no id is `<tool>-<Date.now()>-<random hex>` (turn.ts, as the function call
 * arrives in the stream). Ids the model gives (`x0m3mt27`) carry no time.
 */
function requestedAt(tc: J): number | undefined {
  const id = String(tc.id);
  const name = str(tc.name);
  if (!name || !id.startsWith(`${name}-`)) return undefined;
  const m = /^(\d{13})-[0-9a-f]+$/.exec(id.slice(name.length + 1));
  return m ? Number(m[1]) : undefined;
}

interface CallTimes {
  tc: J;
  start: string;
  end: string;
}

/**
 * The start and end of a gemini message's tool calls, and when the model's response it records
 * arrived when that is not the message's own time.
 *
 * What the times mean (chatRecordingService.ts, geminiChat.ts): a call's `timestamp` is when its
 * round was recorded — Gemini CLI records the calls one response asked for together, once the
 * last of them finished, before sending their results back — so it is the call's end (an upper
 * bound: a quick call of a round ends with its slowest). Later rounds, asked for by the model's
 * next responses, are appended to the same message while those responses carry no text or
 * thoughts; the message's `timestamp` is when the message was first written: at the end of the
 * model's response, before its calls ran (a response with text; the 2026 recordings of
 * test/fixtures write one for every response, 4–195 ms before its calls' timestamps), or, when
 * Gemini CLI had not written one, when its first round was recorded, after they ran (the
 * codemie-ai recordings: 0–1 ms after). No `resultDisplay` or other field carries a duration.
 * Nothing records when a call itself began, so a call starts
 * at the latest of what the file shows it had been asked for by:
 * - the time in the id Gemini CLI gave it (see requestedAt), and
 * - for the first round, the message's time when that is before the round's end;
 * each taken only between the last time recorded before the round (the previous round's end, or
 * the file's last time before the message) and the call's end. A call with neither starts at its
 * end (0 ms, as the Codex reader gives a call it knows by one time): a made-up start would count
 * the model's thinking between rounds as the tool's time. A start is never before the one of the
 * call listed before it, so that the calls keep the file's order.
 */
function callTimes(ts: string, floor: string, raws: unknown[]): { calls: CallTimes[]; modelAt?: string } {
  const calls: CallTimes[] = [];
  const msgMs = Date.parse(ts);
  let lowest = Number.isFinite(Date.parse(floor)) ? Date.parse(floor) : -Infinity;
  let roundEnd: number | undefined;
  let round = -1;
  let prevStart = -Infinity;
  // The latest start known in the first round: the response asking for it had arrived by then.
  let firstAsked: number | undefined;
  let firstEnd: number | undefined;
  for (const raw of raws) {
    const tc = obj(raw);
    if (!tc || typeof tc.id !== "string") continue;
    const own = str(tc.timestamp);
    const end = own && Number.isFinite(Date.parse(own)) ? own : ts;
    const e = Date.parse(end);
    if (e !== roundEnd) {
      if (roundEnd !== undefined) lowest = Math.max(lowest, roundEnd);
      roundEnd = e;
      round++;
    }
    const within = (t: number | undefined) => t !== undefined && Number.isFinite(t) && t >= lowest && t <= e;
    const asked = requestedAt(tc);
    const known = [within(asked) ? asked! : undefined, round === 0 && within(msgMs) && msgMs < e ? msgMs : undefined].filter((t): t is number => t !== undefined);
    let start = known.length ? Math.max(...known) : e;
    start = Math.max(start, Math.min(prevStart, e));
    prevStart = start;
    if (round === 0) {
      firstEnd = e;
      if (known.length) firstAsked = Math.max(firstAsked ?? -Infinity, start);
    }
    calls.push({ tc, start: start === e ? end : start === msgMs ? ts : new Date(start).toISOString(), end });
  }
  // A message written only when its first round was recorded: its tokens are the response that asked for that round.
  const late = firstEnd !== undefined && msgMs >= firstEnd && firstAsked !== undefined && firstAsked < msgMs;
  return { calls, ...(late ? { modelAt: new Date(firstAsked!).toISOString() } : {}) };
}

function geminiEvents(input: AdapterInput, prices: PriceTable): AdapterResult {
  const file = input.path;
  const rec = readRecording(input);
  const { header } = rec;
  const sessionId = str(header.sessionId);
  if (!sessionId) return { events: [], skipped: rec.lines - rec.bad.length, bad: rec.bad, lines: rec.lines, executionId: null, ...(rec.cutOff ? { cutOff: true as const } : {}) };
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
    // What the file recorded before this message: its calls' first round came after it.
    const floor = lastTs;
    touch(ts);
    (Array.isArray(m.thoughts) ? m.thoughts : []).forEach((th: unknown, k: number) => {
      const t = obj(th);
      const summary = [str(t?.subject), str(t?.description)?.trim()].filter(Boolean).join(": ");
      if (summary) ev("transcript:entry", str(t?.timestamp) ?? ts, { ...common(), entry_id: `${sessionId}/${id}#thought${k}`, entry_type: "discovery", category: "thinking", summary });
    });
    const said = partsText(m.content).trim();
    if (said) ev("transcript:entry", ts, { ...common(), entry_id: `${sessionId}/${id}#text`, entry_type: "discovery", category: "assistant", summary: said });
    const { calls, modelAt } = callTimes(ts, floor, Array.isArray(m.toolCalls) ? m.toolCalls : []);
    for (const { tc, start, end } of calls) {
      const tool = str(tc.name) ?? "unknown";
      touch(end);
      ev("tool:start", start, {
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
      ev("llm:call", modelAt ?? ts, { id: `${sessionId}/${id}`, response_id: id, provider: "google", ...tokenFields(t), ...common(), ...(cost !== null ? { cost_usd: cost } : {}) });
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
