import Database from "better-sqlite3";
import { costOf, type PriceTable } from "../../pricing.js";
import { parseJson } from "../text.js";
import { errorText, given } from "./shared.js";
import type { Adapter, AdapterResult, J } from "./types.js";

/**
 * Seed 002's trace store (a SQLite file with agent_trace_sessions and agent_traces, nested by
 * parent_trace_id) as obs events: each session an execution, each trace a tool call (when it
 * names a tool) or a transcript entry, with its parent link kept; tokens make model calls.
 */

const SQLITE_HEADER = Buffer.from("SQLite format 3\0");

/** Whether a file is a SQLite database holding a trace store. */
function isTraceStore(file: string, head: Buffer): boolean {
  if (head.length < 16 || !head.subarray(0, 16).equals(SQLITE_HEADER)) return false;
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return Boolean(db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'agent_traces'`).get());
    } finally {
      db.close();
    }
  } catch {
    return false;
  }
}

function entryTypeOf(type: string): string {
  const t = type.toLowerCase();
  if (/error|fail/.test(t)) return "error";
  if (/model_selected|model_switched|decision|plan/.test(t)) return "decision";
  if (/(trace|step|phase)_started|start$/.test(t)) return "phase_start";
  if (/(trace|step|phase)_(ended|completed)|end$|complete/.test(t)) return "phase_end";
  return "discovery";
}

const parse = (v: unknown): J => {
  if (typeof v !== "string") return {};
  try {
    const o = parseJson(v);
    return o && typeof o === "object" && !Array.isArray(o) ? (o as J) : { value: o };
  } catch {
    return { text: v };
  }
};

/**
 * A trace's own error text: what its data says went wrong (data.error, error_message or
 * exception), after its message when it has both ("Step failed: FileNotFoundError: b.py").
 */
function errorTextOf(data: J, failedType: boolean): string | null {
  const err = errorText(data.error) ?? errorText(data.error_message) ?? errorText(data.exception);
  const msg = errorText(data.message);
  if (err && msg && !msg.includes(err)) return `${msg}: ${err}`;
  return err ?? (failedType ? msg : null);
}

const iso = (v: unknown): string | null => {
  if (typeof v === "number") return new Date(v > 1e12 ? v : v * 1000).toISOString();
  if (typeof v !== "string" || v === "") return null;
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v.replace(" ", "T")}Z`);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
};

function traceStoreEvents(file: string, prices: PriceTable): AdapterResult {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  const events: J[] = [];
  let lines = 0;
  try {
    const hasSessions = Boolean(db.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'agent_trace_sessions'`).get());
    const sessions = hasSessions ? (db.prepare(`SELECT * FROM agent_trace_sessions`).all() as J[]) : [];
    for (const s of sessions) {
      lines++;
      const exec = String(s.id);
      const start = iso(s.started_at);
      if (!start) continue;
      events.push({ kind: "execution:status", execution_id: exec, timestamp: start, status: "started", ...(s.task ? { message: String(s.task) } : {}) });
      const done = iso(s.completed_at);
      if (done) {
        const st = String(s.status ?? "completed");
        events.push({ kind: "execution:status", execution_id: exec, timestamp: done, status: st === "failed" || st === "cancelled" ? "failed" : "completed", ...(s.task ? { message: String(s.task) } : {}) });
      }
    }
    const traces = db.prepare(`SELECT * FROM agent_traces ORDER BY timestamp, rowid`).all() as J[];
    for (const t of traces) {
      lines++;
      const exec = String(t.session_id);
      const ts = iso(t.timestamp);
      if (!ts) continue;
      const data = parse(t.data);
      const type = String(t.type ?? "trace");
      const id = String(t.id);
      const dur = typeof t.duration_ms === "number" ? Math.round(t.duration_ms) : null;
      const tool = data.tool ?? data.tool_name ?? data.name;
      const parent = t.parent_trace_id ? String(t.parent_trace_id) : null;
      const failedType = /error|fail/.test(type.toLowerCase());
      // data: {"error": null} (a result without one, as Python writes it) is no failure.
      const errorText = errorTextOf(data, failedType);
      if (/tool/.test(type.toLowerCase()) && typeof tool === "string") {
        const input = (data.params ?? data.input ?? data.args ?? {}) as unknown;
        events.push({ kind: "tool:start", execution_id: exec, timestamp: ts, tool_use_id: id, tool, input, entry_id: `${id}#entry`, ...(parent ? { parent_tool_use_id: parent } : {}) });
        const failed = failedType || errorText !== null;
        // A failed call without a duration still ended, in failure, when it was recorded.
        if (dur !== null || failed) {
          events.push({
            kind: "tool:end", execution_id: exec, timestamp: new Date(Date.parse(ts) + (dur ?? 0)).toISOString(), tool_use_id: id, is_error: failed,
            ...(t.raw_output ? { output: String(t.raw_output) } : {}), ...(failed ? { error_message: errorText ?? type } : {}),
          });
        }
      } else {
        const isError = entryTypeOf(type) === "error";
        events.push({
          kind: "transcript:entry", execution_id: exec, timestamp: ts, entry_id: id, entry_type: entryTypeOf(type), category: type,
          summary: String((isError ? errorText : null) ?? data.message ?? data.summary ?? data.text ?? type), details: { ...data, parent_trace_id: parent, raw_input: t.raw_input ?? null },
          ...(dur !== null ? { duration_ms: dur } : {}),
        });
      }
      const inTok = typeof t.input_tokens === "number" ? t.input_tokens : null;
      const outTok = typeof t.output_tokens === "number" ? t.output_tokens : null;
      if (inTok !== null || outTok !== null) {
        const model = String(t.model_used ?? "unknown");
        const cost = typeof t.cost_usd === "number" ? t.cost_usd : costOf(prices, { model, input_tokens: inTok ?? 0, output_tokens: outTok ?? 0 });
        events.push({
          kind: "llm:call", execution_id: exec, timestamp: dur !== null ? new Date(Date.parse(ts) + dur).toISOString() : ts, id: `${id}#llm`,
          model, input_tokens: Math.round(inTok ?? 0), output_tokens: Math.round(outTok ?? 0), ...(t.provider_used ? { provider: String(t.provider_used) } : {}),
          ...(dur !== null ? { duration_ms: dur } : {}), ...(cost !== null ? { cost_usd: cost } : {}), transcript_entry_id: /tool/.test(type.toLowerCase()) && typeof tool === "string" ? `${id}#entry` : id,
        });
      }
    }
  } finally {
    db.close();
  }
  events.sort((a, b) => (String(a.timestamp) < String(b.timestamp) ? -1 : String(a.timestamp) > String(b.timestamp) ? 1 : 0));
  return { events, skipped: 0, bad: [], lines, executionId: null };
}

export const traceStore: Adapter = {
  format: "trace-store",
  describes: "agent trace stores (SQLite files with agent_trace_sessions and agent_traces)",
  detect: (head) => isTraceStore(head.path, head.bytes),
  read: (input, ctx) => given(traceStoreEvents(input.path, ctx.prices)),
};
