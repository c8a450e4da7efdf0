import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { DB } from "../db/open.js";
import { createRegisterTriggers, dropRegisterTriggers } from "../db/register.js";
import { SearchIndexer } from "../db/search.js";
import { UserError } from "../errors.js";
import { PRICES, type PriceTable } from "../pricing.js";
import { ADAPTERS, adapterFor, arrayAsLines, describeHead, isSqlite, readHead, startsArray, type AdapterResult, type BadLine, type Head } from "./adapters/index.js";
import { checkEvent, KINDS, type Kind } from "./events.js";
import { Folder, type Prefix } from "./fold.js";

/** The formats ingest reads: obs's own event stream, and what its adapters turn into it. */
export const FORMATS: readonly string[] = ["obs", ...ADAPTERS.map((a) => a.format)];
export type Format = string;

const OBS_KINDS: ReadonlySet<string> = new Set(KINDS);

/** What obs reads, in a user's words, for "obs cannot read this file". */
export const FORMATS_READ = `obs event streams, ${ADAPTERS.map((a) => a.describes.replace(/\s*\(.*\)$/, "")).join(", ")}, and JSON arrays of their lines`;

/**
 * A file's format from a look at its start: obs's own stream when its first lines are obs
 * events, else the first adapter that claims it; null when no format reads it (a SQLite file
 * that is no trace store, or lines of a kind obs does not know). An empty file is obs's stream,
 * with nothing in it yet.
 */
export function identify(file: string, bytes?: Buffer): { format: Format | null; head: Head } {
  const buf = bytes ? bytes.subarray(0, headLength(bytes)) : readFileHead(file);
  const head = readHead(file, buf);
  // Other tools use `kind` too (a Gemini CLI recording's "main"): obs's are its event kinds.
  if (head.objects.some((o) => (typeof o.kind === "string" && OBS_KINDS.has(o.kind)) || ("entry_type" in o && "execution_id" in o))) return { format: "obs", head };
  const adapter = ADAPTERS.find((a) => a.detect(head));
  if (adapter) return { format: adapter.format, head };
  return { format: buf.toString("utf8", 0, Math.min(buf.length, 4096)).trim() === "" && !head.array ? "obs" : null, head };
}

export function detectFormat(file: string): Format | null {
  return identify(file).format;
}

const HEAD_BYTES = 64 * 1024;
/** A first line longer than this is not looked at whole (a JSON array is scanned element by element). */
const HEAD_MAX = 32 * 1024 * 1024;

/** How much of a text the head is: 64 KiB, or more to hold its first line whole. */
function headLength(data: Buffer): number {
  if (data.length <= HEAD_BYTES) return data.length;
  const nl = data.indexOf(NL);
  return Math.min(data.length, HEAD_MAX, Math.max(HEAD_BYTES, nl + 1));
}

/** A file's head: its first 64 KiB, read on until its first line is whole (up to 32 MiB). */
function readFileHead(file: string): Buffer {
  const fd = fs.openSync(file, "r");
  try {
    let buf = Buffer.alloc(HEAD_BYTES);
    let n = fs.readSync(fd, buf, 0, buf.length, 0);
    while (n === buf.length && buf.indexOf(NL) < 0 && buf.length < HEAD_MAX && !startsArray(buf)) {
      const bigger = Buffer.alloc(buf.length * 4);
      buf.copy(bigger, 0, 0, n);
      buf = bigger;
      n += fs.readSync(fd, buf, n, buf.length - n, n);
    }
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/** The one line for a file no format reads: what it looks like, what obs reads, how to force one. */
export function unreadableReason(head: Head): string {
  return `not a format obs reads (${describeHead(head)}); obs reads ${FORMATS_READ}; if it is one of them, say which with --format ${FORMATS.join("|")}`;
}

/** A whole JSON document (a JSON array, a pretty-printed object) rather than lines. */
function isWholeJson(data: Buffer): boolean {
  const start = data.toString("utf8", 0, Math.min(data.length, 64)).trimStart()[0];
  if (start !== "{" && start !== "[") return false;
  try {
    JSON.parse(data.toString("utf8"));
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads sources (files, directories, stdin, generated text) line by line and folds each in
 * one transaction: a source is written whole or not at all. ingest_log remembers how far each
 * file was read and a hash of that prefix, so ingesting again adds only what was appended.
 */

export type { BadLine };

export interface SourceResult {
  source: string;
  lines: number;
  events: number;
  rejected: number;
  written: boolean;
  /** Why nothing was read: already ingested, or the file changed underneath. */
  note?: string;
  /** Why the source failed, when it is not its bad lines (obs cannot read it, or none of them could be read). */
  reason?: string;
}

export interface IngestStats {
  sources: number;
  lines: number;
  events: number;
  /** Source lines that carry nothing obs uses (a session's snapshots, progress, system notes). */
  skipped: number;
  by_kind: Partial<Record<Kind, number>>;
  rejected: number;
  bad_lines: BadLine[];
  failed_sources: string[];
  seconds: number;
  lines_per_second: number;
  results: SourceResult[];
}

export interface IngestOptions {
  skipInvalid: boolean;
  /** Read every file as this format instead of detecting it. */
  format?: Format;
  /** Prices for model calls whose producer gave no cost. */
  prices?: PriceTable;
  /** Called with bytes read so far and total, for a progress bar. */
  onProgress?: (done: number, total: number) => void;
  /** Notes for stderr (a changed file being re-read, a source already ingested). */
  onNote?: (message: string) => void;
}

export interface LogRow {
  path: string;
  size: number;
  bytes_consumed: number;
  lines: number;
  rejected_lines: number;
  content_hash: string;
}

const CHUNK = 4 * 1024 * 1024;
const NL = 0x0a;

/** SQLite files a directory walk looks into, for trace stores. */
const SQLITE_NAMES = /\.(db|sqlite|sqlite3)$/;

/**
 * Every file below a directory that may be a record, in a stable order: *.jsonl, *.json
 * (JSON-array transcripts, Gemini CLI recordings) and SQLite files that may be trace stores.
 * A *.json or SQLite file found this way that is no record obs reads is passed over.
 */
export function listSourceFiles(dir: string, accept: (file: string) => boolean = () => true): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    const entries = fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    for (const ent of entries) {
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.isFile() && (ent.name.endsWith(".jsonl") || ent.name.endsWith(".json") || SQLITE_NAMES.test(ent.name)) && accept(p)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Expands the command line's sources: files as given, directories to what they hold, `-` stays. */
export function expandSources(args: string[]): { name: string; walked: boolean }[] {
  const out: { name: string; walked: boolean }[] = [];
  for (const a of args) {
    if (a === "-") {
      out.push({ name: a, walked: false });
      continue;
    }
    let st: fs.Stats;
    try {
      st = fs.statSync(a);
    } catch {
      throw new UserError(`no such file or directory: ${a}`);
    }
    if (st.isDirectory()) {
      const files = listSourceFiles(a);
      if (files.length === 0) throw new UserError(`no records under ${a} (obs looks for *.jsonl, *.json and SQLite files)`);
      out.push(...files.map((f) => ({ name: f, walked: true })));
    } else out.push({ name: a, walked: false });
  }
  return out;
}

export class IngestRun {
  readonly stats: IngestStats = {
    sources: 0, lines: 0, events: 0, skipped: 0, by_kind: {}, rejected: 0, bad_lines: [], failed_sources: [],
    seconds: 0, lines_per_second: 0, results: [],
  };
  private readonly started = process.hrtime.bigint();
  /** *.json files a directory walk found that are no record obs reads. */
  readonly passedOver: string[] = [];
  private readonly getLog;
  /** Indexes each transaction's rows for `obs search` in bulk (see SearchIndexer). */
  private readonly search: SearchIndexer;
  readonly putLog;

  constructor(
    readonly db: DB,
    readonly opts: IngestOptions,
  ) {
    this.getLog = db.prepare(`SELECT * FROM ingest_log WHERE path = ?`);
    this.search = new SearchIndexer(db);
    this.putLog = db.prepare(`
      INSERT INTO ingest_log (path, format, size, bytes_consumed, lines, rejected_lines, content_hash, ingested_at)
      VALUES (@path, @format, @size, @bytes_consumed, @lines, @rejected_lines, @content_hash, @ingested_at)
      ON CONFLICT(path) DO UPDATE SET
        format = excluded.format, size = excluded.size, bytes_consumed = excluded.bytes_consumed,
        lines = excluded.lines, rejected_lines = excluded.rejected_lines,
        content_hash = excluded.content_hash, ingested_at = excluded.ingested_at`);
  }

  log(key: string): LogRow | undefined {
    return this.getLog.get(key) as LogRow | undefined;
  }

  /**
   * Folds the lines of `buf` (starting at file line `firstLine`) in one transaction. Returns
   * false, with nothing written, when a bad line was found and --skip-invalid was not given.
   */
  fold(
    name: string,
    buf: Buffer,
    firstLine: number,
    record: (lines: number, rejected: number) => void,
    prefix?: Prefix,
  ): SourceResult {
    const result: SourceResult = { source: name, lines: 0, events: 0, rejected: 0, written: false };
    const byKind: Partial<Record<Kind, number>> = {};
    const bad: BadLine[] = [];
    const search = this.search;
    const Rollback = Symbol("rollback");
    try {
      this.db.transaction(() => {
        // Made under the write lock: what it learns of the tables at the start holds to the end.
        const folder = new Folder(this.db, name, { updated: (table, id) => search.updated(table, id), prefix });
        search.begin();
        dropRegisterTriggers(this.db);
        let start = 0;
        let lineNo = firstLine - 1;
        const total = buf.length;
        let nextProgress = CHUNK;
        while (start < total) {
          let end = buf.indexOf(NL, start);
          if (end === -1) end = total;
          lineNo++;
          const text = buf.toString("utf8", start, end);
          start = end + 1;
          if (start > nextProgress) {
            this.opts.onProgress?.(start, total);
            nextProgress = start + CHUNK;
          }
          if (isBlank(text)) continue;
          result.lines++;
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch (err) {
            bad.push({ source: name, line: lineNo, reason: `not JSON: ${(err as Error).message}` });
            continue;
          }
          const checked = checkEvent(parsed);
          if (!checked.ok) {
            bad.push({ source: name, line: lineNo, reason: checked.reason });
            continue;
          }
          folder.apply(checked.event, text);
          byKind[checked.event.kind] = (byKind[checked.event.kind] ?? 0) + 1;
          result.events++;
        }
        result.rejected = bad.length;
        // --skip-invalid writes the good lines; a source read from its start that had none failed.
        if (bad.length > 0 && firstLine === 1 && result.events === 0) result.reason = `nothing written: none of its ${bad.length} line${bad.length === 1 ? "" : "s"} could be read`;
        if (bad.length > 0 && (!this.opts.skipInvalid || result.reason)) throw Rollback;
        folder.finish();
        search.finish();
        createRegisterTriggers(this.db);
        record(lineNo - firstLine + 1, bad.length);
        // IMMEDIATE: the batch reads before it writes, and a deferred transaction that does so
        // fails at once (BUSY) when another writer committed meanwhile; this one waits its turn.
      }).immediate();
      result.written = true;
    } catch (err) {
      if (err !== Rollback) throw err;
    }
    this.stats.sources++;
    this.stats.lines += result.lines;
    this.stats.rejected += result.rejected;
    this.stats.bad_lines.push(...bad);
    if (result.written) {
      this.stats.events += result.events;
      for (const [k, n] of Object.entries(byKind)) {
        this.stats.by_kind[k as Kind] = (this.stats.by_kind[k as Kind] ?? 0) + n;
      }
    } else {
      this.stats.failed_sources.push(name);
    }
    this.stats.results.push(result);
    return result;
  }

  finishStats(): IngestStats {
    const seconds = Number(process.hrtime.bigint() - this.started) / 1e9;
    this.stats.seconds = Math.round(seconds * 1000) / 1000;
    this.stats.lines_per_second = seconds > 0 ? Math.round(this.stats.lines / seconds) : 0;
    return this.stats;
  }

  /**
   * A file another tool wrote (a Claude Code session): its adapter needs the whole file (a tool
   * call's result, a response's usage and a subagent's Task are on other lines), so a changed
   * file is read again whole; every row it makes has a stable id, so that adds nothing twice.
   */
  ingestAdapted(file: string, format: Format, wholeLinesOnly = false, source?: { key: string; data: Buffer }): void {
    const key = source?.key ?? path.resolve(file);
    let text = source?.data ?? fs.readFileSync(file);
    // While following, a line still being written is left for the next look (a whole JSON document is read whole).
    if (wholeLinesOnly && !isSqlite(text) && !isWholeJson(text)) text = text.subarray(0, text.lastIndexOf(0x0a) + 1);
    const digest = crypto.createHash("sha256").update(text).digest("hex");
    const prev = this.log(key);
    if (prev && prev.content_hash === digest && prev.bytes_consumed === text.length) {
      this.stats.sources++;
      this.stats.results.push({ source: file, lines: 0, events: 0, rejected: 0, written: false, note: "already ingested" });
      return;
    }
    const adapter = adapterFor(format);
    if (!adapter) throw new UserError(`unknown format ${format}`, [`obs reads: ${FORMATS.join(", ")}`]);
    let data = text;
    if (startsArray(text)) {
      const unwrapped = arrayAsLines(text);
      if ("error" in unwrapped) {
        if (wholeLinesOnly) return; // still being written: the next look reads it whole
        return this.unreadable(file, unwrapped.error);
      }
      data = unwrapped.lines;
    }
    const adapted: AdapterResult = adapter.read(file, data, { prices: this.opts.prices ?? PRICES });
    if (adapted.bad.length && (!this.opts.skipInvalid || adapted.events.length === 0)) {
      this.stats.sources++;
      this.stats.lines += adapted.lines;
      this.stats.rejected += adapted.bad.length;
      this.stats.bad_lines.push(...adapted.bad);
      this.stats.failed_sources.push(file);
      const n = adapted.bad.length;
      // Where --skip-invalid would write nothing, the usual advice to pass it is not given.
      const reason = n === adapted.lines ? `nothing written: none of its ${n} line${n === 1 ? "" : "s"} could be read as ${format}`
        : adapted.events.length === 0 ? `nothing written: ${n} bad line${n === 1 ? "" : "s"}, and the rest carries nothing obs uses` : undefined;
      this.stats.results.push({ source: file, lines: adapted.lines, events: 0, rejected: n, written: false, ...(reason ? { reason } : {}) });
      return;
    }
    const body = Buffer.from(adapted.events.map((e) => JSON.stringify(e)).join("\n") + (adapted.events.length ? "\n" : ""));
    const result = this.fold(file, body, 1, () => {
      this.putLog.run({
        path: key, format, size: text.length, bytes_consumed: text.length, lines: adapted.lines,
        rejected_lines: adapted.bad.length, content_hash: digest, ingested_at: new Date().toISOString(),
      });
    });
    // The statistics speak of the source's lines, not the events made from them.
    this.stats.lines += adapted.lines - result.lines;
    this.stats.rejected += adapted.bad.length;
    this.stats.bad_lines.push(...adapted.bad);
    this.stats.skipped += adapted.skipped;
    result.lines = adapted.lines;
    if (format === "claude-code" && adapted.executionId === null && adapted.lines > 0) {
      this.opts.onNote?.(`${file}: no session id in it (summary lines only); nothing to attach its ${adapted.lines} line${adapted.lines === 1 ? "" : "s"} to`);
    }
  }

  /** A source no format reads: one line for it, and it fails (whatever --skip-invalid says). */
  unreadable(file: string, reason: string): void {
    this.stats.sources++;
    this.stats.failed_sources.push(file);
    this.stats.results.push({ source: file, lines: 0, events: 0, rejected: 0, written: false, reason });
  }

  /** A file: from where the last ingest stopped if what was read then is unchanged, else from the start. */
  ingestFile(file: string, walked = false): void {
    let found: { format: Format | null; head?: Head };
    try {
      found = this.opts.format ? { format: this.opts.format } : identify(file);
    } catch (e) {
      throw new UserError(`cannot read ${file}: ${(e as Error).message}`);
    }
    const format = found.format;
    if (format === null) {
      const head = found.head!;
      if (isSqlite(head.bytes)) {
        // A SQLite file that is no trace store: found by a directory walk it is passed over.
        if (walked) return this.opts.onNote?.(`${file}: a SQLite database but not a trace store (no agent_traces); passed over`);
        throw new UserError(`${file} is a SQLite database but not a trace store (no agent_traces table)`, [`obs reads ${FORMATS_READ}`]);
      }
      // A walk finds *.json of every kind (package.json, settings): only records are read. A
      // sidecar beside a record (agent-x.meta.json by agent-x.jsonl) is read with it: not even noted.
      if (walked && file.endsWith(".json")) {
        if (!(file.endsWith(".meta.json") && fs.existsSync(file.replace(/\.meta\.json$/, ".jsonl")))) this.passedOver.push(file);
        return;
      }
      return this.unreadable(file, unreadableReason(head));
    }
    if (format !== "obs") return this.ingestAdapted(file, format);
    if (found.head ? found.head.array : startsArray(identify(file).head.bytes)) return this.ingestObsArray(file);
    const key = path.resolve(file);
    let fd: number;
    try {
      fd = fs.openSync(file, "r");
    } catch (e) {
      throw new UserError(`cannot read ${file}: ${(e as Error).message}`);
    }
    try {
      const size = fs.fstatSync(fd).size;
      const prev = this.log(key);
      let offset = 0;
      let firstLine = 1;
      let hash = crypto.createHash("sha256");
      let prevLines = 0;
      let prevRejected = 0;
      if (prev) {
        const prefixOk = size >= prev.bytes_consumed && hashRange(fd, 0, prev.bytes_consumed).digest("hex") === prev.content_hash;
        if (prefixOk) {
          if (size === prev.bytes_consumed) {
            this.stats.sources++;
            this.stats.results.push({ source: file, lines: 0, events: 0, rejected: 0, written: false, note: "already ingested" });
            return;
          }
          offset = prev.bytes_consumed;
          firstLine = prev.lines + 1;
          prevLines = prev.lines;
          prevRejected = prev.rejected_lines;
          hash = hashRange(fd, 0, prev.bytes_consumed);
        } else {
          this.opts.onNote?.(`${file}: changed since it was last ingested (truncated or replaced); reading it from the start`);
        }
      }
      const buf = Buffer.allocUnsafe(size - offset);
      let read = 0;
      while (read < buf.length) {
        const n = fs.readSync(fd, buf, read, buf.length - read, offset + read);
        if (n === 0) break;
        read += n;
      }
      const data = buf.subarray(0, read);
      // Only whole lines are consumed, except at the end of a file read once: its last line
      // counts when it parses, so a file written without a final newline is still read whole.
      let consumed = data.lastIndexOf(NL) + 1;
      if (consumed < data.length) {
        const tail = data.toString("utf8", consumed).trim();
        if (tail !== "" && isJson(tail)) consumed = data.length;
      }
      const body = consumed === data.length ? data : data.subarray(0, consumed);
      if (consumed < data.length) {
        this.opts.onNote?.(`${file}: last line has no newline and is not complete JSON yet; left for the next ingest`);
      }
      hash.update(body);
      const digest = hash.digest("hex");
      this.fold(file, body, firstLine, (lines, rejected) => {
        this.putLog.run({
          path: key, format: "obs-jsonl", size, bytes_consumed: offset + consumed,
          lines: prevLines + lines, rejected_lines: prevRejected + rejected,
          content_hash: digest, ingested_at: new Date().toISOString(),
        });
      }, offset > 0 ? filePrefix(file, offset) : undefined);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * A JSON array of obs events: read as its elements, one a line. Each read converts it again;
   * when the elements read last time are unchanged at its start, only the ones after them are
   * folded, as for a grown JSONL file.
   */
  ingestObsArray(file: string, following = false): void {
    const key = path.resolve(file);
    const unwrapped = arrayAsLines(fs.readFileSync(file));
    if ("error" in unwrapped) {
      if (following) return; // still being written: the next look reads it whole
      return this.unreadable(file, unwrapped.error);
    }
    const data = unwrapped.lines;
    const prev = this.log(key);
    let offset = 0;
    let firstLine = 1;
    if (prev && data.length >= prev.bytes_consumed && crypto.createHash("sha256").update(data.subarray(0, prev.bytes_consumed)).digest("hex") === prev.content_hash) {
      if (data.length === prev.bytes_consumed) {
        this.stats.sources++;
        this.stats.results.push({ source: file, lines: 0, events: 0, rejected: 0, written: false, note: "already ingested" });
        return;
      }
      offset = prev.bytes_consumed;
      firstLine = prev.lines + 1;
    } else if (prev) {
      this.opts.onNote?.(`${file}: changed since it was last ingested (not only added to); reading it from the start`);
    }
    const digest = crypto.createHash("sha256").update(data).digest("hex");
    this.fold(file, data.subarray(offset), firstLine, (lines, rejected) => {
      this.putLog.run({
        path: key, format: "obs-json-array", size: data.length, bytes_consumed: data.length,
        lines: (offset ? prev!.lines : 0) + lines, rejected_lines: (offset ? prev!.rejected_lines : 0) + rejected,
        content_hash: digest, ingested_at: new Date().toISOString(),
      });
    });
  }

  /** Text that has no file to grow (stdin, the demo): known by its content hash, so the same text twice adds nothing. */
  ingestText(name: string, text: Buffer): void {
    const digest = crypto.createHash("sha256").update(text).digest("hex");
    const key = `${name}#sha256:${digest}`;
    if (this.log(key)) {
      this.stats.sources++;
      this.stats.results.push({ source: name, lines: 0, events: 0, rejected: 0, written: false, note: "already ingested (same content)" });
      return;
    }
    // Standard input may carry another tool's record (claude -p … | obs ingest -).
    const found = this.opts.format ? { format: this.opts.format, head: readHead(name, text.subarray(0, 64 * 1024)) } : identify(name, text);
    if (found.format === null) return this.unreadable(name, unreadableReason(found.head));
    if (found.format !== "obs") return this.ingestAdapted(name, found.format, false, { key, data: text });
    if (startsArray(text)) {
      const unwrapped = arrayAsLines(text);
      if ("error" in unwrapped) return this.unreadable(name, unwrapped.error);
      text = unwrapped.lines;
    }
    this.fold(name, text, 1, (lines, rejected) => {
      this.putLog.run({
        path: key, format: "obs-jsonl", size: text.length, bytes_consumed: text.length,
        lines, rejected_lines: rejected, content_hash: digest, ingested_at: new Date().toISOString(),
      });
    });
  }
}

/**
 * The part of a file an earlier ingest read, for the rare id-less line whose identical twin is
 * already stored: its occurrences there decide whether this one is the same entry or the next.
 */
export function filePrefix(file: string, bytes: number): Prefix {
  return {
    count(line: string): number {
      const fd = fs.openSync(file, "r");
      try {
        let n = 0;
        let carry = "";
        const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(bytes, 1)));
        for (let pos = 0; pos < bytes; ) {
          const got = fs.readSync(fd, buf, 0, Math.min(buf.length, bytes - pos), pos);
          if (got === 0) break;
          pos += got;
          const parts = (carry + buf.toString("utf8", 0, got)).split("\n");
          carry = parts.pop()!;
          for (const p of parts) if (p.trim() === line) n++;
        }
        if (carry.trim() === line) n++;
        return n;
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}

export function hashRange(fd: number, start: number, length: number): crypto.Hash {
  const h = crypto.createHash("sha256");
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(length, 1)));
  let pos = start;
  let left = length;
  while (left > 0) {
    const n = fs.readSync(fd, buf, 0, Math.min(buf.length, left), pos);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
    pos += n;
    left -= n;
  }
  return h;
}

/** A line of only whitespace carries nothing; checked without allocating a trimmed copy. */
function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks);
}

export interface Source {
  kind: "file" | "stdin" | "text";
  name: string;
  text?: Buffer;
  /** Found by walking a directory (not named by the user). */
  walked?: boolean;
}

/** Ingests sources in order, each in its own transaction. */
export async function ingestSources(
  db: DB,
  sources: Source[],
  opts: IngestOptions,
  stdin?: NodeJS.ReadableStream,
): Promise<IngestStats> {
  const run = new IngestRun(db, opts);
  for (const s of sources) {
    if (s.kind === "file") run.ingestFile(s.name, s.walked);
    else if (s.kind === "stdin") run.ingestText("-", await readAll(stdin ?? process.stdin));
    else run.ingestText(s.name, s.text ?? Buffer.alloc(0));
  }
  const n = run.passedOver.length;
  if (n) opts.onNote?.(`passed over ${n} *.json file${n === 1 ? "" : "s"} the walk found that ${n === 1 ? "is no record" : "are no records"} obs reads (${run.passedOver.slice(0, 3).join(", ")}${n > 3 ? ", …" : ""})`);
  return run.finishStats();
}

/** Total bytes of the file sources, to decide whether a progress bar is worth showing. */
export function totalBytes(sources: Source[]): number {
  let n = 0;
  for (const s of sources) {
    if (s.kind === "file") n += fs.statSync(s.name).size;
    else if (s.text) n += s.text.length;
  }
  return n;
}
