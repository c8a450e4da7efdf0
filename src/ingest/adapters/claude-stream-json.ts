import fs from "node:fs";
import type { PriceTable } from "../../pricing.js";
import { oneLine } from "../shape.js";
import { byTime, count, hashId, jsonLines, obj, shareCost, str, tableCost, tokenFields, type CallTokens, type Row, given } from "./shared.js";
import { changed, lineHash, Readings, StepsBack, TimeMerge, wholeReader } from "./stream-order.js";
import type { Adapter, AdapterInput, AdapterRead, AdapterResult, J, InputLine } from "./types.js";

/**
 * `claude -p --output-format stream-json` output, and the Claude Agent SDK's messages, as obs
 * events: system lines (init with session_id, model, cwd and tools; hooks; task_* lines for
 * subagents), assistant and user messages (a subagent's carry the Agent/Task call that started
 * it as parent_tool_use_id) and a final result (subtype, is_error, total_cost_usd, usage,
 * modelUsage, permission_denials).
 *
 * A run is an execution (its session_id, so a resumed session continues it); its prompt, when
 * the stream shows it, starts a task (a turn), else the run is one turn. tool_use blocks are
 * tool calls ended by the tool_result with their id; a permission denial is a blocked call. A
 * streamed response is split over several assistant lines repeating its message.id and usage:
 * each response is one model call. The result's modelUsage is the producer's own count: what it
 * counts beyond the responses the lines show (a subagent's last response, output still
 * streaming when a line was written) is kept as one more model call per model, and its costUSD
 * wins over any price table, shared among that model's calls by what each would cost at
 * Anthropic's price ratios. Lines may have no timestamp (older versions, the SDK): they take the
 * time of the line before; a stream without any takes the file's modification time as its end.
 */

const TYPES = new Set(["system", "assistant", "user", "result", "stream_event"]);

function looksLikeClaudeStream(first: J[]): boolean {
  return first.some((o) => typeof o.type === "string" && TYPES.has(o.type) && typeof o.session_id === "string" && !("sessionId" in o));
}

type Block = { type?: string; id?: string; name?: string; input?: unknown; text?: string; thinking?: string; tool_use_id?: string; content?: unknown; is_error?: boolean };

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((b: Block) => (b?.type === "text" ? (b.text ?? "") : b?.type === "tool_result" ? textOf(b.content) : "")).filter(Boolean).join("\n");
}

/** What a call would cost relative to others at Anthropic's price ratios (input 1, output 5, cache read 0.1, writes 1.25 and 2). */
const weight = (t: CallTokens) => t.input_tokens + 5 * t.output_tokens + 0.1 * t.cache_read_tokens + 1.25 * t.cache_write_tokens + 2 * t.cache_write_1h_tokens;

interface Response extends CallTokens {
  id: string;
  ts: string;
  agent: string;
  task: string | null;
  responseId?: string;
}

/**
 * The whole-file reading, kept to compare the streaming one with (OBS_STREAM_JSON_READER=whole):
 * every line's events made as the streaming reading makes them, then one stable sort by time.
 */
function streamEvents(file: string, input: Iterable<InputLine>, prices: PriceTable): AdapterResult {
  const { rows, bad } = jsonLines(file, input);
  const lines = rows.length + bad.length;
  const facts = factsOf(file, rows).facts;
  if (!facts) return { events: [], skipped: rows.length, bad, lines, executionId: null };
  const events: J[] = [];
  const run = claudeRun(facts, prices, (e) => events.push(e));
  for (const r of rows) run.line(r);
  run.finish();
  return { events: byTime(events), skipped: run.skipped(), bad, lines, executionId: facts.sessionId };
}

/** The facts of a file its first reading finds, which every line's events need before the line that holds them. */
interface Facts {
  sessionId: string;
  init: J | undefined;
  /** The first line's object (its hash names a run whose init has no uuid). */
  first: J;
  /** The last result line, and its line number. */
  result: J | undefined;
  resultN: number;
  firstKnown: string | undefined;
  fallbackStart: string | undefined;
  fallbackEnd: string | undefined;
}

/**
 * What the first reading finds: the session id, the init line, the last result, the first
 * time any line carries (none: the run is placed by the file's time and the result's duration).
 * Null facts when no line names a session.
 */
function factsOf(file: string, lines: Iterable<Row>): { facts: Facts | null; rows: number } {
  let rows = 0;
  let sessionId: string | undefined;
  let first: J | undefined;
  let init: J | undefined;
  let result: J | undefined;
  let resultN = -1;
  let firstKnown: string | undefined;
  for (const { o, n } of lines) {
    rows++;
    first ??= o;
    if (sessionId === undefined && typeof o.session_id === "string" && o.session_id !== "") sessionId = o.session_id;
    firstKnown ??= str(o.timestamp);
    if (o.type === "result") {
      result = o;
      resultN = n;
    }
    if (!init && o.type === "system" && o.subtype === "init") init = o;
  }
  if (!sessionId) return { facts: null, rows };
  let fallbackEnd: string | undefined;
  let fallbackStart: string | undefined;
  if (!firstKnown) {
    let end = Date.now();
    try {
      end = fs.statSync(file).mtimeMs;
    } catch {
      /* standard input: now */
    }
    fallbackEnd = new Date(Math.round(end)).toISOString();
    fallbackStart = new Date(Math.round(end - count(result?.duration_ms))).toISOString();
  }
  return { facts: { sessionId, init, first: first!, result, resultN, firstKnown, fallbackStart, fallbackEnd }, rows };
}

/**
 * One reading of a stream's lines in file order: each line's state and events, given to `sink`.
 * At its end, what is given at the end of a time (model calls, turns', agents' and the run's ends).
 */
function claudeRun(f: Facts, prices: PriceTable, sink: (e: J) => void, counting = true) {
  const { sessionId, init, result } = f;
  const main = `${sessionId}/main`;
  let skipped = 0;
  const ev = (kind: string, ts: string, fields: J) => sink({ kind, execution_id: sessionId, timestamp: ts, ...fields });
  const agentOfCall = new Map<string, string>(); // Agent/Task call id → the subagent's agent id
  const typeOfCall = new Map<string, string>(); // Agent/Task call id → the subagent's type
  const agents = new Map<string, { first: string; last: string; task: string | null }>();
  const taskCalls = new Set<string>();
  const responses = new Map<string, Response>();
  const turns: { id: string; last: string }[] = [];
  let turn = null as { id: string; last: string } | null;
  let model = str(init?.model) ?? "unknown";
  let carry = f.firstKnown ?? f.fallbackStart!;
  let firstTime: string | undefined;
  let lastTime: string | undefined;
  let resultTime: string | undefined;

  const agentFor = (o: J): { agent: string; task: string | null } => {
    const parent = str(o.parent_tool_use_id);
    if (!parent) return { agent: main, task: turn?.id ?? null };
    return { agent: agentOfCall.get(parent) ?? `${sessionId}/agent-${parent}`, task: parent };
  };
  const seen = (agent: string, task: string | null, ts: string) => {
    const a = agents.get(agent) ?? { first: ts, last: ts, task };
    a.last = ts;
    agents.set(agent, a);
    if (agent === main && turn) turn.last = ts;
  };
  const startTurn = (id: string, ts: string, title: string) => {
    turn = { id, last: ts };
    turns.push(turn);
    ev("task:status", ts, { task_id: id, status: "running", title: oneLine(title), display_id: `turn ${turns.length}`, instance_id: main });
  };
  // A run whose prompt the stream does not show is one turn, from its first line.
  const runTurn = () => {
    if (!turn) startTurn(`${sessionId}/run-${str(init?.uuid) ?? lineHash(f.first)}`, firstTime!, "(prompt not in the stream)");
  };

  /** A line's time: its own, else the line before's, else the first known; none at all: the file's. */
  const timeOf = (o: J): string => {
    const own = str(o.timestamp);
    if (own) carry = own;
    else if (f.fallbackEnd && o.type === "result") return f.fallbackEnd;
    return carry;
  };

  /** One line's state and events; its time. */
  const line = (r: Row): string => {
    const { o } = r;
    const ts = timeOf(o);
    firstTime ??= ts;
    lastTime = ts;
    if (r.n === f.resultN) resultTime = ts;
    const type = String(o.type);
    const uuid = str(o.uuid) ?? `${sessionId}@${r.n}`;
    if (type === "system") {
      if (o.subtype === "task_started" && typeof o.tool_use_id === "string" && typeof o.task_id === "string") {
        agentOfCall.set(o.tool_use_id, `${sessionId}/${o.task_id}`);
        if (typeof o.subagent_type === "string") typeOfCall.set(o.tool_use_id, o.subagent_type);
      }
      if (o.subtype === "init" && typeof o.model === "string") model = o.model;
      if (o.subtype === "compact_boundary") {
        ev("transcript:entry", ts, { instance_id: main, ...(turn ? { task_id: turn.id } : {}), entry_id: `${uuid}#compact`, entry_type: "checkpoint", category: "compaction", summary: "context compacted", details: o.compact_metadata ?? null });
        return ts;
      }
      skipped++; // init (kept as the run's start), hooks, thinking-token estimates, task progress
      return ts;
    }
    if (type === "user") {
      const msg = obj(o.message) ?? {};
      const blocks = Array.isArray(msg.content) ? (msg.content as Block[]) : null;
      const results = blocks?.filter((b) => b?.type === "tool_result") ?? [];
      const { agent } = agentFor(o);
      for (const b of results) {
        const out = textOf(b.content);
        seen(agent, str(o.parent_tool_use_id) ?? turn?.id ?? null, ts);
        ev("tool:end", ts, { instance_id: agent, tool_use_id: b.tool_use_id, is_error: Boolean(b.is_error), output: out, ...(b.is_error ? { error_message: out.slice(0, 2000) } : {}) });
        if (b.tool_use_id && taskCalls.has(b.tool_use_id)) ev("task:status", ts, { task_id: b.tool_use_id, status: b.is_error ? "failed" : "completed" });
      }
      const prompt = results.length ? "" : textOf(msg.content).trim();
      if (!prompt || o.isSynthetic === true) {
        skipped++;
        return ts;
      }
      const parent = str(o.parent_tool_use_id);
      if (!parent) startTurn(`turn-${uuid}`, ts, prompt);
      const { agent: a, task } = agentFor(o);
      seen(a, task, ts);
      ev("transcript:entry", ts, { instance_id: a, ...(task ? { task_id: task } : {}), entry_id: `${uuid}#prompt`, entry_type: "task_start", category: "user", summary: prompt });
      return ts;
    }
    if (type === "assistant") {
      if (!str(o.parent_tool_use_id)) runTurn();
      const { agent, task } = agentFor(o);
      seen(agent, task, ts);
      const msg = obj(o.message) ?? {};
      const common = { instance_id: agent, ...(task ? { task_id: task } : {}) };
      const apiError = typeof o.error === "string" || msg.model === "<synthetic>";
      (Array.isArray(msg.content) ? (msg.content as Block[]) : []).forEach((b, k) => {
        const entryId = `${uuid}#${k}`;
        if (b?.type === "tool_use" && b.id) {
          const isAgent = b.name === "Task" || b.name === "Agent";
          ev("tool:start", ts, {
            ...common, tool_use_id: b.id, tool: b.name ?? "unknown", input: b.input ?? {}, entry_id: entryId,
            ...(isAgent ? { tool_category: "agent" } : {}), ...(str(o.parent_tool_use_id) ? { parent_tool_use_id: o.parent_tool_use_id } : {}),
          });
          if (isAgent) {
            taskCalls.add(b.id);
            const input = obj(b.input) ?? {};
            if (typeof input.subagent_type === "string") typeOfCall.set(b.id, input.subagent_type);
            ev("task:status", ts, { task_id: b.id, status: "running", title: oneLine(String(input.description ?? input.prompt ?? "subagent")), display_id: "subagent" });
          }
        } else if (b?.type === "text" && (b.text ?? "").trim()) {
          ev("transcript:entry", ts, { ...common, entry_id: entryId, entry_type: apiError ? "error" : "discovery", category: apiError ? "api_error" : "assistant", summary: b.text!.trim() });
        } else if (b?.type === "thinking" && (b.thinking ?? "").trim()) {
          ev("transcript:entry", ts, { ...common, entry_id: entryId, entry_type: "discovery", category: "thinking", summary: b.thinking!.trim() });
        }
      });
      const usage = obj(msg.usage);
      // Responses are counted for what is given at the end: a reading that gives no end counts none.
      if (usage && !apiError && counting) {
        const rid = str(msg.id) ?? uuid;
        const split = obj(usage.cache_creation);
        const writes = count(usage.cache_creation_input_tokens);
        const w1h = split ? count(split.ephemeral_1h_input_tokens) : 0;
        const resp = responses.get(rid) ?? {
          id: `${sessionId}/${rid}`, ts, agent, task, model: str(msg.model) ?? model, input_tokens: 0, output_tokens: 0,
          cache_read_tokens: 0, cache_write_tokens: 0, cache_write_1h_tokens: 0, reasoning_tokens: 0, ...(str(msg.id) ? { responseId: msg.id as string } : {}),
        };
        // The lines of one streamed response repeat its usage, growing: the largest is the response's.
        resp.input_tokens = Math.max(resp.input_tokens, count(usage.input_tokens));
        resp.output_tokens = Math.max(resp.output_tokens, count(usage.output_tokens));
        resp.cache_read_tokens = Math.max(resp.cache_read_tokens, count(usage.cache_read_input_tokens));
        resp.cache_write_1h_tokens = Math.max(resp.cache_write_1h_tokens, w1h);
        resp.cache_write_tokens = Math.max(resp.cache_write_tokens, split ? count(split.ephemeral_5m_input_tokens) : writes);
        resp.ts = ts;
        responses.set(rid, resp);
      }
      return ts;
    }
    if (type === "result") {
      runTurn();
      const failed = o.is_error === true || (typeof o.subtype === "string" && o.subtype !== "success");
      const message = failed ? [str(o.subtype), ...(Array.isArray(o.errors) ? o.errors.map(String) : []), str(o.result)].filter(Boolean).join(": ") : undefined;
      seen(main, turn?.id ?? null, ts);
      for (const d of Array.isArray(o.permission_denials) ? o.permission_denials : []) {
        const id = str(obj(d)?.tool_use_id);
        if (id) ev("tool:blocked", ts, { instance_id: main, tool_use_id: id, reason: `permission denied for ${str(obj(d)?.tool_name) ?? "the tool"}` });
      }
      const said = str(o.result);
      ev("transcript:entry", ts, {
        instance_id: main, ...(turn ? { task_id: turn.id } : {}), entry_id: `${uuid}#result`, entry_type: failed ? "error" : "checkpoint", category: "result",
        summary: failed ? (message ?? "the run failed") : (said ?? "run finished"), details: { num_turns: o.num_turns ?? null, duration_ms: o.duration_ms ?? null, total_cost_usd: o.total_cost_usd ?? null },
      });
      return ts;
    }
    skipped++; // rate limits, partial-message stream events, progress
    return ts;
  };

  /** What is given at the end (after every line's events), in the order it is made. */
  const finish = (): void => {
    // The result's own count per model: what no assistant line shows is one more call, and its cost wins.
    const calls = [...responses.values()];
    const modelUsage = obj(result?.modelUsage);
    const resultId = result ? (str(result.uuid) ?? lineHash(result)) : undefined;
    const resultTs = resultTime ?? lastTime!;
    const costs = new Map<Response, number>();
    if (modelUsage) {
      for (const [name, mu] of Object.entries(modelUsage)) {
        const u = obj(mu);
        if (!u) continue;
        const mine = calls.filter((c) => c.model === name);
        const sum = (f: (c: Response) => number) => mine.reduce((a, c) => a + f(c), 0);
        const writes = sum((c) => c.cache_write_tokens + c.cache_write_1h_tokens);
        const rest = {
          input: Math.max(0, count(u.inputTokens) - sum((c) => c.input_tokens)),
          output: Math.max(0, count(u.outputTokens) - sum((c) => c.output_tokens)),
          read: Math.max(0, count(u.cacheReadInputTokens) - sum((c) => c.cache_read_tokens)),
          write: Math.max(0, count(u.cacheCreationInputTokens) - writes),
        };
        if (rest.input || rest.output || rest.read || rest.write) {
          const unseen: Response = {
            id: `${sessionId}/result-${resultId}/${name}`, ts: resultTs, agent: main, task: turn?.id ?? null, model: name,
            input_tokens: rest.input, output_tokens: rest.output, cache_read_tokens: rest.read, cache_write_tokens: rest.write, cache_write_1h_tokens: 0, reasoning_tokens: 0,
          };
          calls.push(unseen);
          mine.push(unseen);
        }
        if (typeof u.costUSD === "number" && mine.length) shareCost(u.costUSD, mine.map(weight)).forEach((c, k) => costs.set(mine[k]!, c));
      }
    } else if (result && typeof result.total_cost_usd === "number" && calls.length) {
      shareCost(result.total_cost_usd, calls.map(weight)).forEach((c, k) => costs.set(calls[k]!, c));
    }
    for (const c of calls) {
      const cost = costs.get(c) ?? tableCost(prices, c);
      ev("llm:call", c.ts, {
        id: c.id, provider: "anthropic", ...tokenFields(c), instance_id: c.agent, ...(c.task ? { task_id: c.task } : {}),
        ...(c.responseId ? { response_id: c.responseId } : {}), ...(cost !== null ? { cost_usd: cost } : {}),
      });
    }

    // The run's own account of how long it ran (result.duration_ms, from its start to the result)
    // wins over the few timestamps its lines carry: a file with one timed line ran for 0 ms.
    const ranFor = typeof result?.duration_ms === "number" && result.duration_ms > 0 ? result.duration_ms : null;
    const startByResult = ranFor !== null ? Date.parse(resultTs) - ranFor : NaN;
    const firstTs = startByResult < Date.parse(firstTime!) ? new Date(Math.round(startByResult)).toISOString() : firstTime!;
    const endTs = lastTime!;
    const failed = result ? result.is_error === true || (typeof result.subtype === "string" && result.subtype !== "success") : false;
    turns.forEach((t, k) => {
      const last = k === turns.length - 1;
      if (!last) ev("task:status", t.last, { task_id: t.id, status: "completed" });
      else if (result) ev("task:status", resultTs, { task_id: t.id, status: failed ? "failed" : "completed" });
    });
    for (const [agent, a] of agents) {
      const type = agent !== main && a.task ? typeOfCall.get(a.task) : undefined;
      const state = { instance_id: agent, ...(a.task && agent !== main ? { current_task_id: a.task } : {}), ...(type ? { agent_type: type } : {}) };
      ev("agent:heartbeat", a.first, { ...state, status: "working" });
      if (agent !== main || result) ev("agent:heartbeat", agent === main ? resultTs : a.last, { ...state, status: agent === main && failed ? "failed" : "completed", ...(agent !== main ? { heartbeat_id: `${agent}@end` } : {}) });
    }
    const cwd = str(init?.cwd);
    // The task list is the project folder Claude Code keeps the same session's transcript in.
    ev("execution:status", firstTs, { status: "started", ...(cwd ? { cwd, task_list_id: cwd.replace(/[^A-Za-z0-9]/g, "-") } : {}) });
    if (result) {
      const message = failed ? [str(result.subtype), ...(Array.isArray(result.errors) ? result.errors.map(String) : [])].filter(Boolean).join(": ") : undefined;
      ev("execution:status", endTs > resultTs ? endTs : resultTs, { status: failed ? "failed" : "completed", ...(message ? { message } : {}) });
    }
  };

  return { line, finish, skipped: () => skipped };
}

/**
 * A stream read three times, and never held whole (a small one is read once, its parsed lines
 * kept). The first reading finds what the others need before the line that holds it: the
 * session id, the init line, the last result, the first time any line carries. The second
 * makes every line's state without its events, for what is given at the end (each response's
 * model call with the result's own count and cost, turns', agents' and the run's ends) and for
 * the places the stream steps back in time. The third makes each line's events as it comes,
 * merged with those by time: the events of one stable sort of them all, as the whole-file
 * reader gives them.
 */
function* claudeStreamRead(input: AdapterInput, prices: PriceTable): AdapterRead {
  if (wholeReader()) return yield* given(streamEvents(input.path, input.lines(), prices));
  const file = input.path;
  const readings = new Readings(input);
  const { facts, rows } = factsOf(file, readings.first());
  const { bad, lines } = readings;
  if (!facts) return { skipped: rows, bad, lines, executionId: null };
  const sessionId = facts.sessionId;

  // Second reading: the state of every line, what is given at the end, where time steps back.
  const ends: J[] = [];
  let atEnd = false;
  const steps = new StepsBack();
  let i = 0;
  {
    const state = claudeRun(facts, prices, (e) => {
      if (atEnd) ends.push(e);
    });
    for (const r of readings.again()) steps.add(i++, state.line(r));
    if (i !== rows) throw changed(file, 1, lines);
    atEnd = true;
    state.finish();
  }

  // Third reading: each line's events, merged with the ends by time.
  const merge = new TimeMerge(byTime(ends));
  const run = claudeRun(facts, prices, (e) => merge.push(e), false);
  i = 0;
  for (const r of readings.again()) {
    merge.saw(run.line(r));
    yield* merge.give(steps.after(i++));
  }
  if (i !== rows) throw changed(file, 1, lines);
  yield* merge.give(null, true);
  return { skipped: run.skipped(), bad, lines, executionId: sessionId };
}

export const claudeStreamJson: Adapter = {
  format: "claude-stream-json",
  describes: "claude -p stream-json output and Agent SDK messages",
  detect: (head) => looksLikeClaudeStream(head.objects),
  read: (input, ctx) => claudeStreamRead(input, ctx.prices),
};
