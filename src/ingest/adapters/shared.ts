import crypto from "node:crypto";
import { costOf, type PriceTable } from "../../pricing.js";
import { parseJson } from "../text.js";
import type { AdapterRead, AdapterResult, BadLine, InputLine, J } from "./types.js";

/**
 * What several adapters need: the JSON objects of a file's lines, ids for records the producer
 * named nothing, the cost of a model call, and a producer's total cost shared among its calls.
 * Adapters import this module, never one another.
 */

export interface Row {
  o: J;
  /** The line's number in the file (1-based). */
  n: number;
}

/** The JSON objects of a file's lines, with their line numbers; what is not one is a bad line. */
export function jsonLines(file: string, lines: Iterable<InputLine>): { rows: Row[]; bad: BadLine[] } {
  const rows: Row[] = [];
  const bad: BadLine[] = [];
  for (const { text, n, invalid } of lines) {
    const o = jsonLine(file, text, n, invalid, bad);
    if (o) rows.push({ o, n });
  }
  return { rows, bad };
}

/** One line's JSON object, or null (a blank line, or a bad one noted in `bad`). */
export function jsonLine(file: string, text: string, n: number, invalid: string | undefined, bad: BadLine[]): J | null {
  // A line over the longest obs reads comes without its text: bad, not blank.
  if (invalid) {
    bad.push({ source: file, line: n, reason: invalid });
    return null;
  }
  if (text.trim() === "") return null;
  let o: unknown;
  try {
    o = parseJson(text);
  } catch (e) {
    bad.push({ source: file, line: n, reason: `not JSON: ${(e as Error).message}` });
    return null;
  }
  if (o === null || typeof o !== "object" || Array.isArray(o)) {
    bad.push({ source: file, line: n, reason: "not a JSON object" });
    return null;
  }
  return o as J;
}

/** The lines of text in memory, for a format read as one document that may also be lines. */
export function* textLines(text: string): Generator<InputLine> {
  let n = 0;
  for (const t of text.split("\n")) yield { text: t, n: ++n };
}

/** A short, stable id for something the producer gave no id: a hash of what identifies it. */
export function hashId(...parts: unknown[]): string {
  return crypto.createHash("sha256").update(parts.map((p) => (typeof p === "string" ? p : JSON.stringify(p))).join("\u0000")).digest("hex").slice(0, 16);
}

/** Text of an error value: a string as it is, an exception-like object by its message (else as JSON). */
export function errorText(v: unknown): string | null {
  if (v === null || v === undefined || v === false || v === "") return null;
  if (typeof v === "string") return v;
  if (typeof v === "object" && !Array.isArray(v)) {
    const o = v as J;
    const msg = errorText(o.message) ?? errorText(o.error) ?? errorText(o.detail);
    const kind = typeof o.type === "string" ? o.type : typeof o.name === "string" ? o.name : null;
    if (msg) return kind && !msg.startsWith(kind) ? `${kind}: ${msg}` : msg;
  }
  return JSON.stringify(v);
}

export const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
export const obj = (v: unknown): J | undefined => (v && typeof v === "object" && !Array.isArray(v) ? (v as J) : undefined);
/** A non-negative integer count, or 0. */
export const count = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.round(v) : 0);

/** ISO time of a value that may be ISO text, epoch milliseconds or epoch seconds. */
export function isoTime(v: unknown): string | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return new Date(v > 1e12 ? v : v * 1000).toISOString();
  if (typeof v !== "string" || v === "") return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** The text of message content: a string, or an array of parts with `text` (or `thought: false` parts). */
export function partsText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (typeof p === "string" ? p : p && typeof p === "object" && typeof (p as J).text === "string" && (p as J).thought !== true ? ((p as J).text as string) : ""))
      .filter(Boolean)
      .join("\n");
  }
  const o = obj(content);
  return o && typeof o.text === "string" ? o.text : "";
}

/** The tokens of one model call, as docs/events.md's llm:call carries them. */
export interface CallTokens {
  model: string;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  /** 5-minute cache writes. */
  cache_write_tokens: number;
  /** 1-hour cache writes, priced apart. */
  cache_write_1h_tokens: number;
  /** The part of output_tokens spent reasoning. */
  reasoning_tokens: number;
}

/** A call's cost from the price table, or null when the table does not know its model. */
export function tableCost(prices: PriceTable, t: CallTokens): number | null {
  return costOf(prices, {
    model: t.model, input_tokens: t.input_tokens, output_tokens: t.output_tokens, cache_read_tokens: t.cache_read_tokens,
    cache_write_tokens: t.cache_write_tokens, cache_write_1h_tokens: t.cache_write_1h_tokens,
  });
}

/**
 * A producer's total cost shared among the calls it covers, in proportion to each call's
 * weight; the shares add up to the total exactly (the last takes the rounding).
 */
export function shareCost(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const shares = weights.map((w) => Math.round((sum > 0 ? (total * w) / sum : total / weights.length) * 1e10) / 1e10);
  if (shares.length) {
    const rest = shares.slice(0, -1).reduce((a, b) => a + b, 0);
    shares[shares.length - 1] = Math.round((total - rest) * 1e10) / 1e10;
  }
  return shares;
}

/** The llm:call fields for a call's tokens (zero counts left out but the required ones). */
export function tokenFields(t: CallTokens): J {
  return {
    model: t.model, input_tokens: t.input_tokens, output_tokens: t.output_tokens,
    cache_read_tokens: t.cache_read_tokens, cache_write_tokens: t.cache_write_tokens,
    ...(t.cache_write_1h_tokens ? { cache_write_1h_tokens: t.cache_write_1h_tokens } : {}),
    ...(t.reasoning_tokens ? { reasoning_tokens: t.reasoning_tokens } : {}),
  };
}

/**
 * Orders events by time for folding, keeping the order they were made in among equal times
 * (a call's start before its end, a task's start before its work).
 */
export function byTime(events: J[]): J[] {
  return events
    .map((e, i) => ({ e, i, t: String(e.timestamp) }))
    .sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.i - b.i))
    .map((x) => x.e);
}

/** Gives the events an adapter gathered in memory one by one, then its summary. */
export function* given(r: AdapterResult): AdapterRead {
  yield* r.events;
  return { skipped: r.skipped, bad: r.bad, lines: r.lines, executionId: r.executionId, ...(r.cutOff ? { cutOff: r.cutOff } : {}) };
}

/**
 * A line's time as it sorts: a canonical ISO time as its epoch milliseconds, whose order is its
 * text's; any other text as it is. Times compare as text: the number only saves a string a line.
 */
export type Time = number | string;
const CANONICAL = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

export function timeOf(s: string): Time {
  if (CANONICAL.test(s)) {
    const ms = Date.parse(s);
    if (Number.isFinite(ms) && new Date(ms).toISOString() === s) return ms;
  }
  return s;
}
export const timeText = (t: Time): string => (typeof t === "number" ? new Date(t).toISOString() : t);
export function cmpTime(a: Time, b: Time): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  const x = timeText(a);
  const y = timeText(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A number per line, kept in blocks: nothing copied as it grows, no room kept past the last block. */
export class Column<A extends Int32Array | Float64Array | Uint8Array> {
  private readonly blocks: A[] = [];
  constructor(private readonly block: (n: number) => A) {}
  get(i: number): number {
    return this.blocks[i >>> 16]![i & 0xffff]!;
  }
  set(i: number, v: number): void {
    while (i >>> 16 >= this.blocks.length) this.blocks.push(this.block(0x10000));
    this.blocks[i >>> 16]![i & 0xffff] = v;
  }
}

/** A time per line (or per anything numbered): canonical times as numbers in a column, the few others as text beside it. */
export class TimeColumn {
  private readonly ms = new Column((k) => new Float64Array(k));
  private readonly text = new Map<number, string>();
  set(i: number, s: string): void {
    const t = timeOf(s);
    if (typeof t === "number") this.ms.set(i, t);
    else {
      this.ms.set(i, NaN);
      this.text.set(i, t);
    }
  }
  get(i: number): Time {
    const ms = this.ms.get(i);
    return ms === ms ? ms : this.text.get(i)!;
  }
}

/** A file that changed between its two readings: said as a read error, so that it fails alone and is read again next time. */
export function changed(file: string, n: number): Error {
  return Object.assign(new Error(`it changed while obs read it: line ${n} is not what it was; ingest it again`), { code: "ECHANGED", syscall: "read", path: file });
}

/** Why a document that ends before it closes is not read (its tool may be writing it now). */
export const CUT_OFF = "a JSON document that ends before it closes (cut off, or still being written)";

/**
 * Whether JSON text ends inside its document — a bracket still open, a string not ended — as a
 * file its tool rewrites whole does when caught mid-write; text whose document closes and still
 * does not parse is malformed instead. Walked without recursion: a line may nest 10,000 deep.
 */
export function endsBeforeItCloses(text: string): boolean {
  let depth = 0;
  let inString = false;
  let opened = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      opened = true;
    } else if (c === 0x7d || c === 0x5d) {
      if (--depth <= 0) return false; // it closed (or closed more than it opened): whatever follows is no cut
    }
  }
  return opened && (depth > 0 || inString);
}

/** The line of a whole document a JSON.parse error's position is on (a position in a pretty-printed file is found by nobody). */
export function errorLine(e: unknown, text: string): number | null {
  const at = /at position (\d+)/.exec((e as Error).message);
  if (!at) return null;
  let line = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < Number(at[1]); i = text.indexOf("\n", i + 1)) line++;
  return line;
}

/** A JSON.parse error of a whole document, with its line. */
export function documentError(e: unknown, text: string): string {
  const line = errorLine(e, text);
  return line === null ? (e as Error).message : `${(e as Error).message} (line ${line})`;
}
