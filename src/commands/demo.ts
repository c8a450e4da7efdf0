import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { resolveDbPath } from "../db/open.js";
import { openWritable } from "../db/write.js";
import { EXIT_ERROR, EXIT_OK } from "../errors.js";
import { generateDemo } from "../demo/generate.js";
import { ingestSources } from "../ingest/ingest.js";
import type { IO } from "../io.js";
import { printJson } from "../render/output.js";
import { ingestSummaryLine } from "../render/ingest.js";
import { displayWidth, padColumns } from "../render/width.js";
import { withCommon, type App, type CommonOpts } from "./common.js";

/** The package this obs is, where `npx obs` finds it. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/**
 * What a person types to run this obs, for the hints to be commands that work as written:
 * `obs` when an obs on the PATH is this one, `npx obs` inside the package (after `npm install`,
 * before anything is on the PATH), else node and the path to its launcher.
 */
export function commandName(env: NodeJS.ProcessEnv, cwd: string): string {
  const bin = path.join(ROOT, "bin", "obs.js");
  // npx and npm run put a package's own bins on PATH for that one process (node_modules/.bin,
  // npx's cache): an obs found there is not one the user can type afterwards.
  const ephemeral = /(?:^|[\\/])(?:node_modules[\\/]\.bin|_npx)(?:[\\/]|$)/;
  for (const dir of (env.PATH ?? "").split(path.delimiter).filter((d) => d && !ephemeral.test(d))) {
    try {
      if (fs.realpathSync(path.join(dir, "obs")) === fs.realpathSync(bin)) return "obs";
    } catch {
      /* not there */
    }
  }
  const rel = path.relative(ROOT, cwd);
  if (!rel.startsWith("..") && !path.isAbsolute(rel)) return "npx obs";
  const near = path.relative(cwd, bin);
  return `node ${near.startsWith("..") ? bin : near}`;
}

/** Writes the demo runs through the ordinary ingest path; the same text twice adds nothing. */
export async function runDemo(opts: CommonOpts, io: IO): Promise<number> {
  const dbPath = resolveDbPath(opts.db, io.env);
  const runs = generateDemo();
  const db = openWritable(dbPath);
  try {
    const stats = await ingestSources(
      db,
      runs.map((r) => ({ kind: "text" as const, name: `demo:${r.executionId}`, text: Buffer.from(r.lines.join("\n") + "\n") })),
      // Written whatever the file holds: runs obs prune removed come back (the rest is the same rows again).
      { skipInvalid: false, again: true },
    );
    if (stats.failed_sources.length > 0) {
      // The generator and the validator disagree: a bug in obs, not the user's doing.
      for (const b of stats.bad_lines.slice(0, 5)) io.err(`${b.source}:${b.line}: ${b.reason}\n`);
      return EXIT_ERROR;
    }
    const ids = runs.map((r) => r.executionId);
    if (opts.json) {
      const { results, ...rest } = stats;
      void results;
      printJson(io, { database: dbPath, executions: ids, ...rest });
      return EXIT_OK;
    }
    io.err(ingestSummaryLine(stats) + "\n");
    const last = ids[ids.length - 1]!;
    const clean = ids[ids.length - 2] ?? last;
    const dbFlag = opts.db ? ` --db ${opts.db}` : "";
    const obs = commandName(io.env, process.cwd());
    const tries: [string, string][] = [
      [`${obs} ls${dbFlag}`, "the runs, newest first"],
      [`${obs} validate ${last}${dbFlag}`, "integrity checks (exit 1: this run has defects)"],
      [`${obs} validate ${clean}${dbFlag}`, "a clean run (exit 0)"],
      [`${obs} errors ${last}${dbFlag}`, "what went wrong, root cause first"],
      [`${obs} waves ${last}${dbFlag}`, "parallel waves, silent agents, file conflicts"],
      [`${obs} anomalies ${last}${dbFlag}`, "outliers, cascades, regressions"],
      [`${obs} trace task-${last.slice(5)}-13${dbFlag}`, "one task's whole path (--tree for its skills)"],
      [`${obs} show tu-${last.slice(5)}-13-012${dbFlag}`, "one tool call whole: its input, output, links"],
      [`${obs} compare ${clean} ${last}${dbFlag}`, "two runs side by side, with what changed"],
      [`${obs} usage --by day,model${dbFlag}`, "what the runs cost (--blocks: 5-hour windows)"],
      [`${obs} validate ${last} --max-cost 5${dbFlag}`, "a budget in the gate (exit 1: it cost more)"],
      [`${obs} search ECONNREFUSED${dbFlag}`, "find text across every run"],
      [`${obs} tail ${last}${dbFlag}`, "the live view (q quits); --ndjson in a pipe"],
    ];
    const width = Math.max(...tries.map(([cmd]) => displayWidth(cmd))) + 3;
    io.out(
      [
        `Demo runs written to ${dbPath}: ${ids.join(", ")} (one task list, run three times).`,
        "",
        "Try:",
        ...tries.map(([cmd, what]) => `  ${padColumns(cmd, width)}${what}`),
        ...(obs === "obs" ? [] : ["", `(${obs} is how to run obs from here; \`npm link\` in ${path.relative(process.cwd(), ROOT) || "this directory"} puts \`obs\` on your PATH)`]),
        "",
      ].join("\n"),
    );
    return EXIT_OK;
  } finally {
    db.close();
  }
}

export function registerDemo(program: Command, app: App): void {
  withCommon(
    program
      .command("demo")
      .summary("write a demo run to the database and show what to try")
      .description("Write a realistic demo (a task list run three times, with a handful of real-looking problems) to the database."),
  )
    .addHelpText("after", "\nExamples:\n  obs demo\n  obs demo --db /tmp/demo.db")
    .action(async (o: CommonOpts) => {
      app.code = await runDemo(o, app.io);
    });
}
