import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { resolveDbPath } from "../db/open.js";
import { openWritable } from "../db/write.js";
import { EXIT_ERROR, EXIT_OK, UserError } from "../errors.js";
import { follow, type FollowSource } from "../ingest/follow.js";
import { emptyStats, expandSources, FORMATS, FORMATS_TAIL, identify, ingestSources, listSourceFiles, notAFile, totalBytes, unreadableReason, type Expanded, type Format, type IngestStats, type Source, type WalkSeen } from "../ingest/ingest.js";
import { findPlaces, type Place } from "../ingest/places.js";
import { loadPrices } from "../pricing.js";
import type { IO } from "../io.js";
import { printJson } from "../render/output.js";
import { ingestSummaryLine, progressBar } from "../render/ingest.js";
import { Option, withCommon, type App, type CommonOpts } from "./common.js";
import { parseDuration } from "./context.js";

export interface IngestOpts extends CommonOpts {
  sources: string[];
  skipInvalid?: boolean;
  follow?: boolean;
  format?: Format;
  prices?: string;
  /** Give up after waiting this long (ms) for another writer. */
  wait?: number;
  again?: boolean;
}

/** Big inputs get a progress bar on a terminal; small ones would only flicker. */
const PROGRESS_MIN_BYTES = 8 * 1024 * 1024;
const MAX_BAD_LINES_SHOWN = 20;

/** Says which of the places agents keep their records exist here; none is an error only when asked to follow. */
function reportPlaces(io: IO, found: Place[], missing: Place[], files?: Map<Place, number>): void {
  const there = found.map((p) => `${p.label} in ${p.dir}${files ? ` (${files.get(p) ?? 0} file${files.get(p) === 1 ? "" : "s"})` : ""}`);
  const absent = missing.map((p) => p.dir);
  if (!found.length) io.err(`obs: none of the places agents keep their records is here (${absent.join(", ")}); name a file or directory to ingest\n`);
  else io.err(`obs: ${files ? "reading" : "following"} ${there.join(", ")}${absent.length ? `; not here: ${absent.join(", ")}` : ""}\n`);
}

/** Follows the sources until Ctrl-C (or SIGTERM): the batch in hand is committed, then exit 0. */
async function runFollow(opts: IngestOpts, io: IO): Promise<number> {
  if (opts.sources.includes("-")) throw new UserError("--follow reads files and directories, not standard input");
  for (const s of opts.sources) {
    if (!fs.existsSync(s)) throw new UserError(`no such file or directory: ${s}`, ["--follow can wait for new files inside a directory, but the directory must exist"]);
    // Following a pipe would wait on it forever: it is read once, as standard input, without --follow.
    const refused = notAFile(s, fs.statSync(s), true);
    if (refused) throw refused;
  }
  // Named files no format reads, when nothing else is named: following would wait on nothing.
  const unknown = opts.format ? [] : opts.sources.flatMap((s) => {
    const st = fs.statSync(s);
    const found = st.isFile() && st.size > 0 ? identify(s) : null;
    return found && found.format === null ? [`${s}: ${unreadableReason(found.head)}`] : [];
  });
  if (unknown.length && unknown.length === opts.sources.length) throw new UserError(unknown[0]!, [...unknown.slice(1), "nothing else to follow"]);
  let sources: FollowSource[] = opts.sources;
  if (!opts.sources.length) {
    const { found, missing } = findPlaces(io.env);
    reportPlaces(io, found, missing);
    if (!found.length) throw new UserError("nothing to follow", ["name a file or directory: obs ingest --follow <source…>"]);
    sources = found.map((p) => ({ dir: p.dir, accept: p.accept }));
  }
  const db = openWritable(resolveDbPath(opts.db, io.env));
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let shown = 0;
  try {
    const stats = await follow(db, sources, {
      skipInvalid: Boolean(opts.skipInvalid),
      waitMs: opts.wait, doing: "obs ingest --follow", dbPath: resolveDbPath(opts.db, io.env),
      signal: stop.signal,
      onNote: (m) => io.err(`obs: ${m}\n`),
      onBatch: (s) => {
        for (; shown < s.bad_lines.length; shown++) {
          const b = s.bad_lines[shown]!;
          io.err(`${b.source}:${b.line}: ${b.reason}\n`);
        }
      },
    });
    stats.bad_lines = [];
    reportIngest(stats, { json: opts.json, followed: true }, io);
    return stats.failed_sources.length ? EXIT_ERROR : EXIT_OK;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    db.close();
  }
}

export async function runIngest(opts: IngestOpts, io: IO): Promise<number> {
  if (opts.follow) return runFollow(opts, io);
  let files: Expanded[];
  const note = (m: string) => io.err(`obs: ${m}\n`);
  if (opts.sources.length) files = expandSources(opts.sources, note);
  else {
    // No source: the places agents keep their records on this machine (walked as one: a place that is a link to another is read once).
    const { found, missing } = findPlaces(io.env);
    const counts = new Map<Place, number>();
    const seen: WalkSeen = new Map();
    const notes: string[] = [];
    files = [];
    for (const p of found) {
      const mine = listSourceFiles(p.dir, p.accept, seen);
      counts.set(p, mine.files.length);
      notes.push(...mine.notes);
      files.push(...mine.files.map((name) => ({ name, walked: true })));
      files.push(...mine.failed.map((f) => ({ name: f.name, walked: true, reason: f.reason })));
    }
    reportPlaces(io, found, missing, counts);
    for (const n of notes) note(n);
    // None of the places there: nothing was read, as when a named source does not exist (exit 2).
    if (!found.length) throw new UserError("nothing to ingest", ["name a file or directory: obs ingest <source…>"]);
    if (!files.length) {
      io.err("obs: no records in them yet\n");
      // Nothing read is still an answer: --json says so as every ingest does, with 0 sources.
      if (opts.json) reportIngest(emptyStats(), opts, io);
      return EXIT_OK;
    }
  }
  // The database being written is never one of its own sources, even when a walk finds it.
  const target = path.resolve(resolveDbPath(opts.db, io.env));
  const sources: Source[] = files
    .filter((f) => path.resolve(f.name) !== target)
    .map((f) => (f.reason !== undefined ? { kind: "unreadable", name: f.name, reason: f.reason } : f.name === "-" ? { kind: "stdin", name: "-" } : { kind: "file", name: f.name, walked: f.walked }));
  const dbPath = resolveDbPath(opts.db, io.env);
  const fresh = !fs.existsSync(dbPath);
  const db = openWritable(dbPath);
  let nothingWritten = false;
  try {
    const bar = io.errIsTTY && totalBytes(sources) >= PROGRESS_MIN_BYTES ? progressBar(io) : undefined;
    const stats = await ingestSources(
      db,
      sources,
      {
        skipInvalid: Boolean(opts.skipInvalid), format: opts.format, prices: loadPrices(opts.prices ?? io.env.OBS_PRICES), again: Boolean(opts.again),
        waitMs: opts.wait, dbPath: resolveDbPath(opts.db, io.env),
        onProgress: bar?.update, onNote: note,
      },
      io.stdin,
    );
    bar?.done();
    reportIngest(stats, opts, io);
    nothingWritten = stats.sources > 0 && stats.failed_sources.length === stats.sources;
    return stats.failed_sources.length > 0 ? EXIT_ERROR : EXIT_OK;
  } finally {
    db.close();
    // A database this ingest made, into which no source was written, is not left behind.
    if (fresh && nothingWritten) for (const f of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) fs.rmSync(f, { force: true });
  }
}

/** Bad lines and the closing line go to stderr; with --json the statistics are stdout's only content. */
export function reportIngest(stats: IngestStats, opts: { json?: boolean; skipInvalid?: boolean; followed?: boolean }, io: IO): void {
  const shown = stats.bad_lines.slice(0, MAX_BAD_LINES_SHOWN);
  for (const b of shown) io.err(`${b.source}:${b.line}: ${b.reason}\n`);
  if (stats.bad_lines.length > shown.length) {
    io.err(`… and ${stats.bad_lines.length - shown.length} more bad lines\n`);
  }
  // The formats obs reads, listed for the first file it cannot read and not again for the rest.
  let listed = false;
  for (const f of stats.failed_sources) {
    const r = stats.results.find((x) => x.source === f);
    const n = r?.rejected ?? 0;
    if (r?.unrecognised && r.reason?.endsWith(FORMATS_TAIL)) {
      io.err(`obs: ${f}: ${listed ? `${r.reason.slice(0, -FORMATS_TAIL.length)}; --format names one of the formats above` : r.reason}\n`);
      listed = true;
    } else if (r?.reason) io.err(`obs: ${f}: ${r.reason}\n`);
    else io.err(`obs: ${f}: nothing written (${n} bad line${n === 1 ? "" : "s"}); fix ${n === 1 ? "it" : "them"}, or pass --skip-invalid to write the good lines\n`);
  }
  if (opts.skipInvalid && stats.rejected > 0) {
    io.err(`obs: skipped ${stats.rejected} bad line${stats.rejected === 1 ? "" : "s"} (--skip-invalid)\n`);
  }
  if (opts.json) {
    const { results, ...rest } = stats;
    if (!opts.followed) return printJson(io, { ...rest, sources_detail: results });
    // As the closing line: a follower's seconds are how long it followed, mostly waiting, and a
    // rate over them says how idle the agents were, not how fast obs read; it is left out.
    const facts: Partial<typeof rest> = { ...rest };
    delete facts.lines_per_second;
    printJson(io, { followed: true, ...facts, sources_detail: results });
  } else {
    io.err(ingestSummaryLine(stats, { followed: opts.followed }) + "\n");
  }
}

export function registerIngest(program: Command, app: App): void {
  withCommon(
    program
      .command("ingest")
      .summary("load JSONL event files into the database")
      .description(
        "Load agents' records (files, directories, or - for stdin) into the database: obs's own event stream, " +
          "Claude Code sessions, Codex CLI rollouts, Gemini CLI recordings, claude -p and gemini -p stream-json output, " +
          "EventLogs, trace stores, and JSON arrays of their lines. Without a source it reads the places these tools keep " +
          "their records (~/.claude/projects, ~/.codex/sessions, ~/.gemini/tmp, …) and says which it found. " +
          "A source is written whole or not at all; ingesting again adds only what was added since. " +
          "While another process writes the database, ingest waits its turn (saying so when the wait is long).",
      )
      .argument("[source...]", "files, directories, or - for standard input (none: the places agents keep their records)")
      .option("--skip-invalid", "write the good lines of a file with bad ones (the bad are listed)")
      .option("--follow", "keep reading appended lines and new files until Ctrl-C (commits at least every 50 ms)")
      .option("--again", "read every source from its start, even one already up to date: runs obs prune removed come back, and nothing stored is doubled")
      .addOption(new Option("--format <format>", "read every source as this format instead of detecting it").choices([...FORMATS]))
      .option("--prices <file>", "model prices (JSON, per million tokens) laid over the built-in table; also $OBS_PRICES")
      .option("--wait <duration>", "give up after waiting this long for another process writing the database (default: wait as long as it takes)", parseDuration("--wait")),
  )
    .addHelpText("after", "\nExamples:\n  obs ingest                            # every agent's records on this machine\n  obs ingest transcripts/exec-123/unified.jsonl\n  obs ingest ~/.claude/projects        # Claude Code sessions, detected per file\n  claude -p \"fix the tests\" --output-format stream-json --verbose | obs ingest -\n  obs ingest transcripts/ --skip-invalid\n  obs ingest --follow transcripts/      # while the agents run; Ctrl-C stops\n  producer | obs ingest -")
    .action(async (sources: string[], o: Omit<IngestOpts, "sources">) => {
      app.code = await runIngest({ ...o, sources }, app.io);
    });
}
