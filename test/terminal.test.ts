/**
 * What a person at a terminal sees: obs run under a real pseudo-terminal (util-linux `script`),
 * so the branches taken only when stdout or stderr is a TTY — ingest's progress bar, tail's
 * live view and its keys — run as they do for people.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { BIN, cli, spawnCli, tmpDir, writeJsonl } from "./helpers.js";
import { cleanRun, dbWith, line } from "./query-helpers.js";

/** Why this machine cannot run a command under a pseudo-terminal, or null when it can. */
function noPty(): string | null {
  if (process.platform !== "linux") return "these tests use util-linux `script` for a pseudo-terminal (Linux)";
  if (spawnSync("script", ["--version"], { encoding: "utf8" }).stdout?.includes("util-linux")) return null;
  return "these tests need util-linux `script` for a pseudo-terminal (apt-get install bsdutils)";
}
const missing = noPty();
/** A check that cannot run here fails on CI and is skipped, saying why, elsewhere. */
function needPty(t: { skip: (why: string) => void }): boolean {
  if (!missing) return true;
  if (process.env.CI && !/^(0|false)$/i.test(process.env.CI)) assert.fail(`${missing}; on CI (CI=${process.env.CI}) it fails rather than skips`);
  t.skip(missing);
  return false;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** Terminal output with its control sequences (colour, cursor moves, line erases) taken out. */
const screenText = (raw: string) => raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");

/** Runs obs under a pseudo-terminal; its stdin is ours to type into, its output (stdout and stderr, as a terminal shows them) collected. */
function onTerminal(args: string[]) {
  const command = [process.execPath, BIN, ...args].map(quote).join(" ");
  const child = spawn("script", ["-qfec", command, "/dev/null"], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: "xterm-256color", COLUMNS: "100", LINES: "40", TZ: "UTC", NO_COLOR: "1" },
  });
  let raw = "";
  child.stdout!.on("data", (d) => (raw += d));
  child.stderr!.on("data", (d) => (raw += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return {
    /** Its exit status, or a failure when it is still running after the deadline. */
    ended: (what: string, deadlineMs = 15_000) =>
      Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: still running after ${deadlineMs} ms`)), deadlineMs).unref())]),
    get raw() {
      return raw;
    },
    type: (keys: string) => child.stdin!.write(keys),
    kill: () => child.kill("SIGKILL"),
    /** Waits until what the terminal shows matches, or fails showing it. */
    async until(re: RegExp, deadlineMs = 15_000): Promise<void> {
      for (const end = Date.now() + deadlineMs; !re.test(screenText(raw)); await new Promise((r) => setTimeout(r, 20))) {
        if (Date.now() > end) assert.fail(`the terminal never showed ${re}; it shows:\n${screenText(raw).slice(-3000)}`);
      }
    },
  };
}

test("obs ingest on a terminal draws a progress bar on stderr, filling up, and clears it before its summary; in a pipe it draws none", async (t) => {
  if (!needPty(t)) return;
  // Past the 8 MiB from which ingest shows progress: 60,000 lines of ~150 bytes.
  const lines = Array.from({ length: 60_000 }, (_, i) => line("bar", i, "transcript:entry", { entry_type: "checkpoint", category: "c", summary: `step ${i} of a long run ${"·".repeat(20)}` }));
  const file = writeJsonl(path.join(tmpDir(), "big.jsonl"), lines);
  assert.ok(fs.statSync(file).size > 8 * 1048576, "the file is big enough for a bar");
  const term = onTerminal(["ingest", file, "--db", path.join(tmpDir(), "obs.db")]);
  t.after(() => term.kill());
  assert.equal(await term.ended("obs ingest", 120_000), 0, term.raw);

  // Each redraw returns to the line's start: [####----] NN% M MiB, 40 cells wide on 100 columns.
  const frames = [...term.raw.matchAll(/\r\[(#*)(-*)\] +(\d+)% +(\d+) MiB/g)].map((m) => ({ fill: m[1]!.length, width: m[1]!.length + m[2]!.length, pct: Number(m[3]) }));
  assert.ok(frames.length >= 1, `no progress bar drawn: ${JSON.stringify(term.raw.slice(0, 500))}`);
  for (const f of frames) {
    assert.equal(f.width, 40);
    assert.ok(Math.abs(f.fill - (f.pct / 100) * 40) <= 1, `a bar of ${f.fill}/40 cells says ${f.pct}%`);
  }
  assert.deepEqual(frames.map((f) => f.pct), [...frames.map((f) => f.pct)].sort((a, b) => a - b), "it only fills up");
  // Then the line is erased, and what stays on screen is the summary alone.
  const last = term.raw.lastIndexOf("\r\x1b[K");
  assert.ok(last > term.raw.lastIndexOf("MiB"), "the bar is cleared after its last frame");
  assert.match(term.raw.slice(last + 4), /^ingested 1 source: 60,000 lines, 60,000 events \(transcript:entry 60,000\), 0 rejected/);

  // The same ingest in a pipe: no bar, no control characters.
  const piped = spawnCli(["ingest", file, "--db", path.join(tmpDir(), "obs.db")]);
  assert.equal(piped.code, 0, piped.stderr);
  assert.doesNotMatch(piped.stderr, /\r|\x1b/);
  assert.match(piped.stderr, /^ingested 1 source: 60,000 lines/);
});

test("obs tail on a terminal is the live view: header, waves, events as they land; p pauses, q quits with exit 0", async (t) => {
  if (!needPty(t)) return;
  const db = await dbWith(cleanRun("e"));
  const term = onTerminal(["tail", "e", "--db", db]);
  t.after(() => term.kill());
  await term.until(/e completed: the run is over {2}· {2}p pause {2}e errors only {2}q quit/);
  const shown = screenText(term.raw);
  // The box, 100 columns wide as the terminal is; the header whole, cost and all.
  // 97 characters of header in 96: the cost on a line of its own.
  assert.match(shown, /^│ e {2}completed {2}elapsed 24\.0s {2}tool calls 2 {2}errors 0 {2}pass rate 100\.0% {2}tokens 1,200 +│\n│ {3}cost \$0\.0060 +│$/m);
  assert.match(shown, /^│ wave {2}1 █{20} {2}2\/2 done {2}completed {48}│$/m);
  assert.match(shown, /^┌─{98}┐$/m);
  // The run's last 20 events above it, oldest first, the newest just above the box.
  assert.match(shown, /^09:00:23\.000 {18}wave:status {7}wave 1 completed \(2\/2 done, 0 failed\)\n09:00:24\.000 {18}execution:status {2}execution completed\n┌/m);

  // Another process writes; the view shows it.
  const more = writeJsonl(path.join(tmpDir(), "more.jsonl"), [
    line("e", 30, "tool:start", { tool_use_id: "g", tool: "Grep", input: { pattern: "TODO" } }),
    line("e", 31, "tool:end", { tool_use_id: "g", is_error: true, error_message: "grep exploded" }),
  ]);
  assert.equal((await cli(["ingest", more, "--db", db])).code, 0);
  await term.until(/09:00:31\.000 +tool:end +Grep error 1\.0s — grep exploded/);
  term.type("p");
  await term.until(/PAUSED \(0 new\) {2}· {2}p resume {2}e errors only {2}q quit/);
  term.type("q");
  assert.equal(await term.ended("after q"), 0, "q quits, and the process ends with 0");
  // The terminal is given back: the cursor ink hid is shown again.
  assert.ok(term.raw.lastIndexOf("\x1b[?25h") > term.raw.lastIndexOf("PAUSED"), "the cursor is shown again after the view");
});

test("obs trace on a 60-column terminal (the width from the terminal, no COLUMNS) fits it: types whole, each summary beneath its row", (t) => {
  if (!needPty(t)) return;
  const db = path.join(tmpDir(), "demo.db");
  assert.equal(spawnCli(["demo", "--db", db]).code, 0);
  for (const args of [["trace", "task-103-13"], ["trace", "task-103-13", "--tree"], ["trace", "exec-103"]]) {
    const command = `stty cols 60 rows 40; ${[process.execPath, BIN, ...args, "--db", db].map(quote).join(" ")}`;
    const r = spawnSync("script", ["-qfec", command, "/dev/null"], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: "xterm-256color", TZ: "UTC", NO_COLOR: "1" },
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const lines = screenText(r.stdout).split("\n");
    for (const l of lines) assert.ok([...l].length <= 60, `${args.join(" ")}: wider than the terminal's 60 columns: '${l}'`);
    assert.doesNotMatch(r.stdout, /\b(task|tool|skill|lock|assert)[a-z_]*…/, `${args.join(" ")}: a type cut`);
    if (args.join(" ") === "trace task-103-13") assert.match(screenText(r.stdout), /^ 09:37:13\.084 {3}skill_complete +4\.3s {3}success\n {16}Skill code-generation success$/m);
  }
});
