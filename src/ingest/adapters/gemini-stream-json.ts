import type { PriceTable } from "../../pricing.js";
import { oneLine } from "../shape.js";
import { byTime, count, hashId, jsonLines, obj, str, tableCost, tokenFields, given, type Row } from "./shared.js";
import { changed, lineHash, Readings, StepsBack, TimeMerge, wholeReader } from "./stream-order.js";
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
  const events: J[] = [];
  const run = geminiRun(sessionId, init, prices, (e) => events.push(e));
  for (const r of rows) run.line(r);
  run.close();
  if (!run.started()) return { events: [], skipped: run.skipped(), bad, lines, executionId: sessionId };
  run.finish();
  return { events: byTime(events), skipped: run.skipped(), bad, lines, executionId: sessionId };
}

/**
 * One reading of a stream's lines in file order: each line's state and events, given to `sink`;
 * then what is given at the end of a time (turns a later one followed, the run's start).
 */
function geminiRun(sessionId: string, init: J | undefined, prices: PriceTable, sink: (e: J) => void) {
  const agent = `${sessionId}/main`;
  let skipped = 0;
  const ev = (kind: string, ts: string, fields: J) => sink({ kind, execution_id: sessionId, timestamp: ts, ...fields });

  let model = str(init?.model) ?? "unknown";
  let lastTs = "";
  let firstTs = "";
  let turn = null as { id: string; last: string } | null;
  const turns: { id: string; last: string }[] = [];
  let reply: { id: string; ts: string; text: string } | null = null;
  let ended: { ts: string; failed: boolean; message?: string } | null = null;
  const common = () => ({ instance_id: agent, ...(turn ? { task_id: turn.id } : {}) });
  const flushReply = () => {
    if (reply && reply.text.trim()) ev("transcript:entry", reply.ts, { ...common(), entry_id: reply.id, entry_type: "discovery", category: "assistant", summary: reply.text.trim() });
    reply = null;
  };

  /** One line's state and events; its time (null: it has none, nor any line before it). */
  const line = ({ o, n }: Row): string | null => {
    const ts = str(o.timestamp) ?? lastTs;
    if (!ts) {
      skipped++;
      return null;
    }
    lastTs = ts;
    firstTs ||= ts;
    if (turn) turn.last = ts;
    const type = String(o.type ?? "");
    if (type !== "message" || o.role !== "assistant") flushReply();
    switch (type) {
      case "init":
        if (typeof o.model === "string") model = o.model;
        skipped++;
        break;
      case "message": {
        const content = typeof o.content === "string" ? o.content : "";
        if (o.role === "assistant") {
          // Chunks of one reply follow each other; a whole message (no delta) stands alone.
          if (!reply || o.delta !== true) {
            flushReply();
            reply = { id: `${sessionId}/reply@${ts}#${n}`, ts, text: "" };
          }
          reply.text += content;
          if (o.delta !== true) flushReply();
          break;
        }
        if (!content.trim()) {
          skipped++;
          break;
        }
        if (ended) {
          // Another run of the same session (resumed): it is working again.
          ev("execution:status", ts, { status: "running" });
          ended = null;
        }
        turn = { id: `${sessionId}/turn@${ts}`, last: ts };
        turns.push(turn);
        ev("task:status", ts, { task_id: turn.id, status: "running", title: oneLine(content.trim()), display_id: `turn ${turns.length}`, instance_id: agent });
        ev("transcript:entry", ts, { ...common(), entry_id: `${sessionId}/prompt@${ts}`, entry_type: "task_start", category: "user", summary: content.trim() });
        break;
      }
      case "tool_use": {
        const id = str(o.tool_id) ?? `${sessionId}/tool@${n}`;
        const tool = str(o.tool_name) ?? "unknown";
        ev("tool:start", ts, { ...common(), tool_use_id: id, tool, input: o.parameters ?? {}, entry_id: `${sessionId}/tool@${id}`, ...(CATEGORY[tool] ? { tool_category: CATEGORY[tool] } : {}) });
        break;
      }
      case "tool_result": {
        const id = str(o.tool_id);
        if (!id) {
          skipped++;
          break;
        }
        const failed = o.status === "error";
        const error = obj(o.error);
        const output = typeof o.output === "string" ? o.output : o.output !== undefined ? JSON.stringify(o.output) : "";
        ev("tool:end", ts, {
          instance_id: agent, tool_use_id: id, is_error: failed, output,
          ...(failed ? { error_message: (str(error?.message) ?? output).slice(0, 2000) || "the tool reported an error" } : {}),
        });
        break;
      }
      case "error":
        ev("transcript:entry", ts, { ...common(), entry_id: `${sessionId}/error@${ts}#${n}`, entry_type: o.severity === "warning" ? "discovery" : "error", category: o.severity === "warning" ? "warning" : "error", summary: str(o.message) ?? "error" });
        break;
      case "result": {
        const failed = o.status === "error";
        const error = obj(o.error);
        ended = { ts, failed, ...(error ? { message: [str(error.type), str(error.message)].filter(Boolean).join(": ") } : {}) };
        const stats = obj(o.stats) ?? {};
        const perModel = obj(stats.models);
        const usages: [string, J][] = perModel ? Object.entries(perModel).filter((e): e is [string, J] => Boolean(obj(e[1]))) : [[model, stats]];
        for (const [name, s] of usages) {
          // input_tokens is the prompt (cached included); output_tokens the candidates, without thoughts.
          const prompt = count(s.input_tokens);
          const cached = Math.min(prompt, count(s.cached));
          const candidates = count(s.output_tokens);
          const thoughts = Math.max(0, count(s.total_tokens) - prompt - candidates);
          if (!prompt && !candidates && !thoughts) continue;
          const t = { model: name, input_tokens: s.input !== undefined ? count(s.input) : prompt - cached, output_tokens: candidates + thoughts, cache_read_tokens: cached, cache_write_tokens: 0, cache_write_1h_tokens: 0, reasoning_tokens: thoughts };
          const cost = tableCost(prices, t);
          ev("llm:call", ts, {
            id: `${sessionId}/result@${ts}${perModel ? `/${name}` : ""}`, provider: "google", ...tokenFields(t), ...common(),
            ...(typeof s.duration_ms === "number" ? { duration_ms: Math.round(s.duration_ms) } : {}), ...(cost !== null ? { cost_usd: cost } : {}),
          });
        }
        ev("transcript:entry", ts, {
          ...common(), entry_id: `${sessionId}/result@${ts}`, entry_type: failed ? "error" : "checkpoint", category: "result",
          summary: failed ? (ended.message ?? "the run failed") : "run finished", details: o.stats ?? null,
        });
        if (turn) {
          ev("task:status", ts, { task_id: turn.id, status: failed ? "failed" : "completed" });
          turns.splice(turns.indexOf(turn), 1);
          turn = null;
        }
        ev("execution:status", ts, { status: failed ? "failed" : "completed", ...(ended.message ? { message: ended.message } : {}) });
        ev("agent:heartbeat", ts, { instance_id: agent, status: failed ? "failed" : "completed" });
        break;
      }
      default:
        skipped++;
    }
    return ts;
  };
  const finish = (): void => {
    // Turns without a result that a later one followed ended with their last line; the last is still going.
    turns.forEach((t, k) => {
      if (k < turns.length - 1 || ended) ev("task:status", t.last, { task_id: t.id, status: "completed" });
    });
    ev("execution:status", firstTs, { status: "started" });
    ev("agent:heartbeat", firstTs, { instance_id: agent, status: "working" });
  };
  return {
    line,
    /** The reply still coming in chunks is given. */
    close: flushReply,
    finish,
    /** The time of the reply still coming in chunks: its entry, given later, is of that time. */
    pending: (): string | null => (reply ? (reply as { ts: string }).ts : null),
    started: () => firstTs !== "",
    skipped: () => skipped,
  };
}

/**
 * A stream read three times, and never held whole (a small one is read once, its parsed lines
 * kept): first for its init line (which may come after a prompt), then for every line's state
 * without its events (what is given at the end: turns a later one followed, the run's start;
 * the places the stream steps back in time), then for each line's events as they come, merged
 * with those by time: the events of one stable sort of them all, as the whole-file reader gives them.
 */
function* geminiStreamRead(input: AdapterInput, prices: PriceTable): AdapterRead {
  if (wholeReader()) return yield* given(geminiStreamEvents(input.path, input.lines(), prices));
  const file = input.path;
  const readings = new Readings(input);
  let rows = 0;
  let first: J | undefined;
  let init: J | undefined;
  for (const { o } of readings.first()) {
    rows++;
    first ??= o;
    if (!init && o.type === "init") init = o;
  }
  const { bad, lines } = readings;
  const sessionId = str(init?.session_id) ?? (first ? `gemini-${lineHash(first)}` : null);
  if (!sessionId) return { skipped: 0, bad, lines, executionId: null };

  const ends: J[] = [];
  let atEnd = false;
  const steps = new StepsBack();
  const state = geminiRun(sessionId, init, prices, (e) => {
    if (atEnd) ends.push(e);
  });
  let i = 0;
  for (const r of readings.again()) {
    const t = state.line(r);
    if (t !== null) steps.add(i, t);
    i++;
  }
  if (i !== rows) throw changed(file, 1, lines);
  state.close();
  if (!state.started()) return { skipped: state.skipped(), bad, lines, executionId: sessionId };
  atEnd = true;
  state.finish();

  const merge = new TimeMerge(byTime(ends));
  const run = geminiRun(sessionId, init, prices, (e) => merge.push(e));
  i = 0;
  for (const r of readings.again()) {
    const t = run.line(r);
    if (t !== null) merge.saw(t);
    const later = steps.after(i++);
    const pending = run.pending();
    yield* merge.give(pending !== null && (later === null || pending < later) ? pending : later);
  }
  if (i !== rows) throw changed(file, 1, lines);
  run.close();
  yield* merge.give(null, true);
  return { skipped: run.skipped(), bad, lines, executionId: sessionId };
}

export const geminiStreamJson: Adapter = {
  format: "gemini-stream-json",
  describes: "gemini -p stream-json output",
  detect: (head) => looksLikeGeminiStream(head.objects),
  read: (input, ctx) => geminiStreamRead(input, ctx.prices),
};
