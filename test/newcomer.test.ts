/**
 * Every command as a newcomer meets it on the demo: mistyped query ids, flag values checked,
 * a finished task's blockers, two executions compared, global options before the command.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { spawnCli, tmpDir } from "./helpers.js";

let db = "";
before(() => {
  db = path.join(tmpDir(), "demo.db");
  const r = spawnCli(["demo", "--db", db]);
  assert.equal(r.code, 0, r.stderr);
});
const obs = (...args: string[]) => spawnCli([...args, "--db", db]);

test("obs query: a mistyped id gets the closest, an ambiguous prefix lists what it starts", () => {
  const typo = obs("query", "V040", "exec-103");
  assert.equal(typo.code, 2);
  assert.equal(typo.stdout, "");
  // V040 is V004 with two digits swapped: one slip away, the closest.
  assert.match(typo.stderr, /^obs: no query 'V040'\n {2}closest: V004, /);
  const amb = obs("query", "V00", "exec-103");
  assert.equal(amb.code, 2);
  assert.match(amb.stderr, /^obs: query 'V00' is ambiguous: it starts 7 ids\n {2}did you mean V001, V002, V003, V004, V005, V006, V007\?/);
  const prefix = obs("query", "P00", "exec-103");
  assert.match(prefix.stderr, /ambiguous: it starts 7 ids/);
  const one = obs("query", "i00", "--sql");
  assert.match(one.stderr, /ambiguous/);
  const exact = obs("query", "v004", "exec-103", "--json");
  assert.equal(exact.code, 0, exact.stderr);
  assert.equal(JSON.parse(exact.stdout).length, 1, "V004 finds exec-103's one unreleased lock");
});

test("flag values are checked: ls --status, waves --silent without a unit, export --json and --jsonl --otlp", () => {
  const status = obs("ls", "--status", "bogus");
  assert.equal(status.code, 2);
  assert.equal(status.stdout, "");
  assert.match(status.stderr, /^obs: --status must be a run's status, got 'bogus'\n {2}the statuses: started, running, paused, completed, failed$/m);
  const failed = obs("ls", "--status", "failed", "--json");
  assert.deepEqual(JSON.parse(failed.stdout).map((r: { execution_id: string }) => r.execution_id), ["exec-103"]);

  const silent = obs("waves", "exec-103", "--silent", "5");
  assert.equal(silent.code, 2);
  assert.match(silent.stderr, /^obs: --silent needs a unit: 5ms, 5s, 5m or 5h\?$/m);
  assert.equal(obs("waves", "exec-103", "--silent", "5m").code, 0);
  const win = obs("errors", "exec-103", "--window", "30");
  assert.match(win.stderr, /--window needs a unit/);

  const json = obs("export", "exec-103", "--json");
  assert.equal(json.code, 2);
  assert.match(json.stderr, /unknown option '--json'/);
  const help = spawnCli(["export", "--help"]);
  assert.doesNotMatch(help.stdout, /--json\b(?!l)/, "export's help lists no --json");
  const both = obs("export", "exec-103", "--jsonl", "--otlp");
  assert.equal(both.code, 2);
  assert.match(both.stderr, /^obs: --jsonl and --otlp are two formats: give one/m);
  const neither = obs("export", "exec-103");
  assert.match(neither.stderr, /^obs: choose the export format: --jsonl \(obs events\) or --otlp/m);
});

test("obs errors --task: a finished task is not blocked (exit 0), a failed one says so (exit 1), a running one shows its blockers", () => {
  // task-103-07 completed while agent-103-09 held a lock on its file: in its way, not blocking.
  const done = obs("errors", "--task", "task-103-07");
  assert.equal(done.code, 0, done.stdout);
  assert.match(done.stdout, /^Task task-103-07 Create session store — completed\nit is completed: nothing blocks a finished task; what stood in its way:\nIn its way \(T006\) {2}1$/m);
  assert.doesNotMatch(done.stdout, /What blocks it/);
  const json = JSON.parse(obs("errors", "--task", "task-103-07", "--json").stdout);
  assert.deepEqual([json.status, json.blocked, json.T006.length], ["completed", false, 1]);
  const clean = obs("errors", "--task", "task-102-01");
  assert.equal(clean.code, 0);
  assert.match(clean.stdout, /it is completed: nothing blocks a finished task\n$/);
  const failed = obs("errors", "--task", "task-103-13");
  assert.equal(failed.code, 1);
  assert.match(failed.stdout, /it failed: nothing blocks a finished task; what stood in its way:/);
  // task-103-19 is still running, its agent silent: blocked.
  const running = obs("errors", "--task", "task-103-19");
  assert.equal(running.code, 1);
  assert.match(running.stdout, /^What blocks it \(T006\) {2}1\n[\s\S]*agent_silent +agent-103-19 has sent no heartbeat/m);
  assert.equal(JSON.parse(obs("errors", "--task", "task-103-19", "--json").stdout).blocked, true);
});

test("obs compare EXEC EXEC: two executions side by side in the order given, with what changed", () => {
  const r = obs("compare", "exec-103", "exec-102");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Runs exec-103, exec-102 \(A006, 2 runs, as given\)$/m);
  const rows = r.stdout.split("\n").filter((l) => /^ exec-10\d/.test(l)).map((l) => l.trim().split(/ +/)[0]);
  assert.deepEqual(rows, ["exec-103", "exec-102"]);
  // exec-103 took 13m 12s, exec-102 4m 36s (the demo's runs): 8m 36s less.
  assert.match(r.stdout, /^ {2}exec-103 → exec-102: duration −8m 36s, failed tasks −2, errors −20/m);
  const j = JSON.parse(obs("compare", "exec-102", "exec-103", "--json").stdout);
  assert.deepEqual(j.execution_ids, ["exec-102", "exec-103"]);
  assert.deepEqual(j.A006.map((x: { execution_id: string }) => x.execution_id), ["exec-102", "exec-103"]);
  const bad = obs("compare", "exec-102", "exec-9");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^obs: no execution 'exec-9'\n {2}closest: /m);
  const list = obs("compare", "tl-auth-service");
  assert.match(list.stdout, /^Runs of tl-auth-service \(A006, 3 runs, oldest first\)$/m);
});

test("global options come before the command too: obs --db X ls, obs --json --db X summary", () => {
  const after = spawnCli(["ls", "--db", db, "--json"]);
  const beforeCmd = spawnCli(["--db", db, "ls", "--json"]);
  assert.equal(beforeCmd.code, 0, beforeCmd.stderr);
  assert.equal(beforeCmd.stdout, after.stdout);
  const eq = spawnCli([`--db=${db}`, "--json", "summary", "exec-102"]);
  assert.equal(eq.code, 0, eq.stderr);
  assert.equal(JSON.parse(eq.stdout).execution_id, "exec-102");
  // What is not an option of every command stays where it was, and is refused as before.
  const unknown = spawnCli(["--nonsense", "ls", "--db", db]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option '--nonsense'/);
  // The parser's own complaints speak as obs's do, and say where to look.
  assert.equal(unknown.stderr, "obs: unknown option '--nonsense'\n  obs --help lists the commands\n");
  const bogus = spawnCli(["ls", "--bogus", "--db", db]);
  assert.equal(bogus.code, 2);
  assert.equal(bogus.stderr, "obs: unknown option '--bogus'\n  obs ls --help says what it takes\n");
  const typo = spawnCli(["lss"]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /^obs: unknown command 'lss'\n\(Did you mean ls\?\)\n {2}obs --help lists the commands\n$/);
});

test("help is wrapped once, at the width, and speaks of the product: no design document, no id obs query does not take", () => {
  const top = spawnCli(["--help"]);
  const names = [...top.stdout.matchAll(/^ {2}([a-z]+) \[options\]/gm)].map((m) => m[1]!);
  assert.ok(names.length >= 18, top.stdout);
  const queries = new Set(JSON.parse(obs("queries", "--json").stdout).map((q: { id: string }) => q.id));
  for (const name of names.filter((n) => n !== "serve")) {
    const help = spawnCli([name, "--help"]).stdout;
    // The description: the paragraphs between "Usage:" and the first list.
    const description = help.split("\n\n").slice(1).filter((p) => !/^(Arguments|Options|Commands|Examples):/.test(p));
    for (const para of description.slice(0, 3)) {
      const lines = para.split("\n");
      // Wrapped twice, a paragraph has short lines in its middle (a hard break re-wrapped).
      lines.slice(0, -1).forEach((l) => assert.ok(l.length > 50, `${name}: a short line inside a paragraph, wrapped twice?\n${para}`));
      for (const l of lines) assert.ok(l.length <= 80, `${name}: wider than 80: ${l}`);
    }
    assert.doesNotMatch(help, /\bseed\b/i, `${name}'s help names a design document`);
    for (const id of help.matchAll(/\b([A-Z]\d{3})\b/g)) assert.ok(queries.has(id[1]), `${name}'s help names ${id[1]}, which obs query does not take`);
  }
  for (const args of [["summary", "exec-103"], ["errors", "exec-103"], ["waves", "exec-103"], ["anomalies", "exec-103"], ["validate", "exec-103"]]) {
    const out = obs(...args).stdout;
    for (const id of out.matchAll(/\(([A-Z]\d{3})[,)]/g)) assert.ok(queries.has(id[1]), `${args[0]} shows (${id[1]}), which obs query does not take`);
    assert.doesNotMatch(out, /\bseed\b/i);
  }
});

test("obs demo's hints are commands a newcomer can type where they are, and every one of them runs", async () => {
  const { ROOT, BIN } = await import("./helpers.js");
  const fs = await import("node:fs");
  const dir = tmpDir();
  const fresh = path.join(dir, "fresh.db");
  // In the package, after npm install, nothing on the PATH: npx obs.
  const inRoot = spawnCli(["demo", "--db", fresh], { cwd: ROOT });
  assert.equal(inRoot.code, 0, inRoot.stderr);
  const hints = [...inRoot.stdout.matchAll(/^ {2}(npx obs [^\n]*?) {3,}\S/gm)].map((m) => m[1]!.trim());
  assert.ok(hints.length >= 12, inRoot.stdout);
  assert.match(inRoot.stdout, /\(npx obs is how to run obs from here; `npm link` in this directory puts `obs` on your PATH\)/);
  for (const hint of hints) {
    const args = hint.replace(/^npx obs /, "").split(" ");
    const r = spawnCli(args, { cwd: ROOT });
    assert.ok(r.code === 0 || r.code === 1, `${hint}: exit ${r.code}\n${r.stderr}`);
    assert.notEqual(r.stdout, "", `${hint} printed nothing`);
  }
  // npx itself finds the package's own bin there. To run a directory's own bin, npx first installs
  // that directory into its cache (once per path), and installing a directory runs its prepare
  // script: `npm run build`, rewriting dist/ file by file under the tests running beside this one
  // (a module read while tsc has truncated it is empty: "does not provide an export named …").
  // So npx runs without scripts, from a cache of its own: the first install every time, as in CI.
  const built = fs.statSync(path.join(ROOT, "dist", "src", "cli.js")).mtimeMs;
  const npxEnv = { PATH: process.env.PATH, HOME: process.env.HOME, npm_config_cache: path.join(dir, "npm-cache") };
  const npx = spawnSync("npx", ["--ignore-scripts", "--no-install", "obs", "ls", "--db", fresh], { cwd: ROOT, encoding: "utf8", env: npxEnv });
  assert.equal(npx.status, 0, npx.stderr);
  assert.match(npx.stdout, /^ EXECUTION/);
  // Run through npx, whose own link to the launcher is on PATH for that process only: still npx obs.
  const viaNpx = spawnSync("npx", ["--ignore-scripts", "--no-install", "obs", "demo", "--db", path.join(dir, "npx.db")], { cwd: ROOT, encoding: "utf8", env: npxEnv });
  assert.equal(viaNpx.status, 0, viaNpx.stderr);
  assert.equal(fs.statSync(path.join(ROOT, "dist", "src", "cli.js")).mtimeMs, built, "npx rebuilt dist/ while other tests were reading it");
  assert.match(viaNpx.stdout, /^ {2}npx obs ls --db /m);
  assert.doesNotMatch(viaNpx.stdout, /^ {2}obs ls/m);
  // Elsewhere, with obs on the PATH (npm link's symlink): obs.
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  fs.symlinkSync(BIN, path.join(bin, "obs"));
  const linked = spawnCli(["demo", "--db", fresh], { cwd: dir, env: { PATH: `${bin}:${process.env.PATH}` } });
  assert.match(linked.stdout, /^ {2}obs ls --db \S+ {3,}the runs, newest first$/m);
  assert.doesNotMatch(linked.stdout, /npx|npm link/);
  // Elsewhere, nothing on the PATH: node and the launcher's path.
  const away = spawnCli(["demo", "--db", fresh], { cwd: dir });
  assert.match(away.stdout, new RegExp(`^ {2}node ${BIN.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} ls --db `, "m"));
});

test("narrow terminals: validate, summary, waves, compare and errors fit 60 and 100 columns, wrapping or stacking, never cutting an id or a number", () => {
  const whole: Record<string, string[]> = {
    "validate exec-103": ["agent-103-09", "src/auth/session.ts", "2026-11-20 09:35:54", "exec-103:169", "ch-103-19", "2026-11-20 09:38:37", "2 of 7 checks failed"],
    "summary exec-103": ["2026-11-20 09:34:00", "2026-11-20 09:47:12", "(13m 12s)", "1,010,106 in", "106,269 out", "606,063 cache read", "78,325 cache write", "cost $5.0999", "97.4%"],
    "waves exec-103": ["5/0/0/5", "2/1/1/4", "92.3%", "agent-103-19", "9m 10s", "src/auth/session.ts", "agent-103-09", "agent-103-07", "9.06"],
    "compare": ["exec-101", "$5.3407", "duration +8m 36s", "errors +20", "pass rate −2.6 pts", "cost −$0.0639"],
    "errors exec-103": ["followed by 12 more errors within 26.7s", "Error: connect ECONNREFUSED 127.0.0.1:5432 (test database not running)", "task-103-13", "2026-11-20 09:37:23", "tu-103-19-010"],
  };
  for (const columns of [60, 100]) {
    for (const [command, values] of Object.entries(whole)) {
      const r = spawnCli([...command.split(" "), "--db", db], { env: { COLUMNS: String(columns) } });
      assert.ok(r.code === 0 || r.code === 1, `${command}: ${r.stderr}`);
      for (const l of r.stdout.split("\n")) assert.ok([...l].length <= columns, `${command} at ${columns}: wider: '${l}'`);
      assert.doesNotMatch(r.stdout, /\d…/, `${command} at ${columns}: a number cut`);
      // Wrapped text goes on under its own indentation: joined, every value is there whole.
      const joined = r.stdout.replace(/\n +/g, " ").replace(/ {2,}/g, " ");
      for (const v of values) assert.ok(joined.includes(v), `${command} at ${columns}: '${v}' not whole in:\n${r.stdout}`);
    }
  }
});

test("narrow terminals: anomalies' 'looked for' lines and prune's row counts wrap to 60 columns, nothing cut", () => {
  for (const [command, values] of [
    // The assertions' category is an id, whole; an error cascade's tasks are never cut (task-1…).
    // An error cascade's tasks, where its row has no room for them, go on a line beneath it.
    // The regressions, whose ASSERTION header has no room at 60, are stacked rather than headed ASSER….
    ["anomalies exec-103", ["one agent making the same tool call (same input) 5 or more times, in a row or each within 60 s of the last",
      "TASK task-103-13 CATEGORY tests_pass ASSERTION tests pass for create registration endpoint PASSED IN exec-102 FAILED AT 2026-11-20 09:37:41",
      "TASKS 2026-11-20 09:37:23 26.7s 13 tool_error: … task-103-13, task-103-14 2026-11-20 09:38:58 9.4s 6 tool_error: … task-103-17"]],
    ["summary exec-103", ["CATEGORY tests_pass", "CATEGORY file_created"]],
    ["prune --older-than 1d --dry-run", ["transcript_entries 1,436", "task_list_execution_runs 3"]],
  ] as const) {
    const r = spawnCli([...command.split(" "), "--db", db], { env: { COLUMNS: "60" } });
    assert.ok(r.code === 0 || r.code === 1, `${command}: ${r.stderr}`);
    for (const l of r.stdout.split("\n")) assert.ok([...l].length <= 60, `${command}: wider than 60: '${l}'`);
    const joined = r.stdout.replace(/\n +/g, " ").replace(/ {2,}/g, " ");
    for (const v of values) assert.ok(joined.includes(v), `${command}: '${v}' not whole in:\n${r.stdout}`);
    assert.doesNotMatch(r.stdout, /task-\d*…|tests_p…|file_c…/, `${command}: an id cut`);
  }
});

test("a table's headers are never cut: a one-word header keeps its column that wide, one of more words wraps; at 60 and 100 columns", () => {
  // Each was cut at 60 (SEVER…, ASSER…) while the column's text was narrower than its header.
  const headers: Record<string, string[]> = {
    "trace --correlation corr-task-103-13": ["TIME", "SEVERITY", "SOURCE", "EVENT", "SUMMARY"],
    "anomalies exec-103": ["TASK", "CATEGORY", "ASSERTION", "FAILED AT"],
  };
  for (const [command, names] of Object.entries(headers)) {
    for (const columns of [60, 100]) {
      const r = spawnCli([...command.split(" "), "--db", db], { env: { COLUMNS: String(columns) } });
      assert.ok(r.code === 0 || r.code === 1, `${command}: ${r.stderr}`);
      for (const l of r.stdout.split("\n")) assert.ok([...l].length <= columns, `${command} at ${columns}: wider: '${l}'`);
      assert.doesNotMatch(r.stdout, /\b[A-Z]{2,}…/, `${command} at ${columns}: a header cut:\n${r.stdout}`);
      for (const h of names) assert.match(r.stdout, new RegExp(`(^| )${h}( |$)`, "m"), `${command} at ${columns}: ${h} whole`);
    }
  }
  // At 100 the correlated events are a table: SEVERITY heads a column as wide as itself.
  const wide = spawnCli(["trace", "--correlation", "corr-task-103-13", "--db", db], { env: { COLUMNS: "100" } }).stdout;
  assert.match(wide, /^ TIME {18}SEVERITY {3}SOURCE {9}EVENT {10}SUMMARY/m);
  assert.match(wide, /^ 2026-11-20 09:36:54 {3}info {7}agent-103-13 {3}task\.started/m);
});

test("narrow terminals: a trace's types stay whole at 60 columns, its summaries go beneath their rows, cut only after a word; the tree too", () => {
  const TYPES = ["task_start", "tool_use", "decision", "skill_invoke", "lock_acquire", "lock_release", "skill_complete", "assertion", "error", "task_end"];
  for (const command of ["trace exec-103", "trace task-103-13", "trace task-103-13 --tree", "trace exec-103 --tree"]) {
    for (const columns of [60, 100]) {
      const r = spawnCli([...command.split(" "), "--db", db], { env: { COLUMNS: String(columns) } });
      assert.equal(r.code, 0, `${command}: ${r.stderr}`);
      for (const l of r.stdout.split("\n")) assert.ok([...l].length <= columns, `${command} at ${columns}: wider: '${l}'`);
      // A type cut was 'skill_c…', 'lock_ac…', 'task_st…'.
      assert.doesNotMatch(r.stdout, /\b(task|tool|skill|lock|assert|deci)[a-z_]*…/, `${command} at ${columns}: a type cut`);
      assert.doesNotMatch(r.stdout, /\d…/, `${command} at ${columns}: a number cut`);
      if (command === "trace task-103-13") for (const type of TYPES) assert.match(r.stdout, new RegExp(`^ \\d\\d:\\d\\d:\\d\\d\\.\\d{3} .* ${type}\\b`, "m"), `${command} at ${columns}: ${type} whole`);
    }
  }
  const task = spawnCli(["trace", "task-103-13", "--db", db], { env: { COLUMNS: "60" } }).stdout;
  // At 60 the row is time, type, duration and status; the summary is the line under it, whole where it fits.
  assert.match(task, /^ 09:37:13\.084 {3}skill_complete +4\.3s {3}success\n {16}Skill code-generation success$/m);
  assert.match(task, /^ 09:37:08\.757 {3}lock_acquire\n {16}Lock acquired on src\/routes\/register\.ts$/m);
  // Cut, a summary ends after a whole word (a space before the ellipsis) or a whole part of a path.
  assert.match(task, /^ {16}Chose a pure function module for src\/…$/m);
  assert.match(task, /^ {16}Skill code-generation \(skills\/…$/m);
  const tree = spawnCli(["trace", "task-103-13", "--tree", "--db", db], { env: { COLUMNS: "60" } }).stdout;
  assert.match(tree, /^├─ assertion: PASS typescript_compiles: … {2}pass {2}131ms$/m, "the tree cuts a label after a word, its type whole");
});

test("narrow terminals: trace's other views, usage's notes and obs query fit 60 columns with names, times and ids whole", () => {
  const whole: Record<string, string[]> = {
    // Before, at 60: 'code-…', 'tests_…', 'agent…', 'task.s…', 'pure func…'.
    "trace exec-103 --skills": ["code-generation", "validation"],
    "trace exec-103 --evidence": ["tests_pass", "typescript_compiles", "npx vitest run tests/routes/register.test.ts"],
    // SEVERITY has no room at 60 beside the time, source and event: the events are stacked, whole.
    "trace --correlation corr-task-103-13": ["SEVERITY info SOURCE agent-103-13 EVENT task.started", "task.failed", "Test DB unreachable (ECONNREFUSED 127.0.0.1:5432)"],
    "trace exec-103 --decisions": ["task-103-03 pure function module", "class with injected deps | extend existing module", "no state to hold; easiest to test"],
    "usage --by day,model": ["by model: tool calls and errors are no model's — only the total has them"],
    // A generic query's times are whole: they were cut to 2026-11-20T0….
    "query D002 exec-103": ["2026-11-20T09:37:23.896Z", "task-103-13,task-103-14"],
  };
  for (const [command, values] of Object.entries(whole)) {
    const r = spawnCli([...command.split(" "), "--db", db], { env: { COLUMNS: "60" } });
    assert.ok(r.code === 0 || r.code === 1, `${command}: ${r.stderr}`);
    for (const l of r.stdout.split("\n")) assert.ok([...l].length <= 60, `${command}: wider than 60: '${l}'`);
    const joined = r.stdout.replace(/\n */g, " ").replace(/ {2,}/g, " ");
    for (const v of values) assert.ok(joined.includes(v), `${command}: '${v}' not whole in:\n${r.stdout}`);
  }
});
