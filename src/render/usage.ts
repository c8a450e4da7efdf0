import type { IO, Palette } from "../io.js";
import type { BlockRow, UsageKey, UsageRow } from "../queries/usage.js";
import { offsetMinutes } from "../time-zone.js";
import { bar } from "./bars.js";
import { fmtInt, fmtMs, fmtUsd, wrapWords } from "./format.js";
import { renderTable, type Column } from "./table.js";

/** A cost is unknown, never 0, when no call could be priced; partly known, it says so (+?). */
export function costCell(usd: number | null, unpriced: number | null): string {
  if (usd === null) return unpriced ? "unknown" : "—";
  return unpriced ? `${fmtUsd(usd)}+?` : fmtUsd(usd);
}

/** A usage row as a script reads it: each key by its name, then every figure; the total flagged. */
export function usageJson(keys: readonly UsageKey[], row: UsageRow, total: boolean): Record<string, unknown> {
  const { key_1, key_2, key_3, key_4, is_total: _total, ...figures } = row;
  const values = [key_1, key_2, key_3, key_4];
  return { ...Object.fromEntries(keys.map((k, i) => [k, total ? null : values[i]])), total, ...figures };
}

/** An instant as the zone's wall clock, to the minute. */
export function localTime(zone: string, iso: string | null): string {
  if (!iso) return "—";
  const ms = Date.parse(iso);
  return new Date(ms + offsetMinutes(zone, ms) * 60_000).toISOString().slice(0, 16).replace("T", " ");
}

/** What a key's missing value means in a row. */
const NONE: Record<UsageKey, string> = {
  day: "(no time)", week: "(no time)", month: "(no time)", session: "—", project: "(none)", model: "unknown", agent: "(no agent)", tool: "—",
};

const BAR = 12;
/** Keys whose values are ids or names a person must read whole. */
const KEEP: readonly UsageKey[] = ["day", "week", "month", "session", "model"];
/** Columns that are null in every row of a report by this key (only the total has them): they give way first. */
const NOT_THEIRS: Partial<Record<UsageKey, string[]>> = {
  model: ["tool_calls", "errors"],
  tool: ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "model_calls"],
};

/**
 * The usage report: one row per group with its keys (a key repeated from the row above left
 * blank, so groups read as blocks), tokens, cost (with a bar on a terminal), calls and errors,
 * then the total.
 */
export function renderUsage(rows: UsageRow[], total: UsageRow, keys: readonly UsageKey[], io: IO, c: Palette): string {
  type R = UsageRow & { _keys: string[]; _total?: boolean };
  const shown: R[] = rows.map((r, i) => {
    const own = [r.key_1, r.key_2, r.key_3, r.key_4].slice(0, keys.length).map((v, j) => v ?? NONE[keys[j]!]);
    const prev = i > 0 ? [rows[i - 1]!.key_1, rows[i - 1]!.key_2, rows[i - 1]!.key_3].map((v, j) => v ?? NONE[keys[j]!]) : [];
    // Only the leading keys a row shares with the one above are blanked; the last key always shows.
    let same = true;
    const cells = own.map((v, j) => {
      same = same && j < own.length - 1 && prev[j] === v;
      return same ? "" : v;
    });
    return { ...r, _keys: cells };
  });
  shown.push({ ...total, _keys: keys.map((_, j) => (j === 0 ? "TOTAL" : "")), _total: true });
  const peak = Math.max(0, ...rows.map((r) => r.cost_usd ?? 0));
  const n = (k: keyof UsageRow) => (r: R) => fmtInt(r[k] as number | null);
  // Narrow terminals lose the token breakdown before the counts: TOKENS and COST always stay.
  const columns: Column<R>[] = [
    ...keys.map((k, j): Column<R> => ({
      key: `key_${j + 1}`, header: k.toUpperCase(), keep: KEEP.includes(k), min: 16,
      get: (r) => r._keys[j]!, color: (t, r) => (r._total ? c.bold(t) : t),
    })),
    { key: "input_tokens", header: "INPUT", align: "right", get: n("input_tokens"), drop: 7 },
    { key: "output_tokens", header: "OUTPUT", align: "right", get: n("output_tokens"), drop: 5 },
    { key: "cache_read_tokens", header: "CACHE READ", align: "right", get: n("cache_read_tokens"), drop: 8 },
    { key: "cache_write_tokens", header: "WRITE 5M", align: "right", get: n("cache_write_tokens"), drop: 9 },
    { key: "cache_write_1h_tokens", header: "WRITE 1H", align: "right", get: n("cache_write_1h_tokens"), drop: 10 },
    { key: "total_tokens", header: "TOKENS", align: "right", get: n("total_tokens"), color: (t, r) => (r._total ? c.bold(t) : t) },
    { key: "cost_usd", header: "COST", align: "right", get: (r) => costCell(r.cost_usd, r.unpriced_calls), color: (t, r) => (r._total ? c.bold(t) : t) },
    ...(io.isTTY
      // A bar is whole or not there (cut, the largest reads as any other), and the first to go: data before decoration.
      ? [{ key: "bar", header: "", get: (r: R) => (r._total ? "" : bar(r.cost_usd ?? 0, peak, BAR)), color: (t: string) => c.accent(t), min: BAR, drop: 11 } as Column<R>]
      : []),
    { key: "model_calls", header: "MODEL CALLS", align: "right", get: n("model_calls"), drop: 2 },
    { key: "tool_calls", header: "TOOL CALLS", align: "right", get: n("tool_calls"), drop: 3 },
    { key: "errors", header: "ERRORS", align: "right", get: n("errors"), color: (t, r) => (t !== "0" && t !== "—" && !r._total ? c.error(t) : t), drop: 4 },
  ];
  const giveWay = new Set(keys.flatMap((k) => NOT_THEIRS[k] ?? []));
  return renderTable(shown, columns.map((col) => (giveWay.has(col.key) ? { ...col, drop: (col.drop ?? 0) + 20 } : col)), io);
}

/** What a report leaves out or cannot price, under the table: a paragraph each, wrapped to `width`. */
export function usageNotes(total: UsageRow, keys: readonly UsageKey[], c: Palette, width = Infinity): string[] {
  const notes: string[] = [];
  const said = { push: (style: (s: string) => string, text: string) => notes.push(wrapWords(text, width).map(style).join("\n")) };
  if (total.unpriced_calls) {
    said.push(c.warn, `${fmtInt(total.unpriced_calls)} model call${total.unpriced_calls === 1 ? " is" : "s are"} of a model with no known price: counted, not costed (+?)`);
  }
  if (keys.includes("tool")) said.push(c.dim, "by tool: tokens and cost are the model calls', which no tool makes — only the total has them; errors are each tool's failed calls");
  else if (keys.includes("model")) said.push(c.dim, "by model: tool calls and errors are no model's — only the total has them");
  if (total.replayed_model_calls) {
    said.push(c.dim, `not counted: ${fmtInt(total.replayed_model_calls)} model calls (${fmtInt(total.replayed_tokens)} tokens, ` +
      `${total.replayed_cost_usd === null ? "cost unknown" : fmtUsd(total.replayed_cost_usd)}) that resumed or forked sessions carry of the sessions they came from`);
  }
  return notes;
}

/** A model's name as a person scans it in a list: without the vendor prefix and the release date. */
function shortModel(m: string): string {
  return m.replace(/^claude-/, "").replace(/-\d{8}$/, "");
}

export function renderBlocks(rows: BlockRow[], zone: string, io: IO, c: Palette): string {
  const peak = Math.max(0, ...rows.map((r) => r.cost_usd ?? 0));
  const columns: Column<BlockRow>[] = [
    { key: "block_start", header: "START", keep: true, get: (r) => localTime(zone, r.block_start) },
    { key: "block_end", header: "END", keep: true, get: (r) => localTime(zone, r.block_end).slice(r.block_end.slice(0, 10) === r.block_start.slice(0, 10) ? 11 : 0) },
    { key: "active", header: "STATUS", get: (r) => (r.active ? "ACTIVE" : "done"), color: (t) => (t === "ACTIVE" ? c.ok(t) : c.dim(t)) },
    { key: "models", header: "MODELS", min: 10, drop: 3, get: (r) => r.models.map(shortModel).join(", ") },
    { key: "model_calls", header: "MODEL CALLS", align: "right", get: (r) => fmtInt(r.model_calls), drop: 2 },
    { key: "input_tokens", header: "INPUT", align: "right", get: (r) => fmtInt(r.input_tokens), drop: 5 },
    { key: "output_tokens", header: "OUTPUT", align: "right", get: (r) => fmtInt(r.output_tokens), drop: 4 },
    { key: "total_tokens", header: "TOKENS", align: "right", get: (r) => fmtInt(r.total_tokens) },
    { key: "cost_usd", header: "COST", align: "right", get: (r) => costCell(r.cost_usd, r.unpriced_calls) },
    ...(io.isTTY ? [{ key: "bar", header: "", get: (r: BlockRow) => bar(r.cost_usd ?? 0, peak, BAR), color: (t: string) => c.accent(t), min: BAR, drop: 6 } as Column<BlockRow>] : []),
  ];
  return renderTable(rows, columns, io);
}

/** The active block in words: so far, the pace, and where that pace ends up by the block's end. */
export function renderActiveBlock(b: BlockRow, zone: string, c: Palette): string {
  const end = localTime(zone, b.block_end);
  const cost = (usd: number | null) => (usd === null ? "cost unknown" : fmtUsd(usd));
  const unpriced = b.unpriced_calls ? c.warn(` (+ ${fmtInt(b.unpriced_calls)} calls of unknown price)`) : "";
  return [
    c.bold(`Active block ${localTime(zone, b.block_start)} → ${end.slice(11)}`) + c.dim(` (${fmtMs(b.remaining_ms)} left)`),
    `  so far     ${fmtInt(b.total_tokens)} tokens, ${cost(b.cost_usd)}${unpriced} in ${fmtInt(b.model_calls)} model calls since ${localTime(zone, b.first_at).slice(11)}`,
    `  burn rate  ${fmtInt(b.tokens_per_minute)} tokens/min, ${b.usd_per_hour === null ? "cost unknown" : `${fmtUsd(b.usd_per_hour)}/h`}`,
    `  projected  ${fmtInt(b.projected_tokens)} tokens, ${cost(b.projected_cost_usd)} by ${end.slice(11)} at this rate`,
  ].join("\n");
}
