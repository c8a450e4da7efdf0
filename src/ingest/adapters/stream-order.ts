import crypto from "node:crypto";
import { hashId, jsonLine, type Row } from "./shared.js";
import type { AdapterInput, BadLine, J } from "./types.js";

/**
 * What the stream-json readers (claude -p, gemini -p) need to read a file several times in
 * bounded memory and still give its events in the order one sort of them all by time would:
 * the file's lines read again (or kept, for a small file) and checked against the first
 * reading, the places where the file steps back in time, and a merge of each line's events with
 * what is given at the end of a time. Only those two adapters import it.
 */

/**
 * Up to this many characters of lines, a file's parsed lines are kept between its readings
 * (read once). OBS_STREAM_JSON_KEEP_CHARS sets it, for tests that compare the readings with
 * the reader that holds a file whole.
 */
export function keepChars(): number {
  const v = Number(process.env.OBS_STREAM_JSON_KEEP_CHARS);
  return process.env.OBS_STREAM_JSON_KEEP_CHARS !== undefined && Number.isFinite(v) && v >= 0 ? v : 8 * 1024 * 1024;
}

/**
 * Lines read before what every line's state needs (the init line, mostly) was found, held to
 * make their state in the first reading once it is; past this many, a reading of their own
 * makes it instead.
 */
export const EARLY_ROWS = 256;

/** The reader that holds a file whole (the one the bounded one replaced), for tests that compare them. */
export const wholeReader = (): boolean => process.env.OBS_STREAM_JSON_READER === "whole";

/** A file that changed between two readings: said as a read error, so that it fails alone and is read again next time. */
export function changed(file: string, from: number, to: number): Error {
  const where = from === to ? `line ${from} is not what it was` : `lines ${from} to ${to} are not what they were`;
  return Object.assign(new Error(`it changed while obs read it: ${where}; ingest it again`), { code: "ECHANGED", syscall: "read", path: file });
}

const BLOCK = 4096;

/**
 * A file's lines as each reading gives them: the JSON objects, with their numbers. The first
 * reading notes the bad lines and a digest of each block of lines; a later one checks its lines
 * against those digests (a line changed, added or removed makes that reading fail), or reads
 * the rows the first kept when the file was small.
 */
export class Readings {
  readonly bad: BadLine[] = [];
  lines = 0;
  private digests: string[] = [];
  private kept: Row[] | null = [];

  constructor(private readonly input: AdapterInput) {}

  /** The first reading. */
  *first(): Generator<Row> {
    const file = this.input.path;
    const limit = keepChars();
    let chars = 0;
    let hash = crypto.createHash("sha1");
    let inBlock = 0;
    for (const { text, n, invalid } of this.input.lines()) {
      hash.update(`${n}:${invalid ?? ""}:${text.length}:`).update(text);
      if (++inBlock === BLOCK) {
        this.digests.push(hash.digest("base64"));
        hash = crypto.createHash("sha1");
        inBlock = 0;
      }
      const before = this.bad.length;
      const o = jsonLine(file, text, n, invalid, this.bad);
      if (this.bad.length > before) this.lines++;
      if (!o) continue;
      this.lines++;
      if (this.kept) {
        chars += text.length;
        if (chars <= limit) this.kept.push({ o, n });
        else this.kept = null;
      }
      yield { o, n };
    }
    this.digests.push(hash.digest("base64"));
  }

  /** A later reading: the same rows, or a read error naming where the file changed. */
  *again(): Generator<Row> {
    if (this.kept) {
      yield* this.kept;
      return;
    }
    const file = this.input.path;
    let hash = crypto.createHash("sha1");
    let inBlock = 0;
    let block = 0;
    // A block's rows may be used before the block is checked: a change found fails the whole reading, and ingest takes back what it gave.
    const check = () => {
      if (hash.digest("base64") !== this.digests[block]) throw changed(file, block * BLOCK + 1, block * BLOCK + Math.max(1, inBlock));
      block++;
      hash = crypto.createHash("sha1");
      inBlock = 0;
    };
    const scratch: BadLine[] = [];
    for (const { text, n, invalid } of this.input.lines()) {
      hash.update(`${n}:${invalid ?? ""}:${text.length}:`).update(text);
      const o = jsonLine(file, text, n, invalid, scratch);
      scratch.length = 0;
      if (++inBlock === BLOCK) check();
      if (o) yield { o, n };
    }
    check();
    if (block !== this.digests.length) throw changed(file, block * BLOCK + 1, block * BLOCK + 1);
  }
}

/**
 * The places a file steps back in time (a line earlier than one before it), as each later line
 * sees them: the earliest time of any step back still to come. Only the steps that are the
 * earliest of what follows them are kept (a few, for a file nearly in time order).
 */
export class StepsBack {
  private max: string | null = null;
  private readonly at: number[] = [];
  private readonly times: string[] = [];
  private next = 0;

  /** The first reading's line `i` at time `t` (lines in order). */
  add(i: number, t: string): void {
    if (this.max !== null && t < this.max) {
      while (this.times.length && this.times[this.times.length - 1]! >= t) {
        this.times.pop();
        this.at.pop();
      }
      this.at.push(i);
      this.times.push(t);
    }
    if (this.max === null || t > this.max) this.max = t;
  }

  /** After line `i` (asked in order): the earliest time a later line has that is before one already read, or null. */
  after(i: number): string | null {
    while (this.next < this.at.length && this.at[this.next]! <= i) this.next++;
    return this.next < this.times.length ? this.times[this.next]! : null;
  }
}

/**
 * What is given at the end of a time, sorted by time: each one's time, and its event (asked
 * once each, in order, so that a reader may hold each in less than an event and make it then).
 */
export interface Ends {
  readonly length: number;
  time(i: number): string;
  take(i: number): J;
}

/** Ends held as events (sorted by time already), each let go as it is taken. */
export function endEvents(events: J[]): Ends {
  return {
    length: events.length,
    time: (i) => String(events[i]!.timestamp),
    take: (i) => {
      const e = events[i]!;
      events[i] = undefined as unknown as J;
      return e;
    },
  };
}

interface Held {
  e: J;
  t: string;
  gen: number;
}

/**
 * A file's events in the order of one stable sort of them all by time: each line's events
 * (made in file order) and then what is given at the end (made after them all, `ends`, sorted
 * by time already). An event is given once nothing still to come can sort before it; until
 * then it is held (only the events of lines later in the file than in time are).
 */
export class TimeMerge {
  private heap: Held[] = [];
  private gen = 0;
  private nextEnd = 0;
  private max: string | null = null;

  constructor(private readonly ends: Ends) {}

  /** A line at time `t` was read (whether or not it makes events): no line still to come is before it but a step back. */
  saw(t: string): void {
    if (this.max === null || t > this.max) this.max = t;
  }

  push(e: J): void {
    const t = String(e.timestamp);
    this.saw(t);
    const h = this.heap;
    h.push({ e, t, gen: this.gen++ });
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): J {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top.e;
  }

  /**
   * What can be given now, when every line still to come is at `bound` or later (null: no
   * bound but the latest time read; at the end, `done`). A line's event at a time no later
   * than the bound goes before any later line's; an end event only before a later time.
   */
  *give(bound: string | null, done = false): Generator<J> {
    const ends = this.ends;
    for (;;) {
      const h = this.heap[0];
      const end = this.nextEnd < ends.length;
      const t = end ? ends.time(this.nextEnd) : "";
      if (h && (!end || h.t <= t)) {
        if (done || bound === null || h.t <= bound) {
          yield this.pop();
          continue;
        }
        return;
      }
      if (!end) return;
      if (done || ((bound === null || t < bound) && this.max !== null && t < this.max)) {
        // Taken, it is let go: the ends still to come are all that is held of them.
        yield ends.take(this.nextEnd++);
        continue;
      }
      return;
    }
  }
}

const less = (a: Held, b: Held): boolean => (a.t < b.t ? true : a.t > b.t ? false : a.gen < b.gen);

/**
 * hashId of a parsed line, also for one nested deeper than JSON.stringify's recursion goes
 * (which throws): the same id, from the same text made without recursion.
 */
export function lineHash(o: J): string {
  try {
    return hashId(o);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return hashId(stringifyDeep(o));
  }
}

/** JSON.stringify of a parsed JSON value, made with a stack of its own. */
export function stringifyDeep(value: unknown): string {
  const out: string[] = [];
  type Frame = { kind: "a"; v: unknown[]; i: number } | { kind: "o"; v: J; keys: string[]; i: number; wrote: boolean };
  const stack: Frame[] = [];
  const open = (v: unknown): void => {
    if (v === null || typeof v !== "object") {
      out.push(JSON.stringify(v) ?? "null");
      return;
    }
    if (Array.isArray(v)) {
      out.push("[");
      stack.push({ kind: "a", v, i: 0 });
    } else {
      out.push("{");
      stack.push({ kind: "o", v: v as J, keys: Object.keys(v), i: 0, wrote: false });
    }
  };
  open(value);
  while (stack.length) {
    const f = stack[stack.length - 1]!;
    if (f.kind === "a") {
      if (f.i >= f.v.length) {
        out.push("]");
        stack.pop();
        continue;
      }
      if (f.i > 0) out.push(",");
      const v = f.v[f.i++];
      open(v === undefined || typeof v === "function" ? null : v);
      continue;
    }
    if (f.i >= f.keys.length) {
      out.push("}");
      stack.pop();
      continue;
    }
    const k = f.keys[f.i++]!;
    const v = f.v[k];
    if (v === undefined || typeof v === "function") continue;
    out.push(`${f.wrote ? "," : ""}${JSON.stringify(k)}:`);
    f.wrote = true;
    open(v);
  }
  return out.join("");
}
