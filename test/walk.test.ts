/**
 * How ingest reads its sources when the file system does not cooperate: a file it may not
 * read, a file removed between the walk and its reading. The CLI is spawned as a user would run
 * it; files are real.
 *
 * A file's mode keeps out only a user who is not root: as root, obs is run as nobody through
 * setpriv (util-linux), and a test that needs it fails, saying so, when it is missing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { all, BIN, tmpDir } from "./helpers.js";

/** One line of obs's stream: an execution that started. */
function started(id: string): string {
  return JSON.stringify({ kind: "execution:status", execution_id: id, timestamp: "2026-01-16T09:30:00Z", status: "started" }) + "\n";
}

/** A folder that nobody (the user obs runs as, when the tests run as root) may read and write. */
function sharedDir(): string {
  const dir = tmpDir("obs-walk-");
  fs.chmodSync(dir, 0o777);
  return dir;
}

/** The command that runs obs as a user whom a file's mode keeps out. */
function unprivileged(): string[] {
  if (process.getuid?.() !== 0) return [process.execPath, BIN];
  const as = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
  const probe = spawnSync(as[0]!, [...as.slice(1), process.execPath, "-e", "process.exit(process.getuid() === 65534 ? 0 : 1)"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    assert.fail(`these tests run as root, where a file's mode keeps nothing out: they need setpriv (util-linux) to run obs as nobody, and it failed (${probe.error?.message ?? probe.stderr})`);
  }
  return [...as, process.execPath, BIN];
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs obs (by `cmd`, as given by unprivileged() or plain), failing the test if it hangs. */
function run(args: string[], o: { cmd?: string[]; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Ran {
  const cmd = o.cmd ?? [process.execPath, BIN];
  const r = spawnSync(cmd[0]!, [...cmd.slice(1), ...args], {
    encoding: "utf8",
    cwd: o.cwd,
    timeout: 60_000,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", TZ: "UTC", ...(o.env ?? {}) },
  });
  if (r.error) assert.fail(`obs ${args.join(" ")} did not finish: ${r.error.message}\n${r.stderr}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const executions = (db: string) => all(db, `SELECT id FROM task_list_execution_runs ORDER BY id`).map((r) => r.id);
const logged = (db: string) => all(db, `SELECT path FROM ingest_log ORDER BY path`).map((r) => r.path);
/** The lines of stderr that name `what`. */
const naming = (stderr: string, what: string) => stderr.split("\n").filter((l) => l.includes(what));

test("a file obs may not read fails alone: one line naming it and what to do, the other files are read, exit 2", () => {
  const obs = unprivileged();
  const dir = sharedDir();
  const d = path.join(dir, "d");
  fs.mkdirSync(d, { mode: 0o777 });
  for (const e of ["a", "b", "c"]) fs.writeFileSync(path.join(d, `${e}.jsonl`), started(e));
  fs.chmodSync(path.join(d, "b.jsonl"), 0o000);
  const db = path.join(dir, "obs.db");

  const r = run(["ingest", "--db", db, d], { cmd: obs });
  assert.equal(r.code, 2, r.stderr);
  const b = path.join(d, "b.jsonl");
  assert.deepEqual(naming(r.stderr, b), [`obs: ${b}: cannot read it (permission denied): nothing of it written; check its permissions`]);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  assert.match(r.stderr, /^ingested 3 sources: 2 lines, 2 events/m, "the summary is said, counting the failed source");
  assert.deepEqual(executions(db), ["a", "c"]);
  assert.deepEqual(logged(db), [path.join(d, "a.jsonl"), path.join(d, "c.jsonl")]);

  // Named on the command line, the same; --json lists it in failed_sources with its reason.
  const db2 = path.join(dir, "obs2.db");
  const j = run(["ingest", "--json", "--db", db2, b, path.join(d, "c.jsonl")], { cmd: obs });
  assert.equal(j.code, 2, j.stderr);
  const stats = JSON.parse(j.stdout);
  assert.deepEqual(stats.failed_sources, [b]);
  assert.equal(stats.sources, 2);
  assert.match(stats.sources_detail[0].reason, /^cannot read it \(permission denied\)/);
  assert.deepEqual(executions(db2), ["c"]);
});

test("a file removed between the walk that found it and its reading fails alone, named, and the rest is read", async () => {
  // obs reads `-` first, and reads no source before it walked them all: while it waits on its
  // standard input, the walk is done and nothing read; that is when the files are removed.
  const dir = tmpDir();
  const d = path.join(dir, "d");
  fs.mkdirSync(d);
  for (const e of ["a", "b", "c"]) fs.writeFileSync(path.join(d, `${e}.jsonl`), started(e));
  const named = path.join(dir, "named.jsonl");
  fs.writeFileSync(named, started("n"));
  const db = path.join(dir, "obs.db");
  const child = spawn(process.execPath, [BIN, "ingest", "--json", "--db", db, "-", named, d], { env: { PATH: process.env.PATH, NO_COLOR: "1" }, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (x) => (stdout += x));
  child.stderr!.on("data", (x) => (stderr += x));
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  // The database is made after the walk, before any source is read.
  for (let i = 0; i < 400 && !fs.existsSync(db); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(fs.existsSync(db), `obs never made its database: ${stderr}`);
  fs.unlinkSync(path.join(d, "b.jsonl"));
  fs.unlinkSync(named);
  child.stdin!.end(started("s"));
  assert.equal(await exited, 2, stderr);

  const b = path.join(d, "b.jsonl");
  assert.deepEqual(naming(stderr, b), [`obs: ${b}: it was removed while obs read the folder: nothing of it written`]);
  assert.deepEqual(naming(stderr, named), [`obs: ${named}: it was removed while obs was reading: nothing of it written`]);
  assert.doesNotMatch(stderr, /internal error|cannot read .*ENOENT/);
  const stats = JSON.parse(stdout);
  assert.deepEqual(stats.failed_sources, [named, b]);
  assert.equal(stats.sources, 5);
  assert.deepEqual(executions(db), ["a", "c", "s"]);
});
