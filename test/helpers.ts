import { spawnSync, spawn, type SpawnSyncReturns } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { run } from "../src/cli.js";
import type { IO } from "../src/io.js";
import { openReadOnly, type DB } from "../src/db/open.js";
import { openWritable } from "../src/db/write.js";

/** The repository root (tests run from dist/test/). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const BIN = path.join(ROOT, "bin", "obs.js");

/** The temporary directories this test file made: removed when its process ends, whatever the outcome. */
const made: string[] = [];
process.on("exit", () => {
  for (const dir of made) {
    try {
      fs.chmodSync(dir, 0o700); // a test may have left it read-only
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      /* already gone, or still held by a process the test started: the OS's /tmp cleaning takes it */
    }
  }
});

export function tmpDir(prefix = "obs-test-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function tmpDb(): string {
  return path.join(tmpDir(), "obs.db");
}

/** Writes JSONL lines (objects or raw strings) to a file and returns its path. */
export function writeJsonl(file: string, lines: (object | string)[], trailingNewline = true): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const text = lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n");
  fs.writeFileSync(file, text + (trailingNewline && lines.length ? "\n" : ""));
  return file;
}

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with a captured IO, as a pipe (or as a TTY). */
export async function cli(argv: string[], o: { tty?: boolean; columns?: number; env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<Captured> {
  let stdout = "";
  let stderr = "";
  const io: IO = {
    out: (t) => void (stdout += t),
    err: (t) => void (stderr += t),
    isTTY: Boolean(o.tty),
    errIsTTY: false,
    columns: o.columns ?? 120,
    color: false,
    env: { ...(o.env ?? {}) },
    stdin: Readable.from([Buffer.from(o.stdin ?? "")]),
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

/** Spawns the built CLI, as a user would. */
export function spawnCli(args: string[], o: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Captured {
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    input: o.input,
    cwd: o.cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", COLUMNS: "120", TZ: "UTC", ...(o.env ?? {}) },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export { spawn };

/**
 * Another process holding a new file's write lock (BEGIN IMMEDIATE, in the rollback journal a new
 * file starts in), as one switching the file to WAL does, for `ms` once it says it holds it.
 * Resolves when it holds the lock, with the time it let go to come (Date.now() in that process,
 * just before: nothing else can have had the lock by then).
 */
export async function holdWriteLock(file: string, ms: number): Promise<{ released: Promise<number> }> {
  const c = spawn(process.execPath, ["--input-type=module", "-e", `
    import { createRequire } from "node:module";
    const Database = createRequire(${JSON.stringify(path.join(ROOT, "package.json"))})("better-sqlite3");
    const db = new Database(process.argv[1]);
    db.exec("BEGIN IMMEDIATE");
    process.stdout.write("held\\n");
    setTimeout(() => { const at = Date.now(); db.exec("COMMIT"); db.close(); process.stdout.write("released " + at + "\\n"); }, ${ms});
  `, file], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  c.stdout!.on("data", (d) => (out += d));
  c.stderr!.on("data", (d) => (err += d));
  const closed = new Promise<number>((resolve, reject) =>
    c.on("close", (code) => {
      const m = /^released (\d+)$/m.exec(out);
      if (code === 0 && m) resolve(Number(m[1]));
      else reject(new Error(`the process holding ${file} failed (exit ${code}): ${err}`));
    }),
  );
  await new Promise<void>((resolve, reject) => {
    c.stdout!.on("data", () => out.includes("held\n") && resolve());
    closed.catch(reject);
  });
  return { released: closed };
}

/** Ingests lines into a database through the real ingest command; fails the test on an error. */
export async function ingestLines(dbPath: string, lines: (object | string)[], extra: string[] = []): Promise<Captured> {
  const file = writeJsonl(path.join(tmpDir(), "events.jsonl"), lines);
  const r = await cli(["ingest", file, "--db", dbPath, ...extra]);
  if (r.code !== 0 && !extra.includes("--allow-fail")) throw new Error(`ingest failed (${r.code}): ${r.stderr}`);
  return r;
}

export function withDb<T>(dbPath: string, f: (db: DB) => T): T {
  const db = openReadOnly(dbPath);
  try {
    return f(db);
  } finally {
    db.close();
  }
}

export function all(dbPath: string, sql: string, ...params: unknown[]): Record<string, unknown>[] {
  return withDb(dbPath, (db) => db.prepare(sql).all(...params) as Record<string, unknown>[]);
}

export function one(dbPath: string, sql: string, ...params: unknown[]): Record<string, unknown> | undefined {
  return withDb(dbPath, (db) => db.prepare(sql).get(...params) as Record<string, unknown> | undefined);
}

export function freshDb(): { path: string; db: DB } {
  const p = tmpDb();
  return { path: p, db: openWritable(p) };
}

/** A small event builder: common fields filled in, time advancing by `step` ms per call unless given. */
export function events(executionId: string, startIso = "2026-01-16T09:00:00.000Z") {
  let t = Date.parse(startIso);
  const at = (offsetMs?: number) => new Date(offsetMs === undefined ? t : Date.parse(startIso) + offsetMs).toISOString();
  return {
    ev(kind: string, fields: Record<string, unknown>, offsetMs?: number): Record<string, unknown> {
      const ts = at(offsetMs);
      if (offsetMs === undefined) t += 1000;
      return { kind, execution_id: executionId, timestamp: ts, ...fields };
    },
  };
}

const PYTHON = process.env.PYTHON || "python3";

/** Runs python3 (or $PYTHON) with a small, pinned environment, as the Python producers' tests do. */
export function python(args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(PYTHON, args, {
    cwd: o.cwd ?? ROOT,
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: "C.UTF-8", PYTHONIOENCODING: "utf-8", ...o.env },
    timeout: 600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw new Error(`cannot run ${PYTHON} (${r.error.message}): the Python producers' tests need python3 on PATH`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Every row of `tables` as comparable text, sorted, so two databases can be compared whole:
 * when and from which file a row was written (created_at, source) is not what it holds.
 */
export function tableRows(dbPath: string, tables: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const t of tables) {
    out[t] = all(dbPath, `SELECT * FROM ${t}`).map((r) => {
      const { source: _s, created_at: _c, ...rest } = r as Record<string, unknown>;
      return JSON.stringify(rest);
    }).sort();
  }
  return out;
}

/**
 * Every row of every table (the search index's own storage and obs_meta aside), in primary-key
 * order, as text, for comparing two databases whole, sequence numbers included: when a row was
 * written (created_at, ingested_at) is left out, and `replace` rewrites text in it (a file's
 * folder, the checkout's path), as does `skip` leave out tables.
 */
export function everyRow(dbPath: string, o: { replace?: [string, string][]; skip?: string[] } = {}): Record<string, string[]> {
  return withDb(dbPath, (db) => {
    const out: Record<string, string[]> = {};
    const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
    for (const t of tables) {
      if (/^search_fts_/.test(t) || t === "obs_meta" || o.skip?.includes(t)) continue;
      const cols = db.prepare(`SELECT name, pk FROM pragma_table_info(?)`).all(t) as { name: string; pk: number }[];
      const key = cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => `"${c.name}"`);
      const order = (key.length ? key : cols.map((c) => `"${c.name}"`)).join(", ");
      out[t] = (db.prepare(`SELECT * FROM "${t}" ORDER BY ${order}`).all() as Record<string, unknown>[]).map((r) => {
        const { created_at: _c, ingested_at: _i, ...rest } = r;
        let text = JSON.stringify(rest);
        for (const [from, to] of o.replace ?? []) text = text.split(JSON.stringify(from).slice(1, -1)).join(to);
        return text;
      });
    }
    return out;
  });
}
