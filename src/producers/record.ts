import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { type DB } from "../db/open.js";
import { openWritable, walMode } from "../db/write.js";
import { UserError } from "../errors.js";
import { jsonable } from "./text.js";

/**
 * The machinery under the four producer classes: one record of an execution written twice, as
 * obs events appended to `$OBS_TRANSCRIPTS/{execution_id}/unified.jsonl` and as rows in the
 * database. The rows are made by folding the very lines that go to the file with obs's own
 * ingest (IngestRun.foldRecorded, which folds them as one source), so `obs ingest` of the
 * file into an empty database gives the same rows, and into this one adds nothing.
 * python/obs_producers/_record.py is the same in Python.
 *
 * Sequences come from a counter beside the JSONL (`unified.seq`, a small SQLite file): each
 * entry takes the next one inside an IMMEDIATE transaction, with its timestamp, so several
 * writers — threads, processes, Node or Python — writing one execution get distinct, gap-free
 * sequences in the order of their timestamps. A counter made anew starts after the highest
 * sequence the JSONL and the database already hold.
 */

export const DEFAULT_FLUSH_MS = 1000;

/** Lines waiting for a database that cannot be written are kept up to this many; then the file alone carries the record. */
const MAX_PENDING_LINES = 200_000;

export interface RecordPaths {
  dbPath: string;
  transcriptsDir: string;
}

export function defaultPaths(env: NodeJS.ProcessEnv = process.env): RecordPaths {
  return { dbPath: env.OBS_DB || "obs.db", transcriptsDir: env.OBS_TRANSCRIPTS || "transcripts" };
}

/** An execution id as one directory name: characters that could leave the folder are %-escaped. */
export function executionDir(id: string): string {
  const safe = id.replace(/[^A-Za-z0-9._-]/g, (c) => [...Buffer.from(c, "utf8")].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join(""));
  return safe === "." || safe === ".." ? safe.replace(/\./g, "%2E") : safe;
}

export function isoNow(): string {
  return new Date().toISOString();
}

/** Problems are said once per database and kind, on stderr: an agent's output is not the place for a stream of them. */
const said = new Set<string>();
export function reportOnce(key: string, message: string, report: (m: string) => void = (m) => process.stderr.write(m)): void {
  if (said.has(key)) return;
  said.add(key);
  report(`obs producer: ${message}\n`);
}

/** The highest `sequence` of the execution's lines in a JSONL file (0 when none or no file). */
function maxSequenceInJsonl(file: string, executionId: string): number {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return 0;
  }
  let max = 0;
  for (const line of text.split("\n")) {
    if (!line.includes('"sequence"')) continue;
    try {
      const o = JSON.parse(line) as { execution_id?: unknown; sequence?: unknown };
      if (o.execution_id === executionId && Number.isInteger(o.sequence)) max = Math.max(max, o.sequence as number);
    } catch {
      // a torn or foreign line holds no sequence of ours
    }
  }
  return max;
}

function maxSequenceInDb(dbPath: string, executionId: string): number {
  if (!fs.existsSync(dbPath)) return 0;
  let db: DB | undefined;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
    db.pragma("busy_timeout = 2000");
    const r = db.prepare(`SELECT MAX(sequence) AS m FROM transcript_entries WHERE execution_id = ?`).get(executionId) as { m: number | null };
    return r.m ?? 0;
  } catch {
    return 0;
  } finally {
    db?.close();
  }
}

/** The per-execution counter beside the JSONL (see the top of this file). */
export class SequenceCounter {
  private readonly db: DB;
  private readonly take: (now: string) => { sequence: number; timestamp: string };
  private readonly peek: () => number;

  constructor(
    readonly file: string,
    readonly executionId: string,
    seed: () => number,
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma("busy_timeout = 30000");
    // WAL: a commit is an append (about 30 us, against 125 us with a rollback journal), and a
    // kill mid-transaction loses nothing committed. Node and Python writers share the file, so
    // both use the same mode. The counter is rebuilt from the JSONL and database if it is lost.
    walMode(this.db, 30_000);
    this.db.pragma("synchronous = OFF");
    this.db.exec(`CREATE TABLE IF NOT EXISTS sequences (
      execution_id   TEXT PRIMARY KEY,
      last_sequence  INTEGER NOT NULL,
      last_timestamp TEXT NOT NULL
    )`);
    const get = this.db.prepare(`SELECT last_sequence, last_timestamp FROM sequences WHERE execution_id = ?`);
    const put = this.db.prepare(`INSERT INTO sequences (execution_id, last_sequence, last_timestamp) VALUES (@id, @seq, @ts)
                                 ON CONFLICT(execution_id) DO UPDATE SET last_sequence = @seq, last_timestamp = @ts`);
    this.take = this.db.transaction((now: string) => {
      const row = get.get(executionId) as { last_sequence: number; last_timestamp: string } | undefined;
      const last = row ? row.last_sequence : seed();
      // Timestamps never go back along the sequence, whatever the clocks of the writers do.
      const timestamp = row && row.last_timestamp > now ? row.last_timestamp : now;
      put.run({ id: executionId, seq: last + 1, ts: timestamp });
      return { sequence: last + 1, timestamp };
    }).immediate as unknown as (now: string) => { sequence: number; timestamp: string };
    this.peek = () => (get.get(executionId) as { last_sequence: number } | undefined)?.last_sequence ?? seed();
  }

  next(now = isoNow()): { sequence: number; timestamp: string } {
    return this.take(now);
  }

  current(): number {
    return this.peek();
  }

  close(): void {
    this.db.close();
  }
}

/** What the producers use of ingest's IngestRun (a test checks the real one has this shape). */
export interface IngestModule {
  IngestRun: new (db: DB, opts: { skipInvalid: boolean; waitMs?: number; dbPath?: string }) => {
    foldRecorded(name: string, lines: readonly string[]): { line: number; reason: string }[];
  };
}

// Loaded by a computed name so that the declaration build (tsconfig.types.json), which follows
// static imports, leaves ingest.ts out: some of IngestRun's members have types a declaration
// file cannot name.
const INGEST = "../ingest/ingest.js";
const { IngestRun } = (await import(INGEST)) as IngestModule;

/**
 * Folds lines into the database exactly as `obs ingest` folds a file's (IngestRun.foldRecorded:
 * one source, committed, the good lines written). Returns why each refused line was refused.
 */
export function foldLines(db: DB, source: string, lines: readonly string[]): string[] {
  // A producer waits briefly for another writer, then tries again at its next flush rather
  // than hold up the agent it records.
  return new IngestRun(db, { skipInvalid: true, waitMs: 2000, dbPath: db.name }).foldRecorded(source, lines).map((b) => b.reason);
}

/** The tables whose ids the record names, and the column saying which execution a row is of. */
const OWNER_COLUMN = {
  tasks: "execution_id",
  build_agent_instances: "execution_id",
  parallel_execution_waves: "execution_run_id",
  tool_uses: "execution_id",
} as const;
export type ScopedTable = keyof typeof OWNER_COLUMN;

/** The database copy: lines folded by obs's ingest, retried while the file cannot be written. */
export class DatabaseSink {
  private db: DB | undefined;
  private read: DB | undefined;
  private pending: string[] = [];
  private failing = false;
  private gaveUp = false;

  constructor(
    readonly dbPath: string,
    readonly jsonlPath: string,
    private readonly report: (m: string) => void,
  ) {}

  private open(): DB {
    if (!this.db) {
      this.db = openWritable(this.dbPath);
      // A producer waits briefly and tries again at its next flush rather than hold up an agent.
      this.db.pragma("busy_timeout = 2000");
    }
    return this.db;
  }

  /** Queues lines for the database and writes all that are queued; false when they wait for a later try. */
  write(lines: string[]): boolean {
    if (this.gaveUp) return false;
    this.pending.push(...lines);
    if (this.pending.length === 0) return true;
    try {
      const refused = foldLines(this.open(), `producer:${this.jsonlPath}`, this.pending);
      if (refused.length) {
        // A line the producer made that ingest refuses is a bug of the producer; the file keeps it and ingest names it.
        reportOnce(`bad:${this.dbPath}`, `${refused.length} line(s) for ${this.dbPath} were refused (${refused[0]}); they stay in ${this.jsonlPath}`, this.report);
      }
      if (this.failing) reportOnce(`back:${this.dbPath}`, `${this.dbPath} is written again; ${this.pending.length} waiting line(s) caught up`, this.report);
      this.failing = false;
      this.pending = [];
      return true;
    } catch (e) {
      const err = e as { code?: string; message: string };
      // A busy database keeps its connection (reopening it would wait for the lock again).
      if (err.code !== "SQLITE_BUSY" && err.code !== "SQLITE_LOCKED") {
        this.db?.close();
        this.db = undefined;
      }
      this.failing = true;
      // Busy (another program writing past the wait) is tried again; a file that is no database is not.
      const permanent = e instanceof UserError && err.code !== "SQLITE_BUSY";
      const why = err.code ? `${err.code}: ${err.message}` : err.message;
      reportOnce(`fail:${this.dbPath}`, `cannot write ${this.dbPath} (${why}); the record goes on in ${this.jsonlPath}` +
        (permanent ? "" : ", and the database is tried again at each flush") + ` — \`obs ingest ${this.jsonlPath}\` brings a database up to date`, this.report);
      if (permanent || this.pending.length > MAX_PENDING_LINES) {
        this.gaveUp = true;
        this.pending = [];
      }
      return false;
    }
  }

  get waiting(): number {
    return this.pending.length;
  }

  /**
   * A read-only connection for the lookups an agent's call makes (is the run known, is a tool id
   * another execution's): in WAL it never waits for a writer, so a database another process is
   * writing does not hold up the agent. Null when there is no database to read yet.
   */
  private reader(): DB | null {
    if (this.gaveUp) return null;
    if (this.read?.open) return this.read;
    if (!fs.existsSync(this.dbPath)) return null;
    try {
      this.read = new Database(this.dbPath, { readonly: true, fileMustExist: true });
      this.read.pragma("busy_timeout = 200");
      return this.read;
    } catch {
      return null;
    }
  }

  /** Whether the database has a row of `table` with this id; null when it cannot be read. */
  has(table: "task_list_execution_runs" | "tasks", id: string): boolean | null {
    try {
      const db = this.reader();
      return db ? Boolean(db.prepare(`SELECT 1 FROM ${table} WHERE id = ?`).get(id)) : null;
    } catch {
      return null;
    }
  }

  /** The execution a row of `table` with this id belongs to: undefined when there is none (or no database to read). */
  ownerOf(table: ScopedTable, id: string): string | null | undefined {
    try {
      const row = this.reader()?.prepare(`SELECT ${OWNER_COLUMN[table]} AS owner FROM ${table} WHERE id = ?`).get(id) as { owner: string | null } | undefined;
      return row ? row.owner : undefined;
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
    this.read?.close();
    this.read = undefined;
  }
}

/** The JSONL copy, appended a batch at a time (one write, so batches of several processes never interleave). */
export class JsonlFile {
  private fd: number | undefined;
  private pending: string[] = [];

  constructor(
    readonly file: string,
    private readonly report: (m: string) => void,
  ) {}

  append(lines: string[]): void {
    this.pending.push(...lines);
    if (this.pending.length === 0) return;
    try {
      if (this.fd === undefined) {
        fs.mkdirSync(path.dirname(this.file), { recursive: true });
        this.fd = fs.openSync(this.file, "a");
      }
      const buf = Buffer.from(this.pending.join("\n") + "\n");
      let off = 0;
      while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off);
      this.pending = [];
    } catch (e) {
      reportOnce(`jsonl:${this.file}`, `cannot append to ${this.file} (${(e as Error).message}); its lines are kept and tried again at each flush`, this.report);
      if (this.fd !== undefined) fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

export interface RecorderOptions {
  executionId: string;
  instanceId: string;
  waveId?: string;
  dbPath?: string;
  transcriptsDir?: string;
  flushIntervalMs?: number;
  /** false: write the JSONL only (obs ingest makes the rows later). */
  database?: boolean;
  /** Where problems are said (default: stderr). */
  report?: (message: string) => void;
  /** Told of every line as it is recorded (the stream service listens here). */
  onLine?: (line: Record<string, unknown>) => void;
}

export interface Stamp {
  sequence: number;
  timestamp: string;
}

/** Writers still open when the process exits are flushed then: the record keeps what was written. */
const open = new Set<Recorder>();
let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on("exit", () => {
    for (const r of [...open]) r.close();
  });
}

export class Recorder {
  readonly executionId: string;
  readonly instanceId: string;
  readonly waveId: string | undefined;
  readonly dbPath: string;
  readonly jsonlPath: string;
  readonly flushIntervalMs: number;
  private readonly counter: SequenceCounter;
  private readonly jsonl: JsonlFile;
  private readonly sink: DatabaseSink | undefined;
  private readonly onLine: ((line: Record<string, unknown>) => void) | undefined;
  private buffer: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private registered = false;
  private readonly tasks = new Set<string>();

  constructor(o: RecorderOptions) {
    if (typeof o.executionId !== "string" || o.executionId === "") throw new TypeError("executionId must be a non-empty string");
    if (typeof o.instanceId !== "string" || o.instanceId === "") throw new TypeError("instanceId must be a non-empty string");
    const d = defaultPaths();
    this.executionId = o.executionId;
    this.instanceId = o.instanceId;
    this.waveId = o.waveId;
    this.dbPath = o.dbPath ?? d.dbPath;
    const dir = path.join(o.transcriptsDir ?? d.transcriptsDir, executionDir(o.executionId));
    this.jsonlPath = path.join(dir, "unified.jsonl");
    this.flushIntervalMs = o.flushIntervalMs ?? DEFAULT_FLUSH_MS;
    const report = o.report ?? ((m: string) => void process.stderr.write(m));
    this.counter = new SequenceCounter(path.join(dir, "unified.seq"), o.executionId, () =>
      Math.max(maxSequenceInJsonl(this.jsonlPath, o.executionId), o.database === false ? 0 : maxSequenceInDb(this.dbPath, o.executionId)),
    );
    this.jsonl = new JsonlFile(this.jsonlPath, report);
    this.sink = o.database === false ? undefined : new DatabaseSink(this.dbPath, this.jsonlPath, report);
    this.onLine = o.onLine;
    if (this.flushIntervalMs > 0) {
      this.timer = setInterval(() => this.flush(), this.flushIntervalMs);
      this.timer.unref();
    }
    open.add(this);
    hookExit();
  }

  private check(): void {
    if (this.closed) throw new Error(`the transcript writer of ${this.executionId} is closed`);
  }

  private readonly scopes = new Map<string, string>();

  /**
   * The id a name the agent brings (a task, its own instance, a wave, a tool call's id) has in
   * this execution. Ids are an execution's own, as ingest keeps them: a name another execution's
   * row already has is `<name>@<execution>` here (the first answer holds for the writer). Named
   * so in the JSONL itself, both copies of the record agree on it.
   */
  scoped(table: ScopedTable, id: string): string {
    const key = `${table}\u0000${id}`;
    let out = this.scopes.get(key);
    if (out === undefined) {
      const owner = this.sink?.ownerOf(table, id);
      out = typeof owner === "string" && owner !== this.executionId ? `${id}@${this.executionId}` : id;
      this.scopes.set(key, out);
    }
    return out;
  }

  /** The fields every line carries (the names it gives already scoped). */
  private base(timestamp: string, taskId?: string | null, waveId?: string | null): Record<string, unknown> {
    const out: Record<string, unknown> = { execution_id: this.executionId, timestamp, instance_id: this.scoped("build_agent_instances", this.instanceId) };
    if (taskId) out.task_id = taskId;
    const wave = waveId ?? this.waveId;
    if (wave) out.wave_id = this.scoped("parallel_execution_waves", wave);
    return out;
  }

  private push(line: Record<string, unknown>): void {
    this.buffer.push(JSON.stringify(line));
    this.onLine?.(line);
  }

  /** Takes the next sequence of the execution, with its timestamp, for an entry about to be written. */
  stampEntry(): Stamp {
    this.check();
    return this.counter.next();
  }

  /**
   * A record names its execution and tasks, and `obs validate` finds every reference that points
   * nowhere; so the first line of an execution (unless the database already has its run) says
   * it started, and a task the record names before it says anything of it is recorded as running.
   */
  private register(taskId: string | null | undefined, isTaskLine: boolean): void {
    if (!this.registered) {
      this.registered = true;
      const known = this.sink?.has("task_list_execution_runs", this.executionId) ?? null;
      const fresh = known === false || (known === null && !(fs.existsSync(this.jsonlPath) && fs.statSync(this.jsonlPath).size > 0));
      if (fresh) this.push({ kind: "execution:status", ...this.base(isoNow()), status: "started" });
    }
    if (taskId && !this.tasks.has(taskId)) {
      this.tasks.add(taskId);
      if (!isTaskLine && this.sink?.has("tasks", taskId) !== true) {
        this.push({ kind: "task:status", ...this.base(isoNow(), taskId), status: "running" });
      }
    }
  }

  /** Records a line of `kind` (values made JSON-safe), stamped now unless a stamp is given. */
  line(kind: string, fields: Record<string, unknown>, ctx: { taskId?: string | null; waveId?: string | null; timestamp?: string } = {}): Record<string, unknown> {
    this.check();
    const task = ctx.taskId ? this.scoped("tasks", ctx.taskId) : null;
    this.register(task, kind === "task:status");
    const line = { kind, ...this.base(ctx.timestamp ?? isoNow(), task, ctx.waveId), ...(jsonable(fields) as Record<string, unknown>) };
    this.push(line);
    return line;
  }

  /** Current sequence of the execution: the highest any writer has taken. */
  currentSequence(): number {
    return this.counter.current();
  }

  /** Writes what is buffered: the JSONL first, then the database (or keeps it for the next try). */
  flush(): void {
    const lines = this.buffer;
    this.buffer = [];
    this.jsonl.append(lines);
    this.sink?.write(lines);
  }

  get waitingForDatabase(): number {
    return this.sink?.waiting ?? 0;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.jsonl.close();
    this.sink?.close();
    this.counter.close();
    open.delete(this);
  }
}

