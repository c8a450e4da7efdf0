/**
 * How ingest finds and reads its sources when the file system does not cooperate: a file or
 * folder it may not read, a file removed between the walk and its reading, links (followed, each
 * file once, loops walked once, dangling ones said), pipes and devices (never read from a walk;
 * refused with a hint when named); and the same under --follow. The CLI is spawned as a user
 * would run it; files are real.
 *
 * A file's mode keeps out only a user who is not root: as root, obs is run as nobody through
 * setpriv (util-linux), and a test that needs it fails, saying so, when it is missing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { all, BIN, one, tmpDir } from "./helpers.js";

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
/** Waits until a follower has written execution `id` (10 s at most), else fails with what it said. */
async function runRead(db: string, id: string, stderr: () => string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    try {
      // Only once the follower has made the file's -shm: a reader (root, in these tests) opening it
      // before would make it, root's, and the follower could no longer write the file.
      if (fs.existsSync(`${db}-shm`) && one(db, `SELECT 1 AS n FROM task_list_execution_runs WHERE id = ?`, id)) return;
    } catch {
      /* the follower has not made its tables yet */
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`${id} was never read; stderr: ${stderr()}`);
}

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
  assert.match(r.stderr, /^ingested 3 sources \(1 failed\): 2 lines, 2 events/m, "the summary is said, counting the failed source");
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

test("a folder obs may not read fails alone, named in one line, no stack; the rest of the walk is read", () => {
  const obs = unprivileged();
  const dir = sharedDir();
  const d = path.join(dir, "d");
  fs.mkdirSync(path.join(d, "sub"), { recursive: true, mode: 0o777 });
  fs.chmodSync(d, 0o777);
  fs.writeFileSync(path.join(d, "a.jsonl"), started("a"));
  fs.writeFileSync(path.join(d, "sub", "hidden.jsonl"), started("hidden"));
  fs.writeFileSync(path.join(d, "z.jsonl"), started("z"));
  fs.chmodSync(path.join(d, "sub"), 0o000);
  const db = path.join(dir, "obs.db");

  const r = run(["ingest", "--json", "--db", db, d], { cmd: obs });
  assert.equal(r.code, 2, r.stderr);
  const sub = path.join(d, "sub");
  assert.deepEqual(naming(r.stderr, sub), [`obs: ${sub}: cannot read this folder (permission denied): nothing in it read; check its permissions`]);
  assert.doesNotMatch(r.stderr, /internal error|scandir|\n\s+at /);
  assert.deepEqual(JSON.parse(r.stdout).failed_sources, [sub]);
  assert.deepEqual(executions(db), ["a", "z"]);

  // The folder named itself: it fails, and a file named after it is read.
  const other = path.join(dir, "other.jsonl");
  fs.writeFileSync(other, started("o"));
  const db2 = path.join(dir, "obs2.db");
  const r2 = run(["ingest", "--db", db2, sub, other], { cmd: obs });
  assert.equal(r2.code, 2, r2.stderr);
  assert.deepEqual(naming(r2.stderr, sub), [`obs: ${sub}: cannot read this folder (permission denied): nothing in it read; check its permissions`]);
  assert.deepEqual(executions(db2), ["o"]);
});

test("--follow: a folder and a file obs may not read are each said once, the rest is followed, and one readable again is read; exit 2", async (t) => {
  const obs = unprivileged();
  const dir = sharedDir();
  const d = path.join(dir, "d");
  fs.mkdirSync(path.join(d, "sub"), { recursive: true, mode: 0o777 });
  fs.chmodSync(d, 0o777);
  fs.writeFileSync(path.join(d, "a.jsonl"), started("a"));
  fs.writeFileSync(path.join(d, "b.jsonl"), started("b"));
  fs.writeFileSync(path.join(d, "sub", "hidden.jsonl"), started("hidden"));
  fs.chmodSync(path.join(d, "b.jsonl"), 0o000);
  fs.chmodSync(path.join(d, "sub"), 0o000);
  const db = path.join(dir, "obs.db");
  const child = spawn(obs[0]!, [...obs.slice(1), "ingest", "--follow", "--json", "--db", db, d], { env: { PATH: process.env.PATH, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (x) => (stdout += x));
  child.stderr!.on("data", (x) => (stderr += x));
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  const waitFor = (id: string) => runRead(db, id, () => stderr);
  await waitFor("a");
  // A file that appears later is followed: the follower did not stop at what it could not read.
  fs.writeFileSync(path.join(d, "c.jsonl"), started("c"));
  fs.chmodSync(path.join(d, "c.jsonl"), 0o644);
  await waitFor("c");
  // Many looks later, still said once each.
  await new Promise((r) => setTimeout(r, 300));
  const sub = path.join(d, "sub");
  const b = path.join(d, "b.jsonl");
  assert.deepEqual(naming(stderr, sub), [`obs: ${sub}: cannot read this folder (permission denied): nothing in it read; check its permissions; following the rest`]);
  assert.deepEqual(naming(stderr, b), [`obs: ${b}: cannot read it (permission denied): nothing of it written; check its permissions; following the rest`]);
  // Readable again, it is read, and no longer failed.
  fs.chmodSync(b, 0o644);
  await waitFor("b");
  child.kill("SIGINT");
  assert.equal(await exited, 2, stderr);
  assert.doesNotMatch(stderr, /internal error|\n\s+at /);
  const stats = JSON.parse(stdout);
  assert.deepEqual(stats.failed_sources, [sub]);
  assert.deepEqual(executions(db), ["a", "b", "c"]);
});

test("walks follow links to files and folders: a linked project folder in the default places is read, and two places that are one folder are read once", () => {
  const home = tmpDir("obs-home-");
  const elsewhere = tmpDir("obs-elsewhere-");
  fs.mkdirSync(path.join(elsewhere, "-w-app"));
  fs.writeFileSync(path.join(elsewhere, "-w-app", "s1.jsonl"), started("s1"));
  fs.mkdirSync(path.join(home, ".claude", "projects"), { recursive: true });
  fs.symlinkSync(path.join(elsewhere, "-w-app"), path.join(home, ".claude", "projects", "-w-app"));
  // The XDG place a link to the other: one folder, read once.
  fs.mkdirSync(path.join(home, ".config"));
  fs.symlinkSync(path.join(home, ".claude"), path.join(home, ".config", "claude"));
  const db = path.join(tmpDir(), "obs.db");
  const r = run(["ingest", "--db", db], { env: { HOME: home } });
  assert.equal(r.code, 0, r.stderr);
  const projects = path.join(home, ".claude", "projects");
  const xdg = path.join(home, ".config", "claude", "projects");
  assert.match(r.stderr, new RegExp(`reading Claude Code sessions in ${projects} \\(1 file\\), Claude Code sessions in ${xdg} \\(0 files\\)`));
  assert.deepEqual(naming(r.stderr, `${xdg}:`), [`obs: ${xdg}: the same folder as ${projects}; read once, as ${projects}`]);
  assert.match(r.stderr, /^ingested 1 source: 1 lines/m);
  assert.deepEqual(executions(db), ["s1"]);
  assert.deepEqual(logged(db), [path.join(projects, "-w-app", "s1.jsonl")]);
});

test("a walk walks a loop once and reads a file under two names once; a dangling link is said and passed over, not a failure", () => {
  const dir = tmpDir();
  const d = path.join(dir, "d");
  const outside = path.join(dir, "outside");
  fs.mkdirSync(path.join(d, "sub"), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(d, "a.jsonl"), started("a"));
  fs.writeFileSync(path.join(d, "sub", "c.jsonl"), started("c"));
  fs.writeFileSync(path.join(outside, "x.jsonl"), started("x"));
  fs.symlinkSync("..", path.join(d, "sub", "up")); // back up the tree, relative
  fs.symlinkSync(d, path.join(d, "sub", "root")); // back up the tree, absolute
  fs.symlinkSync("a.jsonl", path.join(d, "latest.jsonl")); // a second name for a.jsonl
  fs.symlinkSync(path.join(outside, "x.jsonl"), path.join(d, "x.jsonl")); // only reachable by its link
  fs.symlinkSync(path.join(dir, "nowhere.jsonl"), path.join(d, "gone.jsonl"));
  fs.symlinkSync(path.join(dir, "no-such-folder"), path.join(d, "gone-folder"));
  fs.symlinkSync("circle", path.join(d, "circle")); // a link to itself
  const db = path.join(dir, "obs.db");
  const r = run(["ingest", "--db", db, d]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(executions(db), ["a", "c", "x"]);
  assert.deepEqual(logged(db), [path.join(d, "a.jsonl"), path.join(d, "sub", "c.jsonl"), path.join(d, "x.jsonl")], "each file read once, under its first name");
  assert.match(r.stderr, /^ingested 3 sources: 3 lines/m);
  const noted = (p: string) => naming(r.stderr, `${path.join(d, p)}:`);
  assert.deepEqual(noted("latest.jsonl"), [`obs: ${path.join(d, "latest.jsonl")}: the same file as ${path.join(d, "a.jsonl")}; read once, as ${path.join(d, "a.jsonl")}`]);
  assert.deepEqual(noted("sub/up"), [`obs: ${path.join(d, "sub", "up")}: the same folder as ${d}; read once, as ${d}`]);
  assert.deepEqual(noted("sub/root"), [`obs: ${path.join(d, "sub", "root")}: the same folder as ${d}; read once, as ${d}`]);
  assert.deepEqual(noted("gone.jsonl"), [`obs: ${path.join(d, "gone.jsonl")}: a link to ${path.join(dir, "nowhere.jsonl")}, which is not there; passed over`]);
  assert.deepEqual(noted("gone-folder"), [`obs: ${path.join(d, "gone-folder")}: a link to ${path.join(dir, "no-such-folder")}, which is not there; passed over`]);
  assert.deepEqual(noted("circle"), [`obs: ${path.join(d, "circle")}: a link to circle, which leads round in a circle; passed over`]);

  // A folder of nothing but dangling links holds no records: said, and the usage error it is.
  const empty = path.join(dir, "empty");
  fs.mkdirSync(empty);
  fs.symlinkSync(path.join(dir, "nowhere.jsonl"), path.join(empty, "gone.jsonl"));
  const e = run(["ingest", "--db", db, empty]);
  assert.equal(e.code, 2, e.stderr);
  assert.match(e.stderr, /gone\.jsonl: a link to .*nowhere\.jsonl, which is not there; passed over\nobs: no records under /);
});

test("pipes and devices found by a walk, linked or not, are passed over with a note and never read", () => {
  const dir = tmpDir();
  const d = path.join(dir, "d");
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, "a.jsonl"), started("a"));
  const fifo = path.join(dir, "fifo");
  const mk = spawnSync("mkfifo", [fifo, path.join(d, "pipe.jsonl")], { encoding: "utf8" });
  assert.equal(mk.status, 0, `this test needs mkfifo (coreutils) to make a pipe: ${mk.error?.message ?? mk.stderr}`);
  fs.symlinkSync(fifo, path.join(d, "linked-pipe.jsonl"));
  fs.symlinkSync("/dev/zero", path.join(d, "zero.jsonl"));
  const db = path.join(dir, "obs.db");
  // A pipe opened for reading waits for a writer that never comes: run() fails the test if obs hangs.
  const r = run(["ingest", "--db", db, d]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(executions(db), ["a"]);
  assert.deepEqual(naming(r.stderr, "pipe.jsonl:").sort(), [
    `obs: ${path.join(d, "linked-pipe.jsonl")}: a link to ${fifo}, a pipe (FIFO), not a file; passed over`,
    `obs: ${path.join(d, "pipe.jsonl")}: a pipe (FIFO), not a file; passed over`,
  ]);
  assert.deepEqual(naming(r.stderr, "zero.jsonl:"), [`obs: ${path.join(d, "zero.jsonl")}: a link to /dev/zero, a character device, not a file; passed over`]);
  assert.match(r.stderr, /^ingested 1 source: 1 lines/m);
});

test("a pipe named as a source (<(command), a FIFO) is refused with the hint to use -, exit 2; --follow too", () => {
  const dir = tmpDir();
  const file = path.join(dir, "f.jsonl");
  fs.writeFileSync(file, started("f"));
  const db = path.join(dir, "obs.db");
  const bash = spawnSync("bash", ["--norc", "--noprofile", "-c", `"$0" "$1" ingest --db "$2" <(cat "$3")`, process.execPath, BIN, db, file], { encoding: "utf8", timeout: 60_000, env: { PATH: process.env.PATH, NO_COLOR: "1" } });
  assert.ok(!bash.error, `this test needs bash for <(command): ${bash.error?.message}`);
  assert.equal(bash.status, 2, bash.stderr);
  assert.match(bash.stderr, /^obs: \/dev\/fd\/\d+ is a pipe \(as <\(command\) makes\), not a file; obs reads a pipe as standard input\n {2}use - \(standard input\): command \| obs ingest -\n$/);
  assert.ok(!fs.existsSync(db), "nothing read, nothing made");

  const fifo = path.join(dir, "p.jsonl");
  const mk = spawnSync("mkfifo", [fifo], { encoding: "utf8" });
  assert.equal(mk.status, 0, `this test needs mkfifo (coreutils) to make a pipe: ${mk.error?.message ?? mk.stderr}`);
  const r = run(["ingest", "--db", db, fifo]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, `obs: ${fifo} is a pipe, not a file; obs reads a pipe as standard input\n  use - (standard input): obs ingest - < ${fifo}\n`);
  const f = run(["ingest", "--follow", "--db", db, fifo]);
  assert.equal(f.code, 2, f.stderr);
  assert.equal(f.stderr, `obs: ${fifo} is a pipe, not a file; obs reads a pipe as standard input\n  --follow reads files and folders; read a pipe once, without it: obs ingest - < ${fifo}\n`);
  const z = run(["ingest", "--db", db, "/dev/zero"]);
  assert.equal(z.code, 2, z.stderr);
  assert.equal(z.stderr, "obs: /dev/zero is a character device, not a file\n  obs reads files, folders, and - (standard input)\n");
  assert.ok(!fs.existsSync(db), "nothing read, nothing made");
});

test("--follow walks linked folders and a loop in them, saying a dangling link once, and reads a followed file under its first name only", async (t) => {
  const dir = tmpDir();
  const d = path.join(dir, "d");
  const real = path.join(dir, "real");
  fs.mkdirSync(d);
  fs.mkdirSync(real);
  fs.writeFileSync(path.join(real, "r.jsonl"), started("r"));
  fs.symlinkSync(real, path.join(d, "proj"));
  fs.symlinkSync(d, path.join(real, "back")); // d/proj/back is d again
  fs.symlinkSync(path.join(dir, "nowhere.jsonl"), path.join(d, "gone.jsonl"));
  const db = path.join(dir, "obs.db");
  const child = spawn(process.execPath, [BIN, "ingest", "--follow", "--db", db, d], { env: { PATH: process.env.PATH, NO_COLOR: "1" }, stdio: ["ignore", "ignore", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  let stderr = "";
  child.stderr!.on("data", (x) => (stderr += x));
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  const waitFor = (id: string) => runRead(db, id, () => stderr);
  await waitFor("r");
  fs.appendFileSync(path.join(real, "r.jsonl"), started("r2"));
  await waitFor("r2");
  // A second name for the followed file, made later and walked before it: passed over, said once.
  fs.symlinkSync(path.join(real, "r.jsonl"), path.join(d, "a.jsonl"));
  await new Promise((r) => setTimeout(r, 300));
  fs.appendFileSync(path.join(real, "r.jsonl"), started("r3"));
  await waitFor("r3");
  await new Promise((r) => setTimeout(r, 200));
  child.kill("SIGINT");
  assert.equal(await exited, 0, stderr);
  assert.deepEqual(naming(stderr, "r.jsonl"), [`obs: ${path.join(d, "a.jsonl")}: the same file as ${path.join(d, "proj", "r.jsonl")}; read once, as ${path.join(d, "proj", "r.jsonl")}`]);
  assert.deepEqual(naming(stderr, "gone.jsonl:"), [`obs: ${path.join(d, "gone.jsonl")}: a link to ${path.join(dir, "nowhere.jsonl")}, which is not there; passed over`]);
  assert.deepEqual(naming(stderr, "back:"), [`obs: ${path.join(d, "proj", "back")}: the same folder as ${d}; read once, as ${d}`]);
  assert.deepEqual(logged(db), [path.join(d, "proj", "r.jsonl")]);
});
