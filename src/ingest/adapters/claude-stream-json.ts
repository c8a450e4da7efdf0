import fs from "node:fs";
import type { PriceTable } from "../../pricing.js";
import { oneLine } from "../shape.js";
import { byTime, count, hashId, jsonLines, obj, shareCost, str, tableCost, tokenFields, type CallTokens, type Row, given } from "./shared.js";
import { changed, EARLY_ROWS, lineHash, Readings, StepsBack, TimeMerge, wholeReader, type Ends } from "./stream-order.js";
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

/**
 * The whole-file reading, kept to compare the streaming one with (OBS_STREAM_JSON_READER=whole):
 * every line's events made as the streaming reading makes them, then one stable sort by time.
 */
function streamEvents(file: string, input: Iterable<InputLine>, prices: PriceTable): AdapterResult {
  const { rows, bad } = jsonLines(file, input);
  const lines = rows.length + bad.length;
  const seen = new FactsSeen();
  for (const r of rows) seen.see(r.o);
  const facts = seen.facts(file);
  if (!facts) return { events: [], skipped: rows.length, bad, lines, executionId: null };
  const run = new ClaudeRun(facts, prices);
  for (const r of rows) run.line(r);
  const events = run.out.splice(0);
  for (const e of run.finish().all()) events.push(e);
  return { events: byTime(events), skipped: run.skipped(), bad, lines, executionId: facts.sessionId };
}

/** The facts of a file its first reading finds, which every line's events need before the line that holds them. */
interface Facts {
  sessionId: string;
  init: J | undefined;
  /** The first line's object (its hash names a run whose init has no uuid). */
  first: J;
  /** The last result line (the state of a line needs it only at the end). */
  result: J | undefined;
  firstKnown: string | undefined;
  fallbackStart: string | undefined;
  fallbackEnd: string | undefined;
}

/**
 * What the first reading finds, line by line: the session id, the init line, the last result,
 * the first time any line carries (none: the run is placed by the file's time and the result's
 * duration).
 */
class FactsSeen {
  rows = 0;
  private sessionId: string | undefined;
  private first: J | undefined;
  private init: J | undefined;
  private result: J | undefined;
  private firstKnown: string | undefined;

  see(o: J): void {
    this.rows++;
    this.first ??= o;
    if (this.sessionId === undefined && typeof o.session_id === "string" && o.session_id !== "") this.sessionId = o.session_id;
    this.firstKnown ??= str(o.timestamp);
    if (o.type === "result") this.result = o;
    if (!this.init && o.type === "system" && o.subtype === "init") this.init = o;
  }

  /**
   * The facts every line's state needs, once the lines seen so far hold them all (a session id,
   * the init line, a time): later lines change none of them but the last result, which only
   * the end needs (set then). Null before.
   */
  early(): Facts | null {
    if (this.sessionId === undefined || this.init === undefined || this.firstKnown === undefined) return null;
    return { sessionId: this.sessionId, init: this.init, first: this.first!, result: undefined, firstKnown: this.firstKnown, fallbackStart: undefined, fallbackEnd: undefined };
  }

  /** The facts of the whole file; null when no line names a session. */
  facts(file: string): Facts | null {
    const { sessionId, init, first, result, firstKnown } = this;
    if (!sessionId) return null;
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
    return { sessionId, init, first: first!, result, firstKnown, fallbackStart, fallbackEnd };
  }
}

/**
 * The responses a reading counts, one model call each, in the order they first came: columns
 * of numbers and shared texts, not an object each, as they are held (with the ends they make)
 * until the last line is read. Held as objects, each took about 1 KB, and a long stream's
 * memory grew with its calls.
 */
class Calls {
  /** Each response's id as its lines say it (message.id, else the line's uuid); an unseen call's whole id. */
  readonly rid: string[] = [];
  readonly idGiven: number[] = []; // 1: the response's message.id is given (response_id); 2: an unseen call, rid its id
  readonly ts: string[] = [];
  readonly agent: string[] = [];
  readonly task: (string | null)[] = [];
  readonly model: string[] = [];
  readonly input: number[] = [];
  readonly output: number[] = [];
  readonly read: number[] = [];
  readonly write: number[] = [];
  readonly write1h: number[] = [];
  /** Its cost (given once the reading ends), and whether it has one. */
  readonly cost: number[] = [];
  readonly costKnown: number[] = [];
  private readonly texts = new Map<string, string>();

  get length(): number {
    return this.rid.length;
  }

  /** One text for many equal ones (a model's name, an agent's id made again for each line). */
  text(s: string): string {
    const had = this.texts.get(s);
    if (had !== undefined) return had;
    this.texts.set(s, s);
    return s;
  }

  add(rid: string, idGiven: number, ts: string, agent: string, task: string | null, model: string): number {
    const k = this.rid.length;
    this.rid.push(rid);
    this.idGiven.push(idGiven);
    this.ts.push(ts);
    this.agent.push(this.text(agent));
    this.task.push(task === null ? null : this.text(task));
    this.model.push(this.text(model));
    this.input.push(0);
    this.output.push(0);
    this.read.push(0);
    this.write.push(0);
    this.write1h.push(0);
    this.cost.push(0);
    this.costKnown.push(0);
    return k;
  }

  tokens(k: number): CallTokens {
    return {
      model: this.model[k]!, input_tokens: this.input[k]!, output_tokens: this.output[k]!, cache_read_tokens: this.read[k]!,
      cache_write_tokens: this.write[k]!, cache_write_1h_tokens: this.write1h[k]!, reasoning_tokens: 0,
    };
  }

  /** Call `k`'s llm:call event, as a reading gives it. */
  event(k: number, sessionId: string): J {
    const given = this.idGiven[k]!;
    const task = this.task[k]!;
    return {
      kind: "llm:call", execution_id: sessionId, timestamp: this.ts[k]!,
      id: given === 2 ? this.rid[k]! : `${sessionId}/${this.rid[k]!}`, provider: "anthropic", ...tokenFields(this.tokens(k)), instance_id: this.agent[k]!, ...(task ? { task_id: task } : {}),
      ...(given === 1 ? { response_id: this.rid[k]! } : {}), ...(this.costKnown[k] ? { cost_usd: this.cost[k]! } : {}),
    };
  }
}

/** What a stream gives at the end: its model calls (made as they are taken) and the other ends' events, in one stable order by time. */
class RunEnds implements Ends {
  private readonly order: Int32Array;

  constructor(private readonly calls: Calls, private readonly others: (J | undefined)[], private readonly sessionId: string) {
    const n = calls.length;
    const order = new Int32Array(n + others.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    // As byTime sorts them made in this order: the calls, then the others.
    order.sort((a, b) => {
      const ta = this.timeOf(a);
      const tb = this.timeOf(b);
      return ta < tb ? -1 : ta > tb ? 1 : a - b;
    });
    this.order = order;
  }

  get length(): number {
    return this.order.length;
  }

  private timeOf(k: number): string {
    return k < this.calls.length ? this.calls.ts[k]! : String(this.others[k - this.calls.length]!.timestamp);
  }

  time(i: number): string {
    return this.timeOf(this.order[i]!);
  }

  take(i: number): J {
    const k = this.order[i]!;
    if (k < this.calls.length) return this.calls.event(k, this.sessionId);
    const e = this.others[k - this.calls.length]!;
    this.others[k - this.calls.length] = undefined;
    return e;
  }

  /** Every end's event in the order made (the whole-file reading sorts them with the lines'). */
  all(): J[] {
    const out: J[] = [];
    for (let k = 0; k < this.calls.length; k++) out.push(this.calls.event(k, this.sessionId));
    for (const e of this.others) out.push(e!);
    return out;
  }
}

interface Turn {
  id: string;
  last: string;
}

/**
 * One reading of a stream's lines in file order: each line's state and events (`out`, which
 * the caller empties). At its end, what is given at the end of a time (model calls, turns',
 * agents' and the run's ends). A class of small methods, not one closure: each reading makes a
 * run, and V8 compiled a big closure again for each.
 */
class ClaudeRun {
  readonly out: J[] = [];
  private skippedLines = 0;
  private readonly sessionId: string;
  private readonly main: string;
  private readonly agentOfCall = new Map<string, string>(); // Agent/Task call id → the subagent's agent id
  private readonly typeOfCall = new Map<string, string>(); // Agent/Task call id → the subagent's type
  private readonly agents = new Map<string, { first: string; last: string; task: string | null }>();
  private readonly taskCalls = new Set<string>();
  // Responses are counted for what is given at the end: a reading that gives no end counts none.
  private readonly calls: Calls | null;
  private readonly responses = new Map<string, number>();
  private readonly turns: Turn[] = [];
  private turn: Turn | null = null;
  private model: string;
  private carry: string;
  private firstTime: string | undefined;
  private lastTime: string | undefined;
  private resultTime: string | undefined;

  constructor(private readonly f: Facts, private readonly prices: PriceTable, counting = true) {
    this.sessionId = f.sessionId;
    this.main = `${f.sessionId}/main`;
    this.model = str(f.init?.model) ?? "unknown";
    this.carry = f.firstKnown ?? f.fallbackStart!;
    this.calls = counting ? new Calls() : null;
  }

  private ev(kind: string, ts: string, fields: J): void {
    this.out.push({ kind, execution_id: this.sessionId, timestamp: ts, ...fields });
  }

  private agentFor(o: J): { agent: string; task: string | null } {
    const parent = str(o.parent_tool_use_id);
    if (!parent) return { agent: this.main, task: this.turn?.id ?? null };
    return { agent: this.agentOfCall.get(parent) ?? `${this.sessionId}/agent-${parent}`, task: parent };
  }

  private seen(agent: string, task: string | null, ts: string): void {
    const a = this.agents.get(agent) ?? { first: ts, last: ts, task };
    a.last = ts;
    this.agents.set(agent, a);
    if (agent === this.main && this.turn) this.turn.last = ts;
  }

  private startTurn(id: string, ts: string, title: string): void {
    const turn = { id, last: ts };
    this.turn = turn;
    this.turns.push(turn);
    this.ev("task:status", ts, { task_id: id, status: "running", title: oneLine(title), display_id: `turn ${this.turns.length}`, instance_id: this.main });
  }

  // A run whose prompt the stream does not show is one turn, from its first line.
  private runTurn(): void {
    if (!this.turn) this.startTurn(`${this.sessionId}/run-${str(this.f.init?.uuid) ?? lineHash(this.f.first)}`, this.firstTime!, "(prompt not in the stream)");
  }

  /** A line's time: its own, else the line before's, else the first known; none at all: the file's. */
  private timeOf(o: J): string {
    const own = str(o.timestamp);
    if (own) this.carry = own;
    else if (this.f.fallbackEnd && o.type === "result") return this.f.fallbackEnd;
    return this.carry;
  }

  /** One line's state and events; its time. */
  line(r: Row): string {
    const { o } = r;
    const ts = this.timeOf(o);
    this.firstTime ??= ts;
    this.lastTime = ts;
    // The last result's time (the run's end) is that of the last line of that type.
    if (o.type === "result") this.resultTime = ts;
    const type = String(o.type);
    const uuid = str(o.uuid) ?? `${this.sessionId}@${r.n}`;
    if (type === "system") this.system(o, ts, uuid);
    else if (type === "user") this.user(o, ts, uuid);
    else if (type === "assistant") this.assistant(o, ts, uuid);
    else if (type === "result") this.result(o, ts, uuid);
    else this.skippedLines++; // rate limits, partial-message stream events, progress
    return ts;
  }

  private system(o: J, ts: string, uuid: string): void {
    if (o.subtype === "task_started" && typeof o.tool_use_id === "string" && typeof o.task_id === "string") {
      this.agentOfCall.set(o.tool_use_id, `${this.sessionId}/${o.task_id}`);
      if (typeof o.subagent_type === "string") this.typeOfCall.set(o.tool_use_id, o.subagent_type);
    }
    if (o.subtype === "init" && typeof o.model === "string") this.model = o.model;
    if (o.subtype === "compact_boundary") {
      this.ev("transcript:entry", ts, { instance_id: this.main, ...(this.turn ? { task_id: this.turn.id } : {}), entry_id: `${uuid}#compact`, entry_type: "checkpoint", category: "compaction", summary: "context compacted", details: o.compact_metadata ?? null });
      return;
    }
    this.skippedLines++; // init (kept as the run's start), hooks, thinking-token estimates, task progress
  }

  private user(o: J, ts: string, uuid: string): void {
    const msg = obj(o.message) ?? {};
    const blocks = Array.isArray(msg.content) ? (msg.content as Block[]) : null;
    const results = blocks?.filter((b) => b?.type === "tool_result") ?? [];
    const { agent } = this.agentFor(o);
    for (const b of results) {
      const out = textOf(b.content);
      this.seen(agent, str(o.parent_tool_use_id) ?? this.turn?.id ?? null, ts);
      this.ev("tool:end", ts, { instance_id: agent, tool_use_id: b.tool_use_id, is_error: Boolean(b.is_error), output: out, ...(b.is_error ? { error_message: out.slice(0, 2000) } : {}) });
      if (b.tool_use_id && this.taskCalls.has(b.tool_use_id)) this.ev("task:status", ts, { task_id: b.tool_use_id, status: b.is_error ? "failed" : "completed" });
    }
    const prompt = results.length ? "" : textOf(msg.content).trim();
    if (!prompt || o.isSynthetic === true) {
      this.skippedLines++;
      return;
    }
    const parent = str(o.parent_tool_use_id);
    if (!parent) this.startTurn(`turn-${uuid}`, ts, prompt);
    const { agent: a, task } = this.agentFor(o);
    this.seen(a, task, ts);
    this.ev("transcript:entry", ts, { instance_id: a, ...(task ? { task_id: task } : {}), entry_id: `${uuid}#prompt`, entry_type: "task_start", category: "user", summary: prompt });
  }

  private assistant(o: J, ts: string, uuid: string): void {
    if (!str(o.parent_tool_use_id)) this.runTurn();
    const { agent, task } = this.agentFor(o);
    this.seen(agent, task, ts);
    const msg = obj(o.message) ?? {};
    const common = { instance_id: agent, ...(task ? { task_id: task } : {}) };
    const apiError = typeof o.error === "string" || msg.model === "<synthetic>";
    const blocks = Array.isArray(msg.content) ? (msg.content as Block[]) : [];
    for (let k = 0; k < blocks.length; k++) this.block(o, blocks[k]!, `${uuid}#${k}`, ts, common, apiError);
    const usage = obj(msg.usage);
    if (usage && !apiError && this.calls) this.count(this.calls, msg, usage, uuid, ts, agent, task);
  }

  private block(o: J, b: Block, entryId: string, ts: string, common: J, apiError: boolean): void {
    if (b?.type === "tool_use" && b.id) {
      const isAgent = b.name === "Task" || b.name === "Agent";
      this.ev("tool:start", ts, {
        ...common, tool_use_id: b.id, tool: b.name ?? "unknown", input: b.input ?? {}, entry_id: entryId,
        ...(isAgent ? { tool_category: "agent" } : {}), ...(str(o.parent_tool_use_id) ? { parent_tool_use_id: o.parent_tool_use_id } : {}),
      });
      if (isAgent) {
        this.taskCalls.add(b.id);
        const input = obj(b.input) ?? {};
        if (typeof input.subagent_type === "string") this.typeOfCall.set(b.id, input.subagent_type);
        this.ev("task:status", ts, { task_id: b.id, status: "running", title: oneLine(String(input.description ?? input.prompt ?? "subagent")), display_id: "subagent" });
      }
    } else if (b?.type === "text" && (b.text ?? "").trim()) {
      this.ev("transcript:entry", ts, { ...common, entry_id: entryId, entry_type: apiError ? "error" : "discovery", category: apiError ? "api_error" : "assistant", summary: b.text!.trim() });
    } else if (b?.type === "thinking" && (b.thinking ?? "").trim()) {
      this.ev("transcript:entry", ts, { ...common, entry_id: entryId, entry_type: "discovery", category: "thinking", summary: b.thinking!.trim() });
    }
  }

  private count(calls: Calls, msg: J, usage: J, uuid: string, ts: string, agent: string, task: string | null): void {
    const rid = str(msg.id) ?? uuid;
    const split = obj(usage.cache_creation);
    const writes = count(usage.cache_creation_input_tokens);
    const w1h = split ? count(split.ephemeral_1h_input_tokens) : 0;
    let k = this.responses.get(rid);
    if (k === undefined) {
      k = calls.add(rid, str(msg.id) ? 1 : 0, ts, agent, task, str(msg.model) ?? this.model);
      this.responses.set(rid, k);
    }
    // The lines of one streamed response repeat its usage, growing: the largest is the response's.
    calls.input[k] = Math.max(calls.input[k]!, count(usage.input_tokens));
    calls.output[k] = Math.max(calls.output[k]!, count(usage.output_tokens));
    calls.read[k] = Math.max(calls.read[k]!, count(usage.cache_read_input_tokens));
    calls.write1h[k] = Math.max(calls.write1h[k]!, w1h);
    calls.write[k] = Math.max(calls.write[k]!, split ? count(split.ephemeral_5m_input_tokens) : writes);
    calls.ts[k] = ts;
  }

  private result(o: J, ts: string, uuid: string): void {
    this.runTurn();
    const failed = o.is_error === true || (typeof o.subtype === "string" && o.subtype !== "success");
    const message = failed ? [str(o.subtype), ...(Array.isArray(o.errors) ? o.errors.map(String) : []), str(o.result)].filter(Boolean).join(": ") : undefined;
    this.seen(this.main, this.turn?.id ?? null, ts);
    for (const d of Array.isArray(o.permission_denials) ? o.permission_denials : []) {
      const id = str(obj(d)?.tool_use_id);
      if (id) this.ev("tool:blocked", ts, { instance_id: this.main, tool_use_id: id, reason: `permission denied for ${str(obj(d)?.tool_name) ?? "the tool"}` });
    }
    const said = str(o.result);
    this.ev("transcript:entry", ts, {
      instance_id: this.main, ...(this.turn ? { task_id: this.turn.id } : {}), entry_id: `${uuid}#result`, entry_type: failed ? "error" : "checkpoint", category: "result",
      summary: failed ? (message ?? "the run failed") : (said ?? "run finished"), details: { num_turns: o.num_turns ?? null, duration_ms: o.duration_ms ?? null, total_cost_usd: o.total_cost_usd ?? null },
    });
  }

  skipped(): number {
    return this.skippedLines;
  }

  /** What is given at the end (after every line's events), in the order it is made; only a counting reading has it. */
  finish(): RunEnds {
    const calls = this.calls!;
    const { sessionId, main, f } = this;
    const result = f.result;
    this.responses.clear();
    // The result's own count per model: what no assistant line shows is one more call, and its cost wins.
    const seenCalls = calls.length;
    const modelUsage = obj(result?.modelUsage);
    const resultId = result ? (str(result.uuid) ?? lineHash(result)) : undefined;
    const resultTs = this.resultTime ?? this.lastTime!;
    const weightOf = (k: number) => weight(calls.tokens(k));
    const setCosts = (total: number, ks: number[]) =>
      shareCost(total, ks.map(weightOf)).forEach((c, j) => {
        calls.cost[ks[j]!] = c;
        calls.costKnown[ks[j]!] = 1;
      });
    if (modelUsage) {
      for (const [name, mu] of Object.entries(modelUsage)) {
        const u = obj(mu);
        if (!u) continue;
        const mine: number[] = [];
        for (let k = 0; k < calls.length; k++) if (calls.model[k] === name) mine.push(k);
        const sum = (col: number[]) => mine.reduce((a, k) => a + col[k]!, 0);
        const writes = mine.reduce((a, k) => a + (calls.write[k]! + calls.write1h[k]!), 0);
        const rest = {
          input: Math.max(0, count(u.inputTokens) - sum(calls.input)),
          output: Math.max(0, count(u.outputTokens) - sum(calls.output)),
          read: Math.max(0, count(u.cacheReadInputTokens) - sum(calls.read)),
          write: Math.max(0, count(u.cacheCreationInputTokens) - writes),
        };
        if (rest.input || rest.output || rest.read || rest.write) {
          const k = calls.add(`${sessionId}/result-${resultId}/${name}`, 2, resultTs, main, this.turn?.id ?? null, name);
          calls.input[k] = rest.input;
          calls.output[k] = rest.output;
          calls.read[k] = rest.read;
          calls.write[k] = rest.write;
          mine.push(k);
        }
        if (typeof u.costUSD === "number" && mine.length) setCosts(u.costUSD, mine);
      }
    } else if (result && typeof result.total_cost_usd === "number" && seenCalls) {
      setCosts(result.total_cost_usd, Array.from({ length: seenCalls }, (_, k) => k));
    }
    for (let k = 0; k < calls.length; k++) {
      if (calls.costKnown[k]) continue;
      const cost = tableCost(this.prices, calls.tokens(k));
      if (cost !== null) {
        calls.cost[k] = cost;
        calls.costKnown[k] = 1;
      }
    }
    this.endsOfRun(resultTs);
    const others = this.out.splice(0);
    return new RunEnds(calls, others, sessionId);
  }

  /** The turns', agents' and the run's ends. */
  private endsOfRun(resultTs: string): void {
    const { main, f } = this;
    const result = f.result;
    // The run's own account of how long it ran (result.duration_ms, from its start to the result)
    // wins over the few timestamps its lines carry: a file with one timed line ran for 0 ms.
    const ranFor = typeof result?.duration_ms === "number" && result.duration_ms > 0 ? result.duration_ms : null;
    const startByResult = ranFor !== null ? Date.parse(resultTs) - ranFor : NaN;
    const firstTs = startByResult < Date.parse(this.firstTime!) ? new Date(Math.round(startByResult)).toISOString() : this.firstTime!;
    const endTs = this.lastTime!;
    const failed = result ? result.is_error === true || (typeof result.subtype === "string" && result.subtype !== "success") : false;
    this.turns.forEach((t, k) => {
      const last = k === this.turns.length - 1;
      if (!last) this.ev("task:status", t.last, { task_id: t.id, status: "completed" });
      else if (result) this.ev("task:status", resultTs, { task_id: t.id, status: failed ? "failed" : "completed" });
    });
    for (const [agent, a] of this.agents) {
      const type = agent !== main && a.task ? this.typeOfCall.get(a.task) : undefined;
      const state = { instance_id: agent, ...(a.task && agent !== main ? { current_task_id: a.task } : {}), ...(type ? { agent_type: type } : {}) };
      this.ev("agent:heartbeat", a.first, { ...state, status: "working" });
      if (agent !== main || result) this.ev("agent:heartbeat", agent === main ? resultTs : a.last, { ...state, status: agent === main && failed ? "failed" : "completed", ...(agent !== main ? { heartbeat_id: `${agent}@end` } : {}) });
    }
    const cwd = str(f.init?.cwd);
    // The task list is the project folder Claude Code keeps the same session's transcript in.
    this.ev("execution:status", firstTs, { status: "started", ...(cwd ? { cwd, task_list_id: cwd.replace(/[^A-Za-z0-9]/g, "-") } : {}) });
    if (result) {
      const message = failed ? [str(result.subtype), ...(Array.isArray(result.errors) ? result.errors.map(String) : [])].filter(Boolean).join(": ") : undefined;
      this.ev("execution:status", endTs > resultTs ? endTs : resultTs, { status: failed ? "failed" : "completed", ...(message ? { message } : {}) });
    }
  }
}

/**
 * A stream read two or three times, and never held whole (a small one is read once, its parsed
 * lines kept). The first reading finds what the others need before the line that holds it:
 * the session id, the init line, the last result, the first time any line carries. Every
 * line's state without its events is made for what is given at the end (each response's model
 * call with the result's own count and cost, turns', agents' and the run's ends) and for the
 * places the stream steps back in time: in the first reading too, once the lines read hold
 * every fact but the last result (a stream with an init line and a time near its start, as
 * `claude -p` writes them), else in a second reading. The last makes each line's events as it
 * comes, merged with those by time: the events of one stable sort of them all, as the
 * whole-file reader gives them.
 */
function* claudeStreamRead(input: AdapterInput, prices: PriceTable): AdapterRead {
  if (wholeReader()) return yield* given(streamEvents(input.path, input.lines(), prices));
  const file = input.path;
  const readings = new Readings(input);
  const seen = new FactsSeen();
  const steps = new StepsBack();
  let i = 0;
  let state: ClaudeRun | null = null;
  let early: Facts | null = null;
  let before: Row[] | null = []; // null: too many lines before the facts; a reading of their own makes their state
  for (const r of readings.first()) {
    seen.see(r.o);
    if (state) {
      steps.add(i++, state.line(r));
      state.out.length = 0;
      continue;
    }
    if (!before) continue;
    before.push(r);
    early = seen.early();
    if (early) {
      state = new ClaudeRun(early, prices);
      for (const b of before) {
        steps.add(i++, state.line(b));
        state.out.length = 0;
      }
      before = null;
    } else if (before.length > EARLY_ROWS) before = null;
  }
  const { bad, lines } = readings;
  const rows = seen.rows;
  const facts = seen.facts(file);
  if (!facts) return { skipped: rows, bad, lines, executionId: null };
  const sessionId = facts.sessionId;

  let ends: RunEnds;
  if (state) {
    // Found early, the facts are the whole file's but its last result.
    early!.result = facts.result;
    ends = state.finish();
  } else {
    // A reading of its own: the state of every line, what is given at the end, where time steps back.
    const again = new ClaudeRun(facts, prices);
    for (const r of readings.again()) {
      steps.add(i++, again.line(r));
      again.out.length = 0;
    }
    if (i !== rows) throw changed(file, 1, lines);
    ends = again.finish();
  }
  state = null;

  // The last reading: each line's events, merged with the ends by time.
  const merge = new TimeMerge(ends);
  const run = new ClaudeRun(facts, prices, false);
  i = 0;
  for (const r of readings.again()) {
    const t = run.line(r);
    for (const e of run.out) merge.push(e);
    run.out.length = 0;
    merge.saw(t);
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
