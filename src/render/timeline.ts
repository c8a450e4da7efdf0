import type { IO, Palette } from "../io.js";
import type { I001Row } from "../queries/investigation.js";
import { bar } from "./bars.js";
import { fmtMs } from "./format.js";
import { renderTable } from "./table.js";

/** A status word coloured by what it means. */
export function statusColor(c: Palette, status: string | null): (s: string) => string {
  switch (status) {
    case "error": case "fail": case "failed": case "blocked": return c.error;
    case "running": case "partial": case "warn": case "skip": return c.warn;
    case "done": case "pass": case "success": case "completed": return c.ok;
    default: return (s) => s;
  }
}

/**
 * Seed 002's format_timeline: time, offset from the start, agent, type, summary, duration as a
 * bar to the scale of the longest step, and status.
 */
export function renderTimeline(rows: I001Row[], io: IO, c: Palette, o: { agent?: boolean } = {}): string {
  if (rows.length === 0) return c.dim("(no entries)");
  const start = Date.parse(rows[0]!.timestamp);
  const longest = Math.max(1, ...rows.map((r) => r.duration_ms ?? 0));
  const BAR = 10;
  return renderTable(
    rows,
    [
      { key: "timestamp", header: "TIME (UTC)", keep: true, get: (r) => r.timestamp.slice(11, 23) },
      { key: "offset", header: "+OFFSET", align: "right", get: (r) => "+" + fmtMs(Date.parse(r.timestamp) - start) },
      ...(o.agent === false ? [] : [{ key: "instance_id", header: "AGENT", drop: 2, get: (r: I001Row) => r.instance_id ?? "" }]),
      { key: "entry_type", header: "TYPE", min: 8, color: (t) => c.dim(t) },
      { key: "summary", header: "SUMMARY", min: 16 },
      { key: "duration_ms", header: "DURATION", align: "right", drop: 1, get: (r) => (r.duration_ms === null ? "" : `${bar(r.duration_ms, longest, BAR)} ${fmtMs(r.duration_ms).padStart(7)}`) },
      { key: "status", header: "STATUS", min: 7, color: (t, r) => (r.replay_of ? c.dim(t) : statusColor(c, r.status)(t)), get: (r) => (r.replay_of ? `${r.status ?? ""} (replayed)`.trim() : (r.status ?? "")) },
    ],
    io,
  );
}
