/**
 * The README's examples on the demo are what obs prints now. Each ```console block after a
 * `<!-- demo -->` comment (`<!-- demo: COLUMNS=100 OBS_NOW=… -->` pins what it needs) is run
 * command by command in a directory whose ./obs.db is `obs demo`'s, with `obs` on the PATH as
 * the README's reader has it; each command's lines must be what it prints (a line "…" leaves out
 * lines, the rest in order).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { BIN, ROOT, spawnCli, tmpDir } from "./helpers.js";

/** Where a block runs: on the demo, or on the Claude Code sessions of test/fixtures; on a terminal (tty) or in a pipe. */
interface Example { line: number; env: Record<string, string>; command: string; expected: string[]; on?: "fixtures"; tty?: boolean }

/** The demo blocks of a README: each command with the lines shown under it. */
export function demoExamples(readme: string): Example[] {
  const lines = readme.split("\n");
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^<!-- (demo|fixtures)(?::\s*(.*?))?\s*-->$/.exec(lines[i]!);
    if (!m) continue;
    assert.equal(lines[i + 1], "```console", `README.md:${i + 1}: a demo comment goes right above a console block`);
    const words = (m[2] ?? "").split(/\s+/).filter(Boolean);
    const env = Object.fromEntries(words.filter((w) => w.includes("=")).map((kv) => kv.split("=") as [string, string]));
    const where = { ...(m[1] === "fixtures" ? { on: "fixtures" as const } : {}), ...(words.includes("tty") ? { tty: true } : {}) };
    let cur: Example | undefined;
    for (let j = i + 2; lines[j] !== "```"; j++) {
      assert.ok(j < lines.length, `README.md:${i + 1}: the block never closes`);
      const l = lines[j]!;
      if (l.startsWith("$ ")) out.push((cur = { line: j + 1, env, command: l.slice(2).replace(/\s+#\s.*$/, ""), expected: [], ...where }));
      else if (cur) cur.expected.push(l);
      else assert.fail(`README.md:${j + 1}: output before any command`);
    }
  }
  return out;
}

/** Whether the lines shown are the lines printed: the same, or with "…" where lines are left out. */
function shows(expected: string[], actual: string[]): string | null {
  const chunks: string[][] = [[]];
  for (const l of expected) {
    if (l.trim() === "…") chunks.push([]);
    else chunks[chunks.length - 1]!.push(l.trimEnd());
  }
  const got = actual.map((l) => l.trimEnd());
  if (chunks.length === 1) return JSON.stringify(chunks[0]) === JSON.stringify(got) ? null : "the output differs";
  let at = 0;
  for (const [k, chunk] of chunks.entries()) {
    if (!chunk.length) continue;
    let found = -1;
    for (let s = at; s + chunk.length <= got.length && found < 0; s++) {
      if (k === 0 && s > 0) break; // the first chunk is where the output starts
      if (chunk.every((l, n) => got[s + n] === l)) found = s;
    }
    if (found < 0) return `these lines are not in the output (in this order):\n${chunk.join("\n")}`;
    at = found + chunk.length;
  }
  return null;
}

test("every output the README shows on the demo is what the command prints now", () => {
  const examples = demoExamples(fs.readFileSync(path.join(ROOT, "README.md"), "utf8"));
  assert.ok(examples.length >= 12, `only ${examples.length} demo examples found`);
  assert.ok(examples.filter((e) => e.on === "fixtures").length >= 4, "the examples on the fixtures' Claude Code sessions are checked too");
  const dir = tmpDir();
  assert.equal(spawnCli(["demo"], { cwd: dir }).code, 0);
  const fixtures = tmpDir();
  assert.equal(spawnCli(["ingest", path.join(ROOT, "test", "fixtures", "claude-code")], { cwd: fixtures }).code, 0);
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, "obs"), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 });
  const failures: string[] = [];
  for (const ex of examples) {
    // "A terminal 120 columns wide", as the README says: a pseudo-terminal of that width (script(1)).
    const argv = ex.tty ? ["script", "-qec", `stty cols 120 rows 500; ${ex.command} 2>&1`, "/dev/null"] : ["bash", "-c", `${ex.command} 2>&1`];
    const r = spawnSync(argv[0]!, argv.slice(1), {
      cwd: ex.on === "fixtures" ? fixtures : dir,
      encoding: "utf8",
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: process.env.HOME, NO_COLOR: "1", TZ: "UTC", COLUMNS: "120", ...ex.env },
    });
    assert.equal(r.error, undefined, `README.md:${ex.line}: ${r.error?.message} (script(1) runs the terminal examples: util-linux/bsdutils)`);
    const why = shows(ex.expected, r.stdout.replace(/\r\n/g, "\n").replace(/\n$/, "").split("\n"));
    if (why) failures.push(`README.md:${ex.line}: $ ${ex.command}\n${why}\n--- it prints:\n${r.stdout}`);
  }
  assert.equal(failures.length, 0, failures.join("\n\n"));
});

test("the README check itself: a changed line, a missing line and lines out of order are caught", () => {
  const [ex] = demoExamples("<!-- demo -->\n```console\n$ obs x   # why\na\n…\nc\n```\n");
  assert.deepEqual(ex, { line: 3, env: {}, command: "obs x", expected: ["a", "…", "c"] });
  assert.equal(shows(["a", "…", "c"], ["a", "b", "c"]), null);
  assert.notEqual(shows(["a", "…", "c"], ["a", "b", "d"]), null);
  assert.notEqual(shows(["a", "…", "c", "b"], ["a", "b", "c"]), null);
  assert.notEqual(shows(["b", "…", "c"], ["a", "b", "c"]), null, "the first lines shown are the first printed");
  assert.notEqual(shows(["a", "b"], ["a", "b", "c"]), null, "without …, every line");
});
