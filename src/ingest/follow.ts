import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { DB } from "../db/open.js";
import { filePrefix, hashRange, identify, IngestRun, isReadError, listSourceFiles, readFailure, readObsLines, unreadableReason, type Format, type IngestOptions, type IngestStats, type SourceResult, type Walked, type WalkSeen } from "./ingest.js";

/**
 * `obs ingest --follow`: keeps reading what is appended to files (and new *.jsonl files in
 * followed directories), committing a batch at least every `intervalMs`. A last line without
 * its newline waits for it. A file that shrinks or is replaced (another inode, or a different
 * beginning) is said so and read again from its start. Each batch records in ingest_log how far
 * the file was read, so a follow that is stopped and started again loses and repeats nothing.
 */

interface Tracked {
  file: string;
  key: string;
  dev: number;
  ino: number;
  offset: number;
  lines: number;
  rejected: number;
  hash: crypto.Hash;
  /** Stopped after a bad line (without --skip-invalid): the file is left as it was. */
  failed: boolean;
  /** Another tool's format: read again whole whenever it changes. */
  format: Format | null;
  /** A JSON array: read again whole whenever it changes. */
  array: boolean;
  seen: { size: number; mtimeMs: number };
  /** The last bytes read (up to 4 KiB before `offset`), to notice a file rewritten in place. */
  mark: Buffer | null;
  /** A file read again whole is not read again before this time (Date.now()): see PACE. */
  notBefore: number;
}

/**
 * A file of another tool's format is read again whole at each change (its events depend on
 * lines before and after), and a session being written changes many times a second: after a
 * reading that took `d`, the next waits `PACE × d`, so re-reading one file keeps to about a
 * quarter of a core however big it grows. A small file still shows within a poll or two; a
 * change left waiting when the follow stops is read before it ends.
 */
const PACE = 3;

/** The up to 4 KiB of a file just before `offset`. */
function endMark(fd: number, offset: number): Buffer {
  const len = Math.min(4096, offset);
  const buf = Buffer.alloc(len);
  const n = len ? fs.readSync(fd, buf, 0, len, offset - len) : 0;
  return buf.subarray(0, n);
}

/** A file or directory to follow; a directory may say which of its files are records. */
export type FollowSource = string | { dir: string; accept: (file: string) => boolean };

export interface FollowOptions extends IngestOptions {
  intervalMs?: number;
  /** Stops the loop; the current batch is committed first. */
  signal: AbortSignal;
  onBatch?: (stats: IngestStats) => void;
  /** How many times its last reading's time a file read again whole waits (PACE; 0: read at every change). */
  pace?: number;
}

export async function follow(db: DB, sources: FollowSource[], opts: FollowOptions): Promise<IngestStats> {
  const run = new IngestRun(db, opts);
  const tracked = new Map<string, Tracked>();
  /** Files no format reads, by the size they had when looked at: looked at again when they change. */
  const ignored = new Map<string, number>();
  const interval = opts.intervalMs ?? 50;
  /** The last failed result of each file that stopped being followed. */
  const failedResults = new Map<string, SourceResult>();
  /**
   * Folders and files that cannot be read now, by name: said once, and failed while they stay
   * so; one that can be read again is followed from then on, and no longer failed.
   */
  const unreadable = new Map<string, SourceResult>();
  /** What this look found that cannot be read (files and folders not followed). */
  let unreadableNow = new Set<string>();
  /** Notes of what a walk passed over: each said once, not at every look. */
  const said = new Set<string>();
  const sayOnce = (m: string) => {
    if (said.has(m)) return;
    said.add(m);
    opts.onNote?.(m);
  };
  const cannotRead = (name: string, reason: string) => {
    unreadableNow.add(name);
    if (!unreadable.has(name)) opts.onNote?.(`${name}: ${reason}; following the rest`);
    unreadable.set(name, { source: name, lines: 0, events: 0, rejected: 0, written: false, reason });
  };
  /** A read error of a followed file: removed, it is quietly no longer read; else said once. */
  const readError = (file: string, e: unknown) => {
    if (!isReadError(e)) throw e;
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") cannotRead(file, readFailure(e, true));
  };

  /** `named`: the file was named as a source, not found by a walk, so one obs cannot read fails the follow. */
  const track = (file: string, named = false) => {
    const key = path.resolve(file);
    if (tracked.has(key)) return;
    let fd: number;
    try {
      fd = fs.openSync(file, "r");
    } catch (e) {
      return readError(file, e); // gone again before we could open it: a later look sees it if it comes back
    }
    try {
      const st = fs.fstatSync(fd);
      const prev = run.log(key);
      // A file just created is classified once it has something in it.
      if (st.size === 0 && !prev && !opts.format) return;
      if (ignored.get(key) === st.size) {
        if (named) unreadableNow.add(file);
        return;
      }
      // The same file under another name (a link made since it was first followed) is read once.
      const twin = [...tracked.values()].find((t) => t.dev === st.dev && t.ino === st.ino && sameFile(t.file, st));
      if (twin) return sayOnce(`${file}: the same file as ${twin.file}; read once, as ${twin.file}`);
      const found = identify(file);
      const format = opts.format ?? found.format;
      if (format === null) {
        // A file named as a source is a failed source, as plain ingest has it; one a walk found
        // is passed over, said once unless it is a SQLite file that is no trace store or a
        // *.json that is no record.
        if (named) cannotRead(file, unreadableReason(found.head));
        else if (!ignored.has(key) && !file.endsWith(".json") && !/\.(db|sqlite3?)$/.test(file)) opts.onNote?.(`${file}: ${unreadableReason(found.head)}; not followed`);
        ignored.set(key, st.size);
        return;
      }
      ignored.delete(key);
      const t: Tracked = {
        file, key, dev: st.dev, ino: st.ino, offset: 0, lines: 0, rejected: 0, hash: crypto.createHash("sha256"), failed: false, format,
        array: Boolean(found.head.array), seen: { size: -1, mtimeMs: -1 }, mark: null, notBefore: 0,
      };
      if (prev) {
        const h = st.size >= prev.bytes_consumed ? hashRange(fd, 0, prev.bytes_consumed) : null;
        if (h && h.copy().digest("hex") === prev.content_hash) {
          Object.assign(t, { offset: prev.bytes_consumed, lines: prev.lines, rejected: prev.rejected_lines, hash: h });
        } else {
          opts.onNote?.(`${file}: changed since it was last ingested (truncated or replaced); reading it from the start`);
        }
      }
      tracked.set(key, t);
      unreadable.delete(file);
    } catch (e) {
      readError(file, e);
    } finally {
      fs.closeSync(fd);
    }
  };

  const walked = (found: Walked) => {
    for (const n of found.notes) sayOnce(n);
    for (const f of found.failed) cannotRead(f.name, f.reason);
    for (const f of found.files) track(f);
  };

  const discover = () => {
    unreadableNow = new Set();
    // A file already followed keeps its name: another name for it, found later, is passed over.
    const seen: WalkSeen = new Map([...tracked.values()].map((t) => [`${t.dev}:${t.ino}`, t.file]));
    for (const source of sources) {
      const s = typeof source === "string" ? source : source.dir;
      if (typeof source !== "string") {
        if (fs.existsSync(s)) walked(listSourceFiles(s, source.accept, seen));
        continue;
      }
      let st: fs.Stats;
      try {
        st = fs.statSync(s);
      } catch {
        continue;
      }
      if (st.isDirectory()) walked(listSourceFiles(s, undefined, seen));
      else track(s, true);
    }
    // What could not be read at an earlier look and is no longer found so (readable again, or gone).
    for (const name of unreadable.keys()) if (!unreadableNow.has(name) && !tracked.has(path.resolve(name))) unreadable.delete(name);
  };

  /** Reads what was appended to one file and folds its whole lines as one batch. */
  const step = (t: Tracked, last = false) => {
    try {
      stepFile(t, last);
      unreadable.delete(t.file);
    } catch (e) {
      // Read again at the next look, in case it can be read then.
      t.seen = { size: -1, mtimeMs: -1 };
      readError(t.file, e);
    }
  };

  const stepFile = (t: Tracked, last: boolean) => {
    if (t.failed) return;
    if ((t.format && t.format !== "obs") || t.array) {
      const st = fs.statSync(t.file, { throwIfNoEntry: false });
      if (!st || (st.size === t.seen.size && st.mtimeMs === t.seen.mtimeMs)) return;
      if (!last && Date.now() < t.notBefore) return; // changed, and read at a later look
      t.seen = { size: st.size, mtimeMs: st.mtimeMs };
      const failedBefore = run.stats.failed_sources.length;
      const started = performance.now();
      if (t.format === "obs") run.ingestObsArray(t.file, true);
      else run.ingestAdapted(t.file, t.format!, true);
      t.notBefore = Date.now() + (opts.pace ?? PACE) * (performance.now() - started);
      if (run.stats.failed_sources.length > failedBefore) t.failed = true;
      return;
    }
    const fd = fs.openSync(t.file, "r");
    try {
      const st = fs.fstatSync(fd);
      const change = st.ino !== t.ino ? "replaced" : st.size < t.offset ? "truncated" : st.size !== t.offset && t.offset > 0 && !sameEnd(fd, t) ? "rewritten" : null;
      if (change) {
        opts.onNote?.(`${t.file}: ${change}; reading it from the start`);
        Object.assign(t, { dev: st.dev, ino: st.ino, offset: 0, lines: 0, rejected: 0, hash: crypto.createHash("sha256"), mark: null });
      }
      if (st.size === t.offset) return;
      const readBefore = t.offset;
      const hash = t.hash.copy();
      const read = readObsLines(fd, t.offset, t.lines + 1, st.size, hash, true);
      const result = run.foldLines({
        name: t.file, key: t.key, firstLine: t.lines + 1, logBefore: run.log(t.key),
        prefix: readBefore > 0 ? filePrefix(t.file, readBefore) : undefined,
        record: (lines, rejected) => {
          t.offset = read.consumed();
          t.lines += lines;
          t.rejected += rejected;
          t.hash = hash;
          t.mark = endMark(fd, t.offset);
          run.putLog.run({
            path: t.key, format: "obs-jsonl", size: st.size, bytes_consumed: t.offset, lines: t.lines, rejected_lines: t.rejected,
            content_hash: t.hash.copy().digest("hex"), ingested_at: new Date().toISOString(),
          });
        },
      }, read.lines);
      if (!result.written) {
        t.failed = true;
        opts.onNote?.(`${t.file}: stopped following it at a bad line (nothing of that batch written); fix the file, or follow with --skip-invalid`);
      }
    } finally {
      fs.closeSync(fd);
    }
  };

  /**
   * Whether the bytes just before where reading stopped are still what was read there: a file
   * rewritten in place (truncated, then written longer than before between two looks) differs
   * there, and is read again from its start rather than on from a place that means nothing now.
   */
  const sameEnd = (fd: number, t: Tracked): boolean => {
    if (!t.mark) t.mark = endMark(fd, t.offset);
    const now = endMark(fd, t.offset);
    if (now.equals(t.mark)) return true;
    // The end differs: the whole prefix decides (the hash ingest_log keeps).
    return hashRange(fd, 0, t.offset).digest("hex") === t.hash.copy().digest("hex");
  };

  /** Commits what a look read, so that it shows at once. */
  const commitBatch = () => {
    run.writer.commit();
    // A batch is not a source: keep the totals, not one result per batch for as long as we follow;
    // a file that stopped being followed keeps its result, to be named at the end with its bad lines.
    const failed = new Map(run.stats.results.filter((r) => !r.written && r.note === undefined).map((r) => [r.source, r]));
    for (const r of run.stats.results.splice(0)) if (failed.get(r.source) === r) failedResults.set(r.source, r);
    opts.onBatch?.(run.stats);
  };

  while (!opts.signal.aborted) {
    discover();
    for (const t of tracked.values()) step(t);
    commitBatch();
    await sleep(interval, opts.signal);
  }
  // What changed since the last look (a file whose reading was waiting its pace among it) is read before the end.
  for (const t of tracked.values()) step(t, true);
  commitBatch();
  const stats = run.finishStats();
  stats.results = [...failedResults.values(), ...unreadable.values()];
  stats.sources = tracked.size + unreadable.size;
  stats.failed_sources = [...new Set([...stats.failed_sources, ...unreadable.keys()])];
  return stats;
}

/** Whether a path still names the file a stat was taken of (a followed file removed since has left its inode to be reused). */
function sameFile(file: string, st: fs.Stats): boolean {
  try {
    const now = fs.statSync(file);
    return now.dev === st.dev && now.ino === st.ino;
  } catch {
    return false;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const wake = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", wake);
      resolve();
    };
    const t = setTimeout(wake, ms);
    signal.addEventListener("abort", wake);
  });
}
