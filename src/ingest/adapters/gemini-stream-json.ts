import type { PriceTable } from "../../pricing.js";
import { oneLine } from "../shape.js";
import { byTime, count, hashId, jsonLines, obj, str, tableCost, tokenFields, given, type Row } from "./shared.js";
import { changed, EARLY_ROWS, endEvents, lineHash, Readings, StepsBack, TimeMerge, wholeReader } from "./stream-order.js";
import type { Adapter, AdapterInput, AdapterRead, AdapterResult, J, InputLine } from "./types.js";

/**
 * `gemini -p … --output-format stream-json` output as obs events: init (session_id, model),
 * message (role user or assistant; an assistant reply comes in `delta` chunks), tool_use,
 * tool_result (status success or error, with error.message), error (warnings and errors) and a
 * final result (status, error, stats). A run is an execution; each user message starts a task;
 * the reply's chunks make one entry; tokens are known only from result's stats, so a run makes
 * one model call (per model when the stats name them) when its result came, none before. A user
 * message may come before init, and a run cut short has no result: it stays running.
 */

const TYPES = new Set(["init", "message", "tool_use", "tool_result", "error", "result"]);

function looksLikeGeminiStream(first: J[]): boolean {
  const typed = first.filter((o) => typeof o.type === "string" && TYPES.has(o.type) && typeof o.timestamp === "string");
  return typed.some((o) =>
    (o.type === "init" && typeof o.session_id === "string" && typeof o.model === "string") ||
    (o.type === "message" && (o.role === "user" || o.role === "assistant") && typeof o.content === "string") ||
    (o.type === "tool_use" && typeof o.tool_id === "string"));
}

const CATEGORY: Record<string, string> = {
  read_file: "file_read", read_many_files: "file_read", list_directory: "file_read", glob: "file_read",
  search_file_content: "file_read", write_file: "file_write", replace: "file_write", run_shell_command: "shell",
  web_fetch: "network", google_web_search: "network", delegate_to_agent: "agent",
};

/**
 * The whole-file reading, kept to compare the streaming one with (OBS_STREAM_JSON_READER=whole):
 * every line's events made as the streaming reading makes them, then one stable sort by time.
 */
function geminiStreamEvents(file: string, input: Iterable<InputLine>, prices: PriceTable): AdapterResult {
  const { rows, bad } = jsonLines(file, input);
  const lines = rows.length + bad.length;
  const init = rows.find((r) => r.o.type === "init")?.o;
  const sessionId = str(init?.session_id) ?? (rows.length ? `gemini-${lineHash(rows[0]!.o)}` : null);
  if (!sessionId) return { events: [], skipped: 0, bad, lines, executionId: null };
  const run = new GeminiRun(sessionId, init, prices);
  for (const r of rows) run.line(r);
  run.close();
  if (!run.started()) return { events: [], skipped: run.skipped(), bad, lines, executionId: sessionId };
  run.finish();
  return { events: byTime(run.out), skipped: run.skipped(), bad, lines, executionId: sessionId };
}

interface Turn {
  id: string;
  last: string;
}

/**
 * One reading of a stream's lines in file order: each line's state and events (`out`);
 * then what is given at the end of a time (turns a later one followed, the run's start).
 * A class of small methods, not one closure: each reading makes a run, and V8 compiled a
 * closure that big again for each (hundreds of milliseconds a time); methods are compiled once.
 */
class GeminiRun {
  private skippedLines = 0;
  private model: string;
  private lastTs = "";
  private firstTs = "";
  private turn: Turn | null = null;
  private readonly turns: Turn[] = [];
  private reply: { id: string; ts: string; text: string } | null = null;
  private ended: { ts: string; failed: boolean; message?: string } | null = null;
  private readonly agent: string;
  /**
   * The events made since the caller last took them (it empties it). Not a function given to
   * each run: a field holding different functions in different runs made V8 throw away and
   * compile again the code that called it.
   */
  readonly out: J[] = [];

  constructor(private readonly sessionId: string, init: J | undefined, private readonly prices: PriceTable) {
    this.agent = `${sessionId}/main`;
    this.model = str(init?.model) ?? "unknown";
  }

  private ev(kind: string, ts: string, fields: J): void {
    this.out.push({ kind, execution_id: this.sessionId, timestamp: ts, ...fields });
  }

  private common(): J {
    return { instance_id: this.agent, ...(this.turn ? { task_id: this.turn.id } : {}) };
  }

  private flushReply(): void {
    const reply = this.reply;
    if (reply && reply.text.trim()) this.ev("transcript:entry", reply.ts, { ...this.common(), entry_id: reply.id, entry_type: "discovery", category: "assistant", summary: reply.text.trim() });
    this.reply = null;
  }

  /** One line's state and events; its time (null: it has none, nor any line before it). */
  line(r: Row): string | null {
    const o = r.o;
    const ts = str(o.timestamp) ?? this.lastTs;
    if (!ts) {
      this.skippedLines++;
      return null;
    }
    this.lastTs = ts;
    this.firstTs ||= ts;
    if (this.turn) this.turn.last = ts;
    const type = String(o.type ?? "");
    if (type !== "message" || o.role !== "assistant") this.flushReply();
    switch (type) {
      case "init":
        if (typeof o.model === "string") this.model = o.model;
        this.skippedLines++;
        break;
      case "message":
        if (o.role === "assistant") this.assistant(o, ts, r.n);
        else this.user(o, ts);
        break;
      case "tool_use":
        this.toolUse(o, ts, r.n);
        break;
      case "tool_result":
        this.toolResult(o, ts);
        break;
      case "error":
        this.error(o, ts, r.n);
        break;
      case "result":
        this.result(o, ts);
        break;
      default:
        this.skippedLines++;
    }
    return ts;
  }

  private assistant(o: J, ts: string, n: number): void {
    const content = typeof o.content === "string" ? o.content : "";
    // Chunks of one reply follow each other; a whole message (no delta) stands alone.
    if (!this.reply || o.delta !== true) {
      this.flushReply();
      this.reply = { id: `${this.sessionId}/reply@${ts}#${n}`, ts, text: "" };
    }
    this.reply.text += content;
    if (o.delta !== true) this.flushReply();
  }

  private user(o: J, ts: string): void {
    const content = typeof o.content === "string" ? o.content : "";
    if (!content.trim()) {
      this.skippedLines++;
      return;
    }
    if (this.ended) {
      // Another run of the same session (resumed): it is working again.
      this.ev("execution:status", ts, { status: "running" });
      this.ended = null;
    }
    const turn = { id: `${this.sessionId}/turn@${ts}`, last: ts };
    this.turn = turn;
    this.turns.push(turn);
    this.ev("task:status", ts, { task_id: turn.id, status: "running", title: oneLine(content.trim()), display_id: `turn ${this.turns.length}`, instance_id: this.agent });
    this.ev("transcript:entry", ts, { ...this.common(), entry_id: `${this.sessionId}/prompt@${ts}`, entry_type: "task_start", category: "user", summary: content.trim() });
  }

  private toolUse(o: J, ts: string, n: number): void {
    const id = str(o.tool_id) ?? `${this.sessionId}/tool@${n}`;
    const tool = str(o.tool_name) ?? "unknown";
    this.ev("tool:start", ts, { ...this.common(), tool_use_id: id, tool, input: o.parameters ?? {}, entry_id: `${this.sessionId}/tool@${id}`, ...(CATEGORY[tool] ? { tool_category: CATEGORY[tool] } : {}) });
  }

  private toolResult(o: J, ts: string): void {
    const id = str(o.tool_id);
    if (!id) {
      this.skippedLines++;
      return;
    }
    const failed = o.status === "error";
    const error = obj(o.error);
    const output = typeof o.output === "string" ? o.output : o.output !== undefined ? JSON.stringify(o.output) : "";
    this.ev("tool:end", ts, {
      instance_id: this.agent, tool_use_id: id, is_error: failed, output,
      ...(failed ? { error_message: (str(error?.message) ?? output).slice(0, 2000) || "the tool reported an error" } : {}),
    });
  }

  private error(o: J, ts: string, n: number): void {
    this.ev("transcript:entry", ts, { ...this.common(), entry_id: `${this.sessionId}/error@${ts}#${n}`, entry_type: o.severity === "warning" ? "discovery" : "error", category: o.severity === "warning" ? "warning" : "error", summary: str(o.message) ?? "error" });
  }

  private result(o: J, ts: string): void {
    const failed = o.status === "error";
    const error = obj(o.error);
    const ended: { ts: string; failed: boolean; message?: string } = { ts, failed, ...(error ? { message: [str(error.type), str(error.message)].filter(Boolean).join(": ") } : {}) };
    this.ended = ended;
    const stats = obj(o.stats) ?? {};
    const perModel = obj(stats.models);
    const usages: [string, J][] = perModel ? Object.entries(perModel).filter((e): e is [string, J] => Boolean(obj(e[1]))) : [[this.model, stats]];
    for (const [name, s] of usages) this.call(ts, name, s, perModel !== undefined);
    this.ev("transcript:entry", ts, {
      ...this.common(), entry_id: `${this.sessionId}/result@${ts}`, entry_type: failed ? "error" : "checkpoint", category: "result",
      summary: failed ? (ended.message ?? "the run failed") : "run finished", details: o.stats ?? null,
    });
    const turn = this.turn;
    if (turn) {
      this.ev("task:status", ts, { task_id: turn.id, status: failed ? "failed" : "completed" });
      this.turns.splice(this.turns.indexOf(turn), 1);
      this.turn = null;
    }
    this.ev("execution:status", ts, { status: failed ? "failed" : "completed", ...(ended.message ? { message: ended.message } : {}) });
    this.ev("agent:heartbeat", ts, { instance_id: this.agent, status: failed ? "failed" : "completed" });
  }

  /** A result's model call for one model's stats (none when they count no tokens). */
  private call(ts: string, name: string, s: J, perModel: boolean): void {
    // input_tokens is the prompt (cached included); output_tokens the candidates, without thoughts.
    const prompt = count(s.input_tokens);
    const cached = Math.min(prompt, count(s.cached));
    const candidates = count(s.output_tokens);
    const thoughts = Math.max(0, count(s.total_tokens) - prompt - candidates);
    if (!prompt && !candidates && !thoughts) return;
    const t = { model: name, input_tokens: s.input !== undefined ? count(s.input) : prompt - cached, output_tokens: candidates + thoughts, cache_read_tokens: cached, cache_write_tokens: 0, cache_write_1h_tokens: 0, reasoning_tokens: thoughts };
    const cost = tableCost(this.prices, t);
    this.ev("llm:call", ts, {
      id: `${this.sessionId}/result@${ts}${perModel ? `/${name}` : ""}`, provider: "google", ...tokenFields(t), ...this.common(),
      ...(typeof s.duration_ms === "number" ? { duration_ms: Math.round(s.duration_ms) } : {}), ...(cost !== null ? { cost_usd: cost } : {}),
    });
  }

  finish(): void {
    // Turns without a result that a later one followed ended with their last line; the last is still going.
    this.turns.forEach((t, k) => {
      if (k < this.turns.length - 1 || this.ended) this.ev("task:status", t.last, { task_id: t.id, status: "completed" });
    });
    this.ev("execution:status", this.firstTs, { status: "started" });
    this.ev("agent:heartbeat", this.firstTs, { instance_id: this.agent, status: "working" });
  }

  /** The reply still coming in chunks is given. */
  close(): void {
    this.flushReply();
  }

  /** The time of the reply still coming in chunks: its entry, given later, is of that time. */
  pending(): string | null {
    return this.reply ? this.reply.ts : null;
  }

  started(): boolean {
    return this.firstTs !== "";
  }

  skipped(): number {
    return this.skippedLines;
  }
}

/**
 * A stream read two or three times, and never held whole (a small one is read once, its parsed
 * lines kept): first for its init line (which may come after a prompt), and for every line's
 * state without its events (what is given at the end: turns a later one followed, the run's
 * start; the places the stream steps back in time) once the init line is read (the lines
 * before it held until then; when it comes later than EARLY_ROWS lines, or never, a reading of
 * their own makes their state); last, for each line's events as they come, merged with those
 * by time: the events of one stable sort of them all, as the whole-file reader gives them.
 */
function* geminiStreamRead(input: AdapterInput, prices: PriceTable): AdapterRead {
  if (wholeReader()) return yield* given(geminiStreamEvents(input.path, input.lines(), prices));
  const file = input.path;
  const readings = new Readings(input);
  let rows = 0;
  let first: J | undefined;
  let init: J | undefined;
  const steps = new StepsBack();
  let i = 0;
  let state: GeminiRun | null = null;
  let before: Row[] | null = []; // null: the init line came too late (or not at all) to hold the lines before it
  for (const r of readings.first()) {
    rows++;
    first ??= r.o;
    if (!init && r.o.type === "init") init = r.o;
    if (state) {
      const t = state.line(r);
      state.out.length = 0;
      if (t !== null) steps.add(i, t);
      i++;
      continue;
    }
    if (!before) continue;
    before.push(r);
    if (init) {
      // The init line names the session (else the first line does) and the model: no later line changes either.
      state = new GeminiRun(str(init.session_id) ?? `gemini-${lineHash(first)}`, init, prices);
      for (const b of before) {
        const t = state.line(b);
        state.out.length = 0;
        if (t !== null) steps.add(i, t);
        i++;
      }
      before = null;
    } else if (before.length > EARLY_ROWS) before = null;
  }
  const { bad, lines } = readings;
  const sessionId = str(init?.session_id) ?? (first ? `gemini-${lineHash(first)}` : null);
  if (!sessionId) return { skipped: 0, bad, lines, executionId: null };

  if (!state) {
    // The state of every line; its events are let go, but for what is given at the end.
    state = new GeminiRun(sessionId, init, prices);
    for (const r of readings.again()) {
      const t = state.line(r);
      state.out.length = 0;
      if (t !== null) steps.add(i, t);
      i++;
    }
    if (i !== rows) throw changed(file, 1, lines);
  }
  state.close();
  state.out.length = 0;
  if (!state.started()) return { skipped: state.skipped(), bad, lines, executionId: sessionId };
  state.finish();

  const merge = new TimeMerge(endEvents(byTime(state.out)));
  const run = new GeminiRun(sessionId, init, prices);
  const take = () => {
    for (const e of run.out) merge.push(e);
    run.out.length = 0;
  };
  i = 0;
  for (const r of readings.again()) {
    const t = run.line(r);
    take();
    if (t !== null) merge.saw(t);
    const later = steps.after(i++);
    const pending = run.pending();
    yield* merge.give(pending !== null && (later === null || pending < later) ? pending : later);
  }
  if (i !== rows) throw changed(file, 1, lines);
  run.close();
  take();
  yield* merge.give(null, true);
  return { skipped: run.skipped(), bad, lines, executionId: sessionId };
}

export const geminiStreamJson: Adapter = {
  format: "gemini-stream-json",
  describes: "gemini -p stream-json output",
  detect: (head) => looksLikeGeminiStream(head.objects),
  read: (input, ctx) => geminiStreamRead(input, ctx.prices),
};
