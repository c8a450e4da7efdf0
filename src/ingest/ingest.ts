import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { DB } from "../db/open.js";
import { UserError } from "../errors.js";
import { PRICES, type PriceTable } from "../pricing.js";
import { CUT_OFF } from "./adapters/shared.js";
import { ADAPTERS, adapterFor, arrayAsLines, describeHead, isSqlite, readHead, startsArray, type Adapter, type AdapterInput, type AdapterSummary, type BadLine, type Head, type J } from "./adapters/index.js";
import { checkEvent, KINDS, type Kind } from "./events.js";
import { Folder, type Prefix } from "./fold.js";
import { bufferLines, CHUNK, fileLines, hashFile, HOLD, isBlank, MAX_LINE, OVERLONG, withoutBom, type Line, type Tail } from "./lines.js";
import { STEP, Writer, type Unfinished } from "./writer.js";
import { parseJson } from "./text.js";

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

/** The format obs would find a file to be, or null when it finds none or cannot read it. */
function identifyQuietly(file: string): Format | null {
  try {
    return identify(file).format;
  } catch {
    return null;
  }
}

/** What a file read with the wrong --format is, said after why nothing of it was written. */
function readsAs(seen: Format | null): string {
  return seen ? `; obs reads it as ${seen === "obs" ? "obs's event stream" : seen} without --format` : "";
}

/** The format of a file or of bytes read from it (standard input), or null when it cannot be said. */
function detectQuietly(file: string, bytes?: Buffer): Format | null {
  if (!bytes) return identifyQuietly(file);
  try {
    return identify(file, bytes).format;
  } catch {
    return null;
  }
}

export function detectFormat(file: string): Format | null {
  return identify(file).format;
}

const HEAD_BYTES = 64 * 1024;
/** A first line is looked at whole up to the longest line obs reads (a JSON array is scanned element by element). */
const HEAD_MAX = HOLD;

/** How much of a text the head is: 64 KiB, or more to hold its first line whole. */
function headLength(data: Buffer): number {
  if (data.length <= HEAD_BYTES) return data.length;
  const nl = data.indexOf(NL);
  return Math.min(data.length, HEAD_MAX, Math.max(HEAD_BYTES, nl + 1));
}

/** A file's head: its first 64 KiB, read on until its first line is whole (up to the longest line obs reads). */
function readFileHead(file: string): Buffer {
  const fd = fs.openSync(file, "r");
  try {
    let buf = Buffer.alloc(HEAD_BYTES);
    let n = fs.readSync(fd, buf, 0, buf.length, 0);
    while (n === buf.length && buf.indexOf(NL) < 0 && buf.length < HEAD_MAX && !startsArray(buf)) {
      const bigger = Buffer.alloc(Math.min(buf.length * 4, HEAD_MAX));
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
  return `not a format obs reads (${describeHead(head)})${FORMATS_TAIL}`;
}

/** What unreadableReason ends with: said once where several files are named together. */
export const FORMATS_TAIL = `; obs reads ${FORMATS_READ}; if it is one of them, say which with --format ${FORMATS.join("|")}`;

/** A whole JSON document (a JSON array, a pretty-printed object) rather than lines. */
function isWholeJson(data: Buffer): boolean {
  const start = data.toString("utf8", 0, Math.min(data.length, 64)).trimStart()[0];
  if (start !== "{" && start !== "[") return false;
  try {
    JSON.parse(withoutBom(data).toString("utf8"));
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads sources (files, directories, stdin, generated text) line by line, in bounded memory, and
 * folds them in the transactions of writer.ts: a source is written whole or not at all.
 * ingest_log remembers how far each file was read and a hash of that prefix, so ingesting again
 * adds only what was appended.
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
  /** Nothing read yet: a document cut off, read by the next ingest once it is whole. */
  waiting?: boolean;
  /** Why the source failed, when it is not its bad lines (obs cannot read it, or none of them could be read). */
  reason?: string;
  /** No format obs reads recognises it: the reason lists those formats. */
  unrecognised?: boolean;
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
  /** Give up after waiting this long (ms) for another writer (--wait); unset: wait as long as it takes. */
  waitMs?: number;
  /**
   * Read every source from its start, as if none had been read before (--again): what is stored
   * is the same rows again, and what was removed since (obs prune) comes back.
   */
  again?: boolean;
  /** How long one try for the write lock may block (see WriterOptions.attemptMs). */
  attemptMs?: number;
  /** What this process does, for another writer waiting on it ("obs ingest --follow"). */
  doing?: string;
  /** The database's path, for messages. */
  dbPath?: string;
}

export interface LogRow {
  path: string;
  /** How it was read: an adapter's format, or obs-jsonl / obs-json-array (null: an older obs). */
  format: string | null;
  size: number;
  bytes_consumed: number;
  lines: number;
  rejected_lines: number;
  content_hash: string;
}

const NL = 0x0a;

/** SQLite files a directory walk looks into, for trace stores. */
const SQLITE_NAMES = /\.(db|sqlite|sqlite3)$/;

/** A name a directory walk takes as a record: *.jsonl, *.json, and SQLite files that may be trace stores. */
function recordName(name: string): boolean {
  return name.endsWith(".jsonl") || name.endsWith(".json") || SQLITE_NAMES.test(name);
}

/** What a directory walk found. */
export interface Walked {
  /** The files that may be records, in a stable order. */
  files: string[];
  /** Folders (and files) it could not read: each a failed source, with why and what to do. */
  failed: { name: string; reason: string }[];
  /** What it passed over, one line each: a link to nothing, a pipe or device, a folder or file reached twice. */
  notes: string[];
}

/**
 * The folders and files walks have reached, by device and inode, with the name each was reached
 * by first: a link back up the tree is walked once, and a file reached under two names (a link
 * beside its target, two places that are one folder) is read once, under the first.
 */
export type WalkSeen = Map<string, string>;

/** A stat's kind of file, in a user's words, for one that is neither a file nor a folder. */
function specialKind(st: fs.Stats): string {
  if (st.isFIFO()) return "a pipe (FIFO)";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  return "not a regular file";
}

function errCode(e: unknown): string {
  return String((e as NodeJS.ErrnoException)?.code ?? "");
}

/** Whether an error is the file system's refusal to read a source (not obs's own failure). */
export function isReadError(e: unknown): boolean {
  const x = e as NodeJS.ErrnoException;
  return e instanceof Error && typeof x.code === "string" && typeof x.syscall === "string";
}

/** Why a file could not be read, and what to do: named by the user, or found by a walk. */
export function readFailure(e: unknown, walked: boolean): string {
  const code = errCode(e);
  if (code === "EACCES" || code === "EPERM") return "cannot read it (permission denied): nothing of it written; check its permissions";
  if (code === "ENOENT") return `it was removed while obs ${walked ? "read the folder" : "was reading"}: nothing of it written`;
  if (code === "ESPIPE") return "a pipe, not a file: nothing of it written; obs reads a pipe as standard input (command | obs ingest -)";
  return `cannot read it (${(e as Error).message}): nothing of it written`;
}

/** Why a folder could not be read, and what to do. */
function folderFailure(e: unknown): string {
  const code = errCode(e);
  if (code === "EACCES" || code === "EPERM") return "cannot read this folder (permission denied): nothing in it read; check its permissions";
  if (code === "ENOENT") return "it was removed while obs read the folder above it: nothing in it read";
  return `cannot read this folder (${(e as Error).message}): nothing in it read`;
}

/**
 * Every file below a directory that may be a record, in a stable order: *.jsonl, *.json
 * (JSON-array transcripts, Gemini CLI recordings) and SQLite files that may be trace stores.
 * A *.json or SQLite file found this way that is no record obs reads is passed over later.
 * Links to files and folders are followed (a tool's folder is often a link to elsewhere), each
 * folder and file once (`seen`, which walks of one ingest share). A link to nothing, a pipe or a
 * device is passed over with a note: reading a pipe would wait forever, a device never end. A
 * folder that cannot be read fails alone; the rest is walked.
 */
export function listSourceFiles(dir: string, accept: (file: string) => boolean = () => true, seen: WalkSeen = new Map()): Walked {
  const found: Walked = { files: [], failed: [], notes: [] };
  /** Whether this is the first name for a folder or file: its first name again (the same walk repeated) is too. */
  const first = (p: string, st: fs.Stats, what: string): boolean => {
    const id = `${st.dev}:${st.ino}`;
    const before = seen.get(id);
    // The name seen first may since have gone, and its inode been reused: then this is another file.
    if (before === undefined || path.resolve(before) === path.resolve(p) || !sameId(before, id)) {
      seen.set(id, p);
      return true;
    }
    found.notes.push(`${p}: the same ${what} as ${before}; read once, as ${before}`);
    return false;
  };
  const walk = (d: string, st: fs.Stats) => {
    if (!first(d, st, "folder")) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch (e) {
      found.failed.push({ name: d, reason: folderFailure(e) });
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const ent of entries) {
      const p = path.join(d, ent.name);
      const record = recordName(ent.name) && accept(p);
      const link = ent.isSymbolicLink();
      // Only a folder, a link (which may lead to one) and what may be a record are looked at.
      if (!record && !link && !ent.isDirectory()) continue;
      let target: fs.Stats;
      try {
        target = fs.statSync(p);
      } catch (e) {
        const code = errCode(e);
        if (link && (code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP")) {
          found.notes.push(`${p}: a link to ${linkTarget(p)}, ${code === "ELOOP" ? "which leads round in a circle" : "which is not there"}; passed over`);
        } else if (ent.isDirectory()) found.failed.push({ name: p, reason: folderFailure(e) });
        else if (record || link) found.failed.push({ name: p, reason: readFailure(e, true) });
        continue;
      }
      const via = link ? `a link to ${linkTarget(p)}, ` : "";
      if (target.isDirectory()) walk(p, target);
      else if (!record) continue;
      else if (target.isFile()) {
        if (first(p, target, "file")) found.files.push(p);
      } else found.notes.push(`${p}: ${via}${specialKind(target)}, not a file; passed over`);
    }
  };
  let root: fs.Stats;
  try {
    root = fs.statSync(dir);
  } catch (e) {
    if (errCode(e) !== "ENOENT") found.failed.push({ name: dir, reason: folderFailure(e) });
    return found;
  }
  walk(dir, root);
  return found;
}

/** Whether a path still names the file or folder of this device:inode. */
function sameId(p: string, id: string): boolean {
  try {
    const st = fs.statSync(p);
    return `${st.dev}:${st.ino}` === id;
  } catch {
    return false;
  }
}

/** Where a link points, as it says (for messages). */
function linkTarget(p: string): string {
  try {
    return fs.readlinkSync(p);
  } catch {
    return "(unknown)";
  }
}

/**
 * Why a source named on the command line is not one obs can read, when it is a pipe or a device
 * (null when it is a file or a folder). Reading a pipe as a file would wait for it forever, or
 * fail (`<(command)`): a pipe is read as standard input.
 */
export function notAFile(name: string, st: fs.Stats, following = false): UserError | null {
  if (st.isFile() || st.isDirectory()) return null;
  if (!st.isFIFO()) return new UserError(`${name} is ${specialKind(st)}, not a file`, ["obs reads files, folders, and - (standard input)"]);
  // <(command) names the pipe as /dev/fd/N, which is gone once obs has exited.
  const substituted = /^\/(dev|proc\/self)\/fd\//.test(name);
  const use = substituted ? "command | obs ingest -" : `obs ingest - < ${name}`;
  return new UserError(`${name} is a pipe${substituted ? " (as <(command) makes)" : ""}, not a file; obs reads a pipe as standard input`,
    following ? [`--follow reads files and folders; read a pipe once, without it: ${use}`] : [`use - (standard input): ${use}`]);
}

/** A source of the command line, expanded: a file to read, or one (or a folder) that cannot be read, with why. */
export interface Expanded {
  name: string;
  walked: boolean;
  /** Set when it cannot be read: it fails, with this reason, and the rest is read. */
  reason?: string;
}

/**
 * Expands the command line's sources: files as given, directories to what they hold, `-` stays.
 * A source that does not exist, or is a pipe or a device, is a usage error; one that cannot be
 * read (and a folder in a walk that cannot) is a failed source. Notes of what walks passed over go to `onNote`.
 */
export function expandSources(args: string[], onNote?: (message: string) => void): Expanded[] {
  const out: Expanded[] = [];
  const seen: WalkSeen = new Map();
  for (const a of args) {
    if (a === "-") {
      out.push({ name: a, walked: false });
      continue;
    }
    let st: fs.Stats;
    try {
      st = fs.statSync(a);
    } catch (e) {
      const code = errCode(e);
      if (code === "ENOENT" || code === "ENOTDIR") throw new UserError(`no such file or directory: ${a}`);
      // There, but behind a folder obs may not look into.
      out.push({ name: a, walked: false, reason: readFailure(e, false) });
      continue;
    }
    const refused = notAFile(a, st);
    if (refused) throw refused;
    if (st.isDirectory()) {
      const found = listSourceFiles(a, undefined, seen);
      for (const n of found.notes) onNote?.(n);
      if (found.files.length === 0 && found.failed.length === 0) throw new UserError(`no records under ${a} (obs looks for *.jsonl, *.json and SQLite files)`);
      out.push(...found.files.map((f) => ({ name: f, walked: true })));
      out.push(...found.failed.map((f) => ({ name: f.name, walked: true, reason: f.reason })));
    } else {
      // Named, it is read; a walk that meets it under another name passes it over.
      const id = `${st.dev}:${st.ino}`;
      if (!seen.has(id)) seen.set(id, a);
      out.push({ name: a, walked: false });
    }
  }
  return out;
}

/** The ingest_log row of a source before this ingest, as it is restored when the source is taken back. */
type LogBefore = LogRow | undefined;

/** What folding one source needs to know besides its events. */
interface SourceSpec {
  /** The name messages and the run's `source` use. */
  name: string;
  /** Its ingest_log key. */
  key: string;
  /** The number of its first line read (1: read from its start). */
  firstLine: number;
  prefix?: Prefix;
  logBefore: LogBefore;
  /** Writes its ingest_log row, inside the transaction that completes it. */
  record: (lines: number, rejected: number) => void;
  /** Says "could be read as <format>" when none of its lines could (another tool's format). */
  format?: string;
}

/** A kind whose line writes a transcript entry, which without an id is known by its line's text. */
const ENTRY_MAKING: ReadonlySet<string> = new Set(["transcript:entry", "tool:start", "skill:start", "skill:end", "assertion:result"]);
/** Whether an adapter's event would be known by its text (an entry without an id): only then is it turned to JSON. */
function needsText(e: J): boolean {
  const kind = e.kind ?? (e.entry_type !== undefined ? "transcript:entry" : undefined);
  if (typeof kind !== "string" || !ENTRY_MAKING.has(kind)) return false;
  if (typeof e.transcript_entry_id === "string" || typeof e.entry_id === "string") return false;
  return !(kind === "transcript:entry" && typeof e.id === "string");
}

/**
 * One source being folded: its Folder, its bad lines, and where it stands in the writer's
 * transactions (joined with a savepoint, or written in steps; see writer.ts).
 */
class SourceFold {
  readonly result: SourceResult;
  readonly bad: BadLine[] = [];
  readonly byKind: Partial<Record<Kind, number>> = {};
  private folder!: Folder;
  private savepoint = false;
  private stepped = false;
  /** Set between a step's commit and the next transaction: the file's data_version at the commit. */
  private resumeAt: number | null = null;
  /** Lines checked that were good (written or, once a bad one doomed the source, only checked). */
  private good = 0;

  constructor(
    private readonly run: IngestRun,
    private readonly spec: SourceSpec,
  ) {
    this.result = { source: spec.name, lines: 0, events: 0, rejected: 0, written: false };
  }

  begin(): void {
    const w = this.run.writer;
    if (w.inTransaction && w.sources > 0) {
      // Joining sources already folded in this transaction: a failure takes back this one alone.
      this.run.db.exec("SAVEPOINT source");
      this.savepoint = true;
    }
    w.begin();
    w.sources++;
    const search = w.search;
    // Made under the write lock: what it learns of the tables at the start holds to the end.
    this.folder = new Folder(this.run.db, this.spec.name, { updated: (table, id) => search.updated(table, id), prefix: this.spec.prefix, logEvents: w.logsEvents });
  }

  /** A doomed source (a bad line without --skip-invalid) is only checked on, to name every bad line. */
  private get doomed(): boolean {
    return this.bad.length > 0 && !this.run.opts.skipInvalid;
  }

  line(text: string, n: number, invalid?: string): void {
    // A line over the longest obs reads has no text: it is bad, not blank.
    if (!invalid && isBlank(text)) return;
    this.result.lines++;
    if (invalid) return this.badLine(n, invalid);
    let parsed: unknown;
    try {
      parsed = parseJson(text);
    } catch (err) {
      return this.badLine(n, `not JSON: ${(err as Error).message}`);
    }
    this.event(parsed, text, n);
  }

  /** An event (a parsed line of obs's stream, or one an adapter made): checked, then folded. */
  event(parsed: unknown, text: string | null, n: number): void {
    const checked = checkEvent(parsed);
    if (!checked.ok) return this.badLine(n, checked.reason);
    this.good++;
    if (this.doomed) return;
    this.resume();
    this.folder.apply(checked.event, text ?? "");
    this.byKind[checked.event.kind] = (this.byKind[checked.event.kind] ?? 0) + 1;
    this.result.events++;
    const w = this.run.writer;
    if (++w.events >= STEP) this.step();
  }

  setRecord(record: (lines: number, rejected: number) => void): void {
    this.spec.record = record;
  }

  badLine(n: number, reason: string): void {
    this.bad.push({ source: this.spec.name, line: n, reason });
  }

  /**
   * The transaction holds enough: commit what it has and go on in another. A source that only
   * began executions can be taken out again by them, so it is committed in steps; one that adds
   * to executions the file had goes on in the same transaction.
   */
  private step(): void {
    const w = this.run.writer;
    if (this.folder.addsToKnown) return;
    this.folder.step();
    w.noteUnfinished(this.unfinished());
    if (this.savepoint) this.run.db.exec("RELEASE source");
    this.savepoint = false;
    this.stepped = true;
    this.resumeAt = w.dataVersion();
    w.commit();
  }

  /**
   * After a step, the next transaction begins with the next event to write, not at once: a
   * source that waits for its input (a pipe) does not hold the file's write lock while it waits.
   */
  private resume(): void {
    if (this.resumeAt === null) return;
    const w = this.run.writer;
    w.begin();
    w.sources++;
    // Another program may have written meanwhile; then what this source remembers of the
    // tables no longer says what they hold.
    if (w.dataVersion() !== this.resumeAt) this.folder.othersWrote();
    this.resumeAt = null;
  }

  private unfinished(): Unfinished {
    return { source: this.spec.name, key: this.spec.key, executions: [...this.folder.began], log: (this.spec.logBefore as unknown as Record<string, unknown>) ?? null, pid: process.pid };
  }

  /**
   * Ends the source: written whole, or (with bad lines and no --skip-invalid) not at all. An
   * adapted source says itself whether it fails and why (`verdict`).
   */
  end(lines: number, verdict?: { fail: boolean; reason?: string }): SourceResult {
    const result = this.result;
    result.rejected = this.bad.length;
    let fail: boolean;
    if (verdict) {
      fail = verdict.fail;
      if (verdict.reason) result.reason = verdict.reason;
    } else {
      if (this.bad.length > 0 && this.spec.firstLine === 1 && this.good === 0) {
        const n = this.bad.length;
        result.reason = `nothing written: none of its ${n} line${n === 1 ? "" : "s"} could be read`;
      }
      fail = this.bad.length > 0 && (!this.run.opts.skipInvalid || result.reason !== undefined);
    }
    if (fail) this.undo();
    else {
      this.resume();
      this.folder.finish();
      this.spec.record(lines, this.bad.length);
      if (this.stepped) this.run.writer.finished(this.spec.key);
      if (this.savepoint) this.run.db.exec("RELEASE source");
      result.written = true;
    }
    this.savepoint = false;
    this.run.account(result, this.bad, this.byKind);
    this.run.writer.maybeCommit();
    return result;
  }

  /** Takes back what this source wrote: its savepoint, its transaction, or (written in steps) its executions. */
  undo(): void {
    const w = this.run.writer;
    if (this.stepped) w.takeBack(this.unfinished());
    else if (this.savepoint) this.run.db.exec("ROLLBACK TO source; RELEASE source");
    else w.rollback();
    this.savepoint = false;
    this.stepped = false;
  }

  /** An error that is not the source's: what it wrote is taken back, what came before it kept. */
  abort(): void {
    try {
      this.undo();
      this.run.writer.commit();
    } catch {
      this.run.writer.rollback();
    }
  }
}

/** The statistics of an ingest that has read nothing yet. */
export function emptyStats(): IngestStats {
  return {
    sources: 0, lines: 0, events: 0, skipped: 0, by_kind: {}, rejected: 0, bad_lines: [], failed_sources: [],
    seconds: 0, lines_per_second: 0, results: [],
  };
}

export class IngestRun {
  readonly stats: IngestStats = emptyStats();
  private readonly started = process.hrtime.bigint();
  /** *.json files a directory walk found that are no record obs reads. */
  readonly passedOver: string[] = [];
  private readonly getLog;
  readonly putLog;
  readonly writer: Writer;
  /** What adapters remember between the files of this run (a parent session's index for its subagents). */
  private readonly memos = new Map<string, unknown>();
  /** Bytes of the sources read so far, for the progress bar. */
  private doneBytes = 0;
  totalBytes = 0;

  constructor(
    readonly db: DB,
    readonly opts: IngestOptions,
  ) {
    this.getLog = db.prepare(`SELECT * FROM ingest_log WHERE path = ?`);
    this.writer = new Writer(db, { waitMs: opts.waitMs, attemptMs: opts.attemptMs, onNote: opts.onNote, doing: opts.doing ?? "obs ingest", dbPath: opts.dbPath });
    this.putLog = db.prepare(`
      INSERT INTO ingest_log (path, format, size, bytes_consumed, lines, rejected_lines, content_hash, ingested_at)
      VALUES (@path, @format, @size, @bytes_consumed, @lines, @rejected_lines, @content_hash, @ingested_at)
      ON CONFLICT(path) DO UPDATE SET
        format = excluded.format, size = excluded.size, bytes_consumed = excluded.bytes_consumed,
        lines = excluded.lines, rejected_lines = excluded.rejected_lines,
        content_hash = excluded.content_hash, ingested_at = excluded.ingested_at`);
  }

  log(key: string): LogRow | undefined {
    if (this.opts.again) return undefined;
    return this.getLog.get(key) as LogRow | undefined;
  }

  private progress(bytes: number): void {
    this.doneBytes += bytes;
    this.opts.onProgress?.(this.doneBytes, Math.max(this.totalBytes, this.doneBytes));
  }

  /** Adds a source's outcome to the run's statistics. */
  account(result: SourceResult, bad: BadLine[], byKind: Partial<Record<Kind, number>>): void {
    this.stats.sources++;
    this.stats.lines += result.lines;
    this.stats.rejected += result.rejected;
    this.stats.bad_lines.push(...bad);
    if (result.written) {
      this.stats.events += result.events;
      for (const [k, n] of Object.entries(byKind)) this.stats.by_kind[k as Kind] = (this.stats.by_kind[k as Kind] ?? 0) + n;
    } else {
      this.stats.failed_sources.push(result.source);
    }
    this.stats.results.push(result);
  }

  /** Folds lines of obs's stream as one source. */
  foldLines(spec: SourceSpec, lines: Iterable<Line>): SourceResult {
    const f = new SourceFold(this, spec);
    f.begin();
    let last = spec.firstLine - 1;
    let lastEnd = -1;
    try {
      for (const l of lines) {
        f.line(l.text, l.n, l.invalid);
        last = l.n;
        if (lastEnd >= 0 && l.end - lastEnd >= PROGRESS_EVERY) {
          this.progress(l.end - lastEnd);
          lastEnd = l.end;
        } else if (lastEnd < 0) lastEnd = l.end;
      }
    } catch (e) {
      f.abort();
      throw e;
    }
    return f.end(last - spec.firstLine + 1);
  }

  /**
   * Folds lines an in-process producer recorded, as one source of obs's stream and committed
   * before it returns, without an ingest_log row (the producer's JSONL is its own source when
   * `obs ingest` reads it; its identity rules make the two copies one). Returns the lines it
   * refused (1-based among those given) and why.
   */
  foldRecorded(name: string, lines: readonly string[]): BadLine[] {
    const before = this.stats.bad_lines.length;
    const text = Buffer.from(lines.join("\n") + "\n");
    this.foldLines({ name, key: `${name}#recorded`, firstLine: 1, logBefore: undefined, record: () => {} }, bufferLines(text));
    this.writer.close();
    return this.stats.bad_lines.slice(before);
  }

  finishStats(): IngestStats {
    this.writer.close();
    const seconds = Number(process.hrtime.bigint() - this.started) / 1e9;
    this.stats.seconds = Math.round(seconds * 1000) / 1000;
    this.stats.lines_per_second = seconds > 0 ? Math.round(this.stats.lines / seconds) : 0;
    return this.stats;
  }

  private memo<T>(key: string, make: () => T): T {
    if (!this.memos.has(key)) this.memos.set(key, make());
    return this.memos.get(key) as T;
  }

  /**
   * A file another tool wrote (a Claude Code session): its adapter reads it whole (a tool call's
   * result, a response's usage and a subagent's Task are on other lines), so a changed file is
   * read again whole; every row it makes has a stable id, so that adds nothing twice.
   */
  ingestAdapted(file: string, format: Format, wholeLinesOnly = false, source?: { key: string; data: Buffer }): void {
    const key = source?.key ?? path.resolve(file);
    const adapter = adapterFor(format);
    if (!adapter) throw new UserError(`unknown format ${format}`, [`obs reads: ${FORMATS.join(", ")}`]);
    let input: AdapterInput;
    let size: number;
    let digest: () => string;
    if (source) {
      ({ input, size, digest } = memoryInput(file, source.data, wholeLinesOnly));
    } else {
      const found = fileInput(file, wholeLinesOnly);
      if (!found) return; // following: nothing whole in it yet
      ({ input, size, digest } = found);
      // Read once it is finished: the file is then read again whole, and its ids make nothing twice.
      if (found.unfinished) this.opts.onNote?.(`${file}: its last line is not finished yet; it is read when it is`);
    }
    const prev = this.log(key);
    // A file read before is hashed first to see whether it changed; a new one is hashed as it is read.
    if (prev && prev.format !== null && prev.format !== format) this.opts.onNote?.(`${file}: read before as ${prev.format}; reading it again as ${format}`);
    if (prev && (prev.format === format || prev.format === null) && prev.bytes_consumed === size && prev.content_hash === digest()) {
      this.stats.sources++;
      this.stats.results.push({ source: file, lines: 0, events: 0, rejected: 0, written: false, note: "already ingested" });
      return;
    }
    if (input.array) {
      const unwrapped = arrayAsLines(input.bytes());
      if ("error" in unwrapped) {
        if (wholeLinesOnly) return; // still being written: the next look reads it whole
        // Standard input has ended: cut off there, it will never be whole.
        if (unwrapped.cutOff && !source) return this.notWholeYet(file);
        return this.unreadable(file, unwrapped.error);
      }
      input = { ...input, lines: () => bufferLines(unwrapped.lines) };
    }
    const f = new SourceFold(this, {
      name: file, key, firstLine: 1, logBefore: prev, format,
      record: () => undefined,
    });
    const reader = adapter.read(input, { prices: this.opts.prices ?? PRICES, memo: (k, make) => this.memo(k, make) });
    f.begin();
    let summary: AdapterSummary;
    try {
      let n = 0;
      for (let r = reader.next(); ; r = reader.next()) {
        if (r.done) {
          summary = r.value;
          break;
        }
        const e = r.value;
        f.event(e, needsText(e) ? JSON.stringify(e) : null, ++n);
      }
    } catch (e) {
      f.abort();
      throw e;
    }
    // An adapter's event that obs cannot use is obs's own mistake: said as such, by the event's place.
    for (const b of f.bad) b.reason = `the ${format} reader made an event obs cannot use (event ${b.line}): ${b.reason}`;
    // A file's document cut off at its end (its tool rewrites it whole, and was caught at it)
    // waits for the next ingest, as a last line still being written does; standard input has
    // ended, so there it fails.
    if (!source && summary.cutOff) {
      f.abort();
      return this.notWholeYet(file);
    }
    f.bad.push(...summary.bad);
    // The statistics speak of the source's lines, not the events made from them.
    f.result.lines = summary.lines;
    this.progress(size);
    const events = f.result.events;
    const n = summary.bad.length;
    // A format forced on a file of another kind: every line passed over, which is not what was
    // asked for. Nothing could be read, so the source fails and nothing of it is kept (an
    // adapter may still have named a session for it). A file of that very format whose lines
    // carry nothing obs uses is not this: detection says so.
    const seen = this.opts.format && summary.skipped > 0 && summary.skipped + n === summary.lines ? detectQuietly(file, source?.data) : undefined;
    const wrongFormat = seen !== undefined && seen !== format
      ? `nothing written: read as ${format} (--format), none of its ${summary.lines} line${summary.lines === 1 ? "" : "s"} is a record of that format${readsAs(seen)}`
      : undefined;
    // Where --skip-invalid would write nothing, the usual advice to pass it is not given.
    const fail = wrongFormat !== undefined || (f.bad.length > 0 && (!this.opts.skipInvalid || events === 0));
    const reason = wrongFormat ?? (!n ? undefined : n === summary.lines ? `nothing written: none of its ${n} line${n === 1 ? "" : "s"} could be read as ${format}`
      : events === 0 ? `nothing written: ${n} bad line${n === 1 ? "" : "s"}, and the rest carries nothing obs uses` : undefined);
    // Hashed before the source is ended: a file removed meanwhile fails before anything of it is kept.
    let sum = "";
    try {
      if (!fail) sum = digest();
    } catch (e) {
      f.abort();
      throw e;
    }
    f.setRecord(() =>
      this.putLog.run({
        path: key, format, size, bytes_consumed: size, lines: summary.lines,
        rejected_lines: n, content_hash: sum, ingested_at: new Date().toISOString(),
      }));
    const result = f.end(summary.lines, { fail, reason: fail ? reason : undefined });
    this.stats.skipped += result.written ? summary.skipped : 0;
    if (!wrongFormat && format === "claude-code" && summary.executionId === null && summary.lines > 0) {
      this.opts.onNote?.(`${file}: no session id in it (summary lines only); nothing to attach its ${summary.lines} line${summary.lines === 1 ? "" : "s"} to`);
    }
  }

  /**
   * A document that ends before it closes, read from a file: its tool rewrites it whole and was
   * caught mid-write (as a last line still being written is), so it waits for the next ingest.
   */
  private notWholeYet(file: string): void {
    this.opts.onNote?.(`${file}: ${CUT_OFF}; it is read when it is whole`);
    this.stats.sources++;
    this.stats.results.push({ source: file, lines: 0, events: 0, rejected: 0, written: false, note: "not whole yet", waiting: true });
  }

  /** A source no format reads: one line for it, and it fails (whatever --skip-invalid says). */
  unreadable(file: string, reason: string, unrecognised = false): void {
    this.stats.sources++;
    this.stats.failed_sources.push(file);
    this.stats.results.push({ source: file, lines: 0, events: 0, rejected: 0, written: false, reason, ...(unrecognised ? { unrecognised } : {}) });
  }

  /**
   * A file: from where the last ingest stopped if what was read then is unchanged, else from the
   * start. One the file system will not let obs read (its permissions, removed since the walk
   * found it) fails alone: what it wrote is taken back, and the other sources are read.
   */
  ingestFile(file: string, walked = false): void {
    try {
      this.readFile(file, walked);
    } catch (e) {
      if (!isReadError(e)) throw e;
      this.unreadable(file, readFailure(e, walked));
    }
  }

  private readFile(file: string, walked: boolean): void {
    const found: { format: Format | null; head?: Head } = this.opts.format ? { format: this.opts.format } : identify(file);
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
      return this.unreadable(file, unreadableReason(head), true);
    }
    if (format === "trace-store" && this.opts.format) {
      // Forced on a text file: the driver would only say "file is not a database", of no file.
      const seen = identify(file);
      if (!isSqlite(seen.head.bytes)) return this.unreadable(file, `nothing written: read as trace-store (--format), but it is no SQLite database${readsAs(seen.format)}`);
    }
    if (format !== "obs") return this.ingestAdapted(file, format);
    if (found.head ? found.head.array : startsArray(identify(file).head.bytes)) return this.ingestObsArray(file);
    const key = path.resolve(file);
    const fd = fs.openSync(file, "r");
    try {
      const size = fs.fstatSync(fd).size;
      const prev = this.log(key);
      let offset = 0;
      let firstLine = 1;
      let hash = crypto.createHash("sha256");
      let prevLines = 0;
      let prevRejected = 0;
      if (prev) {
        const sameFormat = prev.format === "obs-jsonl" || prev.format === null;
        const prefixOk = sameFormat && size >= prev.bytes_consumed && hashRange(fd, 0, prev.bytes_consumed).digest("hex") === prev.content_hash;
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
        } else if (!sameFormat) {
          this.opts.onNote?.(`${file}: read before as ${prev.format}; reading it again from the start as obs's event stream`);
        } else {
          this.opts.onNote?.(`${file}: changed since it was last ingested (truncated or replaced); reading it from the start`);
        }
      }
      const read = readObsLines(fd, offset, firstLine, size, hash, false);
      let leftTail = false;
      const result = this.foldLines({
        name: file, key, firstLine, logBefore: prev,
        prefix: offset > 0 ? filePrefix(file, offset) : undefined,
        record: (lines, rejected) => {
          leftTail = read.consumed() < size;
          this.putLog.run({
            path: key, format: "obs-jsonl", size, bytes_consumed: read.consumed(),
            lines: prevLines + lines, rejected_lines: prevRejected + rejected,
            content_hash: hash.digest("hex"), ingested_at: new Date().toISOString(),
          });
        },
      }, read.lines);
      if (leftTail || (!result.written && read.consumed() < size)) {
        this.opts.onNote?.(`${file}: last line has no newline and is not complete JSON yet; left for the next ingest`);
      }
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
      if (unwrapped.cutOff) return this.notWholeYet(file);
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
    this.foldLines({
      name: file, key, firstLine, logBefore: prev,
      record: (lines, rejected) => {
        this.putLog.run({
          path: key, format: "obs-json-array", size: data.length, bytes_consumed: data.length,
          lines: (offset ? prev!.lines : 0) + lines, rejected_lines: (offset ? prev!.rejected_lines : 0) + rejected,
          content_hash: digest, ingested_at: new Date().toISOString(),
        });
      },
    }, bufferLines(data.subarray(offset), firstLine, offset));
  }

  /** Text that has no file to grow (stdin, the demo): known by its content hash, so the same text twice adds nothing. */
  ingestText(name: string, text: Buffer): void {
    // A byte-order mark is none of the text: with or without one, it is the same content.
    text = withoutBom(text);
    const digest = crypto.createHash("sha256").update(text).digest("hex");
    const key = `${name}#sha256:${digest}`;
    if (this.log(key)) {
      this.stats.sources++;
      this.stats.results.push({ source: name, lines: 0, events: 0, rejected: 0, written: false, note: "already ingested (same content)" });
      return;
    }
    // A stream that ends inside its last line (the writer killed mid-line: a timed-out `claude -p`)
    // is read as a file would be, without that line; unlike a file's, it will never be finished.
    const cut = isJsonLines(text.subarray(0, HEAD_BYTES)) ? unfinishedTail(text) : null;
    if (cut !== null) {
      this.opts.onNote?.(`${name}: its last line (${lineCount(text, cut) + 1}) ends cut off, with no newline and not complete JSON; left out, the lines before it are read`);
      text = text.subarray(0, cut);
    }
    // Standard input may carry another tool's record (claude -p … | obs ingest -).
    const found = this.opts.format ? { format: this.opts.format, head: readHead(name, text.subarray(0, 64 * 1024)) } : identify(name, text);
    if (found.format === null) return this.unreadable(name, unreadableReason(found.head), true);
    if (found.format !== "obs") return this.ingestAdapted(name, found.format, false, { key, data: text });
    if (startsArray(text)) {
      const unwrapped = arrayAsLines(text);
      if ("error" in unwrapped) return this.unreadable(name, unwrapped.error);
      text = unwrapped.lines;
    }
    this.foldLines({
      name, key, firstLine: 1, logBefore: undefined,
      record: (lines, rejected) => {
        this.putLog.run({
          path: key, format: "obs-jsonl", size: text.length, bytes_consumed: text.length,
          lines, rejected_lines: rejected, content_hash: digest, ingested_at: new Date().toISOString(),
        });
      },
    }, bufferLines(text));
  }
}

/** Progress is reported about every this many bytes. */
const PROGRESS_EVERY = 1 << 20;

/**
 * The lines of obs's stream in a file from `offset`, with a hash of what is consumed kept up:
 * whole lines, and at the end of a file read once a last line without its newline when it is
 * complete JSON (a file written without a final newline is still read whole); while following,
 * such a line waits for its newline.
 */
export function readObsLines(fd: number, offset: number, firstLine: number, size: number, hash: crypto.Hash, following: boolean): { lines: Iterable<Line>; consumed: () => number } {
  let consumed = offset;
  const continues = offset > 0 && (() => {
    const b = Buffer.alloc(1);
    return fs.readSync(fd, b, 0, 1, offset - 1) === 1 && b[0] !== NL;
  })();
  function* gen(): Generator<Line> {
    let tail: Tail | null = null;
    for (const l of fileLines(fd, { start: offset, firstLine, continues, hash }, size, (t) => (tail = t))) {
      consumed = l.end;
      yield l;
    }
    const t = tail as Tail | null;
    if (t?.over && !following) {
      // Over the longest line obs reads, it can never be read, finished or not: a bad line now.
      hashFile(fd, hash, t.start, t.end);
      consumed = t.end;
      yield { text: "", n: t.n, end: consumed, invalid: OVERLONG };
    } else if (t && !following) {
      const text = (t.start === 0 ? withoutBom(t.bytes) : t.bytes).toString("utf8");
      if (!isBlank(text) && isJson(text)) {
        hash.update(t.bytes);
        consumed = t.start + t.bytes.length;
        yield { text, n: t.n, end: consumed };
      }
    }
  }
  return { lines: gen(), consumed: () => consumed };
}

/** An adapter's events for a file, gathered (for tests and tools that look at what an adapter makes). */
export function adapterEvents(adapter: Adapter, file: string, prices: PriceTable = PRICES): { events: J[]; summary: AdapterSummary } {
  const found = fileInput(file, false);
  const events: J[] = [];
  if (!found) return { events, summary: { skipped: 0, bad: [], lines: 0, executionId: null } };
  const memos = new Map<string, unknown>();
  const reader = adapter.read(found.input, { prices, memo: (k, make) => (memos.has(k) ? memos.get(k) : (memos.set(k, make()), memos.get(k))) as never });
  for (let r = reader.next(); ; r = reader.next()) {
    if (r.done) return { events, summary: r.value };
    events.push(r.value);
  }
}

/**
 * An adapter's view of a file: its lines as they are read, or (for a whole document) its bytes;
 * with the SHA-256 of what it holds, computed as its lines are read when they are (else by a
 * pass of its own when asked for). A file of lines whose last line is still being written (no
 * newline, not complete JSON) ends before that line: `unfinished`.
 */
function fileInput(file: string, wholeLinesOnly: boolean): { input: AdapterInput; size: number; digest: () => string; unfinished?: boolean } | null {
  const fd = fs.openSync(file, "r");
  let size: number;
  let array = false;
  let unfinished = false;
  try {
    size = fs.fstatSync(fd).size;
    const head = readFileHeadFd(fd);
    array = startsArray(head);
    if (wholeLinesOnly && !isSqlite(head) && !array && !isWholeJsonFile(fd, size, head)) {
      // A document whose first line is no JSON of its own (pretty-printed: a Gemini CLI
      // recording, rewritten whole at each message) caught mid-write: nothing whole in it yet.
      if (!isJsonLines(head)) return null;
      size = lastNewline(fd, size);
    }
    else if (!wholeLinesOnly && !isSqlite(head) && !array && isJsonLines(head)) {
      const cut = unfinishedLine(fd, size);
      if (cut !== null) {
        size = cut;
        unfinished = true;
      }
    }
    if (wholeLinesOnly && size === 0) return null;
  } finally {
    fs.closeSync(fd);
  }
  const limit = size;
  let digest: string | null = null;
  return {
    size,
    ...(unfinished ? { unfinished } : {}),
    digest: () => {
      if (digest === null) {
        const fd2 = fs.openSync(file, "r");
        try {
          digest = hashRange(fd2, 0, limit).digest("hex");
        } finally {
          fs.closeSync(fd2);
        }
      }
      return digest;
    },
    input: {
      path: file,
      array,
      bytes: () => {
        const fd2 = fs.openSync(file, "r");
        try {
          const buf = Buffer.alloc(limit);
          let got = 0;
          while (got < limit) {
            const n = fs.readSync(fd2, buf, got, limit - got, got);
            if (n === 0) break;
            got += n;
          }
          return withoutBom(buf.subarray(0, got));
        } finally {
          fs.closeSync(fd2);
        }
      },
      *lines() {
        const fd2 = fs.openSync(file, "r");
        const hash = digest === null ? crypto.createHash("sha256") : undefined;
        try {
          let tail: Tail | null = null;
          yield* fileLines(fd2, { start: 0, firstLine: 1, hash }, limit, (t) => (tail = t));
          const t = tail as Tail | null;
          if (t?.over) {
            if (hash) hashFile(fd2, hash, t.start, t.end);
            yield { text: "", n: t.n, invalid: OVERLONG };
          } else if (t) {
            hash?.update(t.bytes);
            yield* bufferLines(t.bytes, t.n, t.start);
          }
          if (hash && digest === null) digest = hash.digest("hex");
        } finally {
          fs.closeSync(fd2);
        }
      },
    },
  };
}

function memoryInput(file: string, data: Buffer, wholeLinesOnly: boolean): { input: AdapterInput; size: number; digest: () => string } {
  let text = data;
  if (wholeLinesOnly && !isSqlite(text) && !isWholeJson(text)) text = text.subarray(0, text.lastIndexOf(NL) + 1);
  const digest = crypto.createHash("sha256").update(text).digest("hex");
  return {
    size: text.length,
    digest: () => digest,
    input: { path: file, array: startsArray(text), bytes: () => text, lines: () => bufferLines(text) },
  };
}

/**
 * Whether a file is lines of JSON rather than one document spread over lines (a pretty-printed
 * recording, whose first line is only its opening `{`): its first line is complete JSON, or
 * longer than the head.
 */
function isJsonLines(head: Buffer): boolean {
  const text = withoutBom(head).toString("utf8").trimStart();
  const nl = text.indexOf("\n");
  return nl < 0 || isJson(text.slice(0, nl));
}

/**
 * Where a file's last line begins when that line is still being written — no newline yet, and
 * not complete JSON (a file written without a final newline is read whole) — else null. A file
 * of one line is read as it is, and a last line over the longest obs reads is a bad line.
 */
function unfinishedLine(fd: number, size: number): number | null {
  const cut = lastNewline(fd, size);
  return isUnfinished(cut, size, () => {
    const buf = Buffer.allocUnsafe(size - cut);
    const got = fs.readSync(fd, buf, 0, buf.length, cut);
    return buf.toString("utf8", 0, got);
  }) ? cut : null;
}

/** unfinishedLine for text in memory: where its last line begins when it is cut off, else null. */
function unfinishedTail(text: Buffer): number | null {
  const cut = text.lastIndexOf(NL) + 1;
  return isUnfinished(cut, text.length, () => text.toString("utf8", cut)) ? cut : null;
}

/** Whether the last line of `size` bytes, starting at `cut` (just past the last newline) and read by `last`, is unfinished. */
function isUnfinished(cut: number, size: number, last: () => string): boolean {
  if (cut === 0 || cut === size || size - cut > MAX_LINE) return false;
  const text = last();
  return !isBlank(text) && !isJson(text);
}

function lineCount(text: Buffer, end: number): number {
  let n = 0;
  for (let i = text.indexOf(NL); i >= 0 && i < end; i = text.indexOf(NL, i + 1)) n++;
  return n;
}

/** The offset just past the last newline of a file's first `size` bytes (0: none). */
function lastNewline(fd: number, size: number): number {
  const buf = Buffer.allocUnsafe(64 * 1024);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - buf.length);
    const n = fs.readSync(fd, buf, 0, end - start, start);
    const i = buf.subarray(0, n).lastIndexOf(NL);
    if (i >= 0) return start + i + 1;
    end = start;
  }
  return 0;
}

function readFileHeadFd(fd: number): Buffer {
  const buf = Buffer.alloc(HEAD_BYTES);
  const n = fs.readSync(fd, buf, 0, buf.length, 0);
  return buf.subarray(0, n);
}

/** A whole JSON document (a pretty-printed recording) in a file: read whole while following, never cut at a newline. */
function isWholeJsonFile(fd: number, size: number, head: Buffer): boolean {
  const start = head.toString("utf8", 0, Math.min(head.length, 64)).trimStart()[0];
  if (start !== "{" && start !== "[") return false;
  // A document over 256 MiB is no recording rewritten whole.
  if (size > 256 * 1024 * 1024) return false;
  const buf = Buffer.alloc(size);
  fs.readSync(fd, buf, 0, size, 0);
  return isWholeJson(buf);
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
        // Read as lines are (a line over the longest obs reads is passed, not held); only lines holding its text are decoded.
        let n = 0;
        let tail: Tail | null = null;
        for (const l of fileLines(fd, { start: 0, firstLine: 1, holding: [Buffer.from(line)] }, bytes, (t) => (tail = t))) if (l.text.trim() === line) n++;
        const t = tail as Tail | null;
        if (t && !t.over && (t.start === 0 ? withoutBom(t.bytes) : t.bytes).toString("utf8").trim() === line) n++;
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
  /** `unreadable`: a file or folder found that cannot be read (it fails, with `reason`). */
  kind: "file" | "stdin" | "text" | "unreadable";
  name: string;
  text?: Buffer;
  /** Found by walking a directory (not named by the user). */
  walked?: boolean;
  reason?: string;
}

/** Ingests sources in order, each in its own transaction. */
export async function ingestSources(
  db: DB,
  sources: Source[],
  opts: IngestOptions,
  stdin?: NodeJS.ReadableStream,
): Promise<IngestStats> {
  const run = new IngestRun(db, opts);
  run.totalBytes = totalBytes(sources);
  try {
    for (const s of sources) {
      if (s.kind === "file") run.ingestFile(s.name, s.walked);
      else if (s.kind === "unreadable") run.unreadable(s.name, s.reason ?? "cannot be read");
      else if (s.kind === "stdin") run.ingestText("-", await readAll(stdin ?? process.stdin));
      else run.ingestText(s.name, s.text ?? Buffer.alloc(0));
    }
  } catch (e) {
    // The sources read whole before the one that failed are kept.
    run.writer.close();
    throw e;
  }
  const n = run.passedOver.length;
  if (n) opts.onNote?.(`passed over ${n} *.json file${n === 1 ? "" : "s"} the walk found that ${n === 1 ? "is no record" : "are no records"} obs reads (${run.passedOver.slice(0, 3).join(", ")}${n > 3 ? ", …" : ""})`);
  return run.finishStats();
}

/** Total bytes of the file sources, to decide whether a progress bar is worth showing. */
export function totalBytes(sources: Source[]): number {
  let n = 0;
  for (const s of sources) {
    // A file gone (or hidden) since the walk is said when it is read.
    if (s.kind === "file") n += statQuietly(s.name)?.size ?? 0;
    else if (s.text) n += s.text.length;
  }
  return n;
}

function statQuietly(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}
