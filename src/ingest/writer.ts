import type { DB } from "../db/open.js";
import { createRegisterTriggers, dropRegisterTriggers } from "../db/register.js";
import { OWNED_ROWS } from "../db/retention.js";
import { SearchIndexer } from "../db/search.js";
import { UserError } from "../errors.js";
import { remarkReplays } from "./fold.js";

/**
 * The transactions ingest writes in (docs/events.md, "All or nothing per source"):
 *
 *   - Sources share a transaction until about STEP events have been folded in it; a source that
 *     joins a transaction others are already in gets a savepoint, so a failed one (a bad line
 *     without --skip-invalid) is taken back alone. Few commits: each rewrites the pages it
 *     dirtied and every index's hot pages, and each transaction drops and recreates the search
 *     and registering triggers (which makes every statement compile again).
 *   - A source longer than STEP events that only adds executions the file did not have is
 *     written in steps, each a transaction, so the WAL stays the size of one step. Before the
 *     first step commits, a note in obs_meta (`unfinished:<source>`) names the executions it
 *     began and what ingest_log said of it; its last transaction removes the note. If it fails
 *     midway (a bad line, an error) or obs is stopped, the executions are taken out again — at
 *     once, or by the next obs that writes the file — so the source is never left half-written.
 *   - While a source is written in steps, other obs writers wait for it to finish (the `writer`
 *     note in obs_meta says who writes, for them to say whom they wait for).
 */

/** Events folded per transaction (and per step of a long source). */
export const STEP = Number(process.env.OBS_INGEST_STEP) > 0 ? Number(process.env.OBS_INGEST_STEP) : 50_000;

/** How long a writer waits before saying whom it waits for. */
const SAY_AFTER_MS = 2000;

export interface WriterOptions {
  /** Give up after waiting this long for another writer (--wait); undefined waits as long as it takes. */
  waitMs?: number;
  /**
   * How long one try for the lock may block (default 200 ms; and 5 s to take back the writer
   * note on close). A server answering requests on one thread keeps it short: every wait stops it.
   */
  attemptMs?: number;
  onNote?: (message: string) => void;
  /** What this process does, as another writer waiting for it says. */
  doing: string;
  /** The database's path, for messages. */
  dbPath?: string;
}

interface WriterNote {
  pid: number;
  doing: string;
  since: string;
  /** Writing a source in steps: other obs writers wait between its transactions too. */
  holds?: boolean;
}

export interface Unfinished {
  source: string;
  /** The ingest_log key of the source. */
  key: string;
  executions: string[];
  /** Its ingest_log row before this ingest (null: none). */
  log: Record<string, unknown> | null;
  pid: number;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function isBusy(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? "";
  return code === "SQLITE_BUSY" || code.startsWith("SQLITE_BUSY_") || code === "SQLITE_LOCKED";
}

/** The deadline a caller set passed while another program held the database: busy, not broken. */
export class WaitedTooLong extends UserError {
  readonly code = "SQLITE_BUSY";
}

export class Writer {
  readonly search: SearchIndexer;
  private open = false;
  /** Events folded in the open transaction. */
  events = 0;
  /** Sources folded (or begun) in the open transaction. */
  sources = 0;
  private announced = false;
  private holding = false;
  private readonly getMeta;
  private readonly putMeta;
  private readonly delMeta;

  constructor(
    readonly db: DB,
    readonly opts: WriterOptions,
  ) {
    this.search = new SearchIndexer(db);
    this.getMeta = db.prepare(`SELECT value FROM obs_meta WHERE key = ?`).pluck();
    this.putMeta = db.prepare(`INSERT INTO obs_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`);
    this.delMeta = db.prepare(`DELETE FROM obs_meta WHERE key = ?`);
  }

  get inTransaction(): boolean {
    return this.open;
  }

  /** Who else writes, as the note in the file says; null when nobody (alive) says so. */
  private other(): WriterNote | null {
    const raw = this.getMeta.get("writer") as string | undefined;
    if (!raw) return null;
    try {
      const w = JSON.parse(raw) as WriterNote;
      return w.pid !== process.pid && alive(w.pid) ? w : null;
    } catch {
      return null;
    }
  }

  /**
   * Takes the write lock: waits its turn while another process writes (saying whom it waits for
   * once the wait is long), for as long as it takes unless --wait set a deadline.
   */
  private lock(): void {
    const started = Date.now();
    let said = false;
    const prevTimeout = this.db.pragma("busy_timeout", { simple: true }) as number;
    this.db.pragma(`busy_timeout = ${this.opts.attemptMs ?? 200}`);
    try {
      for (;;) {
        let got = false;
        try {
          this.db.exec("BEGIN IMMEDIATE");
          got = true;
        } catch (e) {
          if (!isBusy(e)) throw e;
        }
        if (got) {
          // Another obs writing a source in steps keeps its turn between its transactions.
          const w = this.other();
          if (!w?.holds) return;
          this.db.exec("ROLLBACK");
        }
        const waited = Date.now() - started;
        if (this.opts.waitMs !== undefined && waited >= this.opts.waitMs) {
          const w = this.safeOther();
          throw new WaitedTooLong(`gave up after waiting ${(waited / 1000).toFixed(1)} s for ${w ? describe(w) : "another program"} to finish writing ${this.opts.dbPath ?? "the database"} (--wait)`, [
            "try again when it is done, or wait longer with a bigger --wait (or none: wait as long as it takes)",
          ]);
        }
        if (!said && waited >= SAY_AFTER_MS) {
          said = true;
          const w = this.safeOther();
          this.opts.onNote?.(`waiting for ${w ? describe(w) : "another program"} to finish writing ${this.opts.dbPath ?? "the database"}${this.opts.waitMs === undefined ? " (as long as it takes; --wait sets a limit)" : ""}`);
        }
        sleepSync(Math.min(got ? 50 : 10, this.opts.attemptMs ?? 50));
      }
    } finally {
      this.db.pragma(`busy_timeout = ${prevTimeout}`);
    }
  }

  /** The other writer, read outside a transaction (a read never waits in WAL mode). */
  private safeOther(): WriterNote | null {
    try {
      return this.other();
    } catch {
      return null;
    }
  }

  /** Opens a transaction if none is open: the search and registering triggers are dropped for it. */
  /**
   * The triggers of the file's own schema that obs's transactions drop and recreate, as the
   * search and registering ones: tr_event_to_log copies each bus event into message_bus_log, and
   * any trigger makes every insert into its table keep a statement journal. obs writes the
   * copy itself (Folder, `logEvents`); null when the file has no such trigger (then neither does obs).
   */
  private schemaTriggers: { name: string; sql: string }[] | null = null;

  /** Whether the file copies bus events into message_bus_log (and so obs must, while its trigger is dropped). */
  get logsEvents(): boolean {
    return (this.schemaTriggers ?? []).some((t) => t.name === "tr_event_to_log");
  }

  begin(): void {
    if (this.open) return;
    if (!this.announced) {
      // Said in a commit of its own, so that a writer waiting for this one can say whom it waits for.
      this.lock();
      this.putMeta.run("writer", JSON.stringify({ pid: process.pid, doing: this.opts.doing, since: new Date().toISOString() } satisfies WriterNote));
      this.takeBackUnfinished();
      this.db.exec("COMMIT");
      this.announced = true;
    }
    this.lock();
    this.open = true;
    this.events = 0;
    this.sources = 0;
    this.search.begin();
    dropRegisterTriggers(this.db);
    this.schemaTriggers = this.db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name = 'tr_event_to_log'`).all() as { name: string; sql: string }[];
    for (const t of this.schemaTriggers) this.db.exec(`DROP TRIGGER ${t.name}`);
  }

  /** Indexes what the transaction wrote, recreates the triggers, commits. */
  commit(): void {
    if (!this.open) return;
    this.search.finish();
    createRegisterTriggers(this.db);
    for (const t of this.schemaTriggers ?? []) this.db.exec(t.sql);
    this.db.exec("COMMIT");
    this.open = false;
  }

  /** Undoes the open transaction (DDL included: the triggers are back as they were). */
  rollback(): void {
    if (!this.open) return;
    this.db.exec("ROLLBACK");
    this.open = false;
  }

  /** A number that changes when another connection commits to the file (PRAGMA data_version). */
  dataVersion(): number {
    return this.db.pragma("data_version", { simple: true }) as number;
  }

  /** Commits once the transaction holds enough. */
  maybeCommit(): void {
    if (this.open && this.events >= STEP) this.commit();
  }

  /**
   * Marks a source written in steps: its note is committed with the step, and other obs writers
   * wait until it is done.
   */
  noteUnfinished(u: Unfinished): void {
    this.putMeta.run(`unfinished:${u.key}`, JSON.stringify(u));
    if (!this.holding) {
      this.putMeta.run("writer", JSON.stringify({ pid: process.pid, doing: this.opts.doing, since: new Date().toISOString(), holds: true } satisfies WriterNote));
      this.holding = true;
    }
  }

  /** The source's last transaction: its note goes with it. */
  finished(key: string): void {
    this.delMeta.run(`unfinished:${key}`);
    if (this.holding) {
      this.putMeta.run("writer", JSON.stringify({ pid: process.pid, doing: this.opts.doing, since: new Date().toISOString() } satisfies WriterNote));
      this.holding = false;
    }
  }

  /** Takes a source written in steps out again, in a transaction of its own (after the failed one is rolled back). */
  takeBack(u: Unfinished): void {
    this.rollback();
    this.lock();
    try {
      takeBackSource(this.db, u);
      this.delMeta.run(`unfinished:${u.key}`);
      if (this.holding) {
        this.putMeta.run("writer", JSON.stringify({ pid: process.pid, doing: this.opts.doing, since: new Date().toISOString() } satisfies WriterNote));
        this.holding = false;
      }
      this.db.exec("COMMIT");
    } catch (e) {
      this.db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Sources a stopped obs left written in part: taken out (inside the lock, before anything else is written). */
  private takeBackUnfinished(): void {
    const rows = this.db.prepare(`SELECT key, value FROM obs_meta WHERE key LIKE 'unfinished:%'`).all() as { key: string; value: string }[];
    for (const r of rows) {
      let u: Unfinished;
      try {
        u = JSON.parse(r.value) as Unfinished;
      } catch {
        continue;
      }
      if (u.pid !== process.pid && alive(u.pid)) continue; // still being written
      takeBackSource(this.db, u);
      this.delMeta.run(r.key);
      const n = u.executions.length;
      this.opts.onNote?.(`${u.source}: obs was stopped while writing it; took out what it had written (${n} execution${n === 1 ? "" : "s"}: ${u.executions.slice(0, 3).join(", ")}${n > 3 ? ", …" : ""}); ingest it again to load it`);
    }
  }

  /** Ends the run: the note saying this process writes goes. */
  close(): void {
    if (this.open) this.commit();
    if (!this.announced) return;
    try {
      this.db.pragma(`busy_timeout = ${this.opts.attemptMs ?? 5000}`);
      this.db.transaction(() => {
        const raw = this.getMeta.get("writer") as string | undefined;
        if (raw && (JSON.parse(raw) as WriterNote).pid === process.pid) this.delMeta.run("writer");
      }).immediate();
    } catch {
      /* another writer holds the lock for long: the note names a process that is gone, which readers ignore */
    }
    this.announced = false;
  }
}

function describe(w: WriterNote): string {
  return `${w.doing} (pid ${w.pid}, since ${w.since.slice(11, 19)})`;
}

/**
 * Removes what a source written in steps wrote: every row of the executions it began (and
 * their search documents), its ingest_log row as it was, and the replay marks of rows other
 * executions share with them recomputed.
 */
export function takeBackSource(db: DB, u: Unfinished): void {
  const ids = JSON.stringify(u.executions);
  // Rows elsewhere that these executions owned: their copies take the ownership back.
  const keys: { table: string; key: string }[] = [];
  for (const table of ["transcript_entries", "tool_uses", "tasks"]) {
    for (const r of db.prepare(`SELECT id, execution_id FROM ${table} WHERE replay_of IN (SELECT value FROM json_each(?))`).all(ids) as { id: string; execution_id: string }[]) {
      const suffix = `@${r.execution_id}`;
      keys.push({ table, key: r.id.endsWith(suffix) ? r.id.slice(0, -suffix.length) : r.id });
    }
  }
  const responses = db.prepare(`SELECT DISTINCT response_id FROM llm_calls WHERE replay_of IN (SELECT value FROM json_each(?)) AND response_id IS NOT NULL`).pluck().all(ids) as string[];
  const search = new SearchIndexer(db);
  for (const { table, where } of OWNED_ROWS) {
    const del = db.prepare(`DELETE FROM ${table} WHERE ${where}`);
    for (const id of u.executions) del.run({ id });
  }
  // The triggers noted each deleted row: this drops their documents.
  search.finish();
  remarkReplays(db, keys, responses);
  if (u.log) {
    const cols = Object.keys(u.log);
    db.prepare(`INSERT OR REPLACE INTO ingest_log (${cols.join(", ")}) VALUES (${cols.map((c) => `@${c}`).join(", ")})`).run(u.log);
  } else {
    db.prepare(`DELETE FROM ingest_log WHERE path = ?`).run(u.key);
  }
}
