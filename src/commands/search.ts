import type { Command } from "commander";
import { openReadOnly, resolveDbPath, schemaVersion } from "../db/open.js";
import { openWritable } from "../db/write.js";
import { CJK_INDEX_VERSION, hasCjk, reindexSearch, SEARCH_KINDS } from "../db/search.js";
import { EXIT_FINDINGS, EXIT_OK, UserError } from "../errors.js";
import { palette, type IO, type Palette } from "../io.js";
import { missingFor } from "../queries/run.js";
import { matchExpression, S001, search, type SearchRow } from "../queries/search.js";
import { fmtInt, fmtTime } from "../render/format.js";
import { heading } from "../render/heading.js";
import { printJson } from "../render/output.js";
import { matchedWords, plainSnippet, renderSnippet } from "../render/snippet.js";
import { withRead } from "./context.js";
import { limitOption, Option, parseWhen, withCommon, type App, type CommonOpts } from "./common.js";

export interface SearchOpts extends CommonOpts {
  exec?: string;
  type?: string;
  since?: string;
  until?: string;
  limit?: number;
  fts?: boolean;
  reindex?: boolean;
}

/** A hit as JSON: the snippet as plain text, with the words that matched beside it. */
function jsonHit(r: SearchRow) {
  return { ...r, snippet: plainSnippet(r.snippet), matches: matchedWords(r.snippet) };
}

/** Past this many rows changed by other producers, a search says how to fold them in for good. */
const PENDING_HINT = 50_000;

export async function runSearch(words: string[], opts: SearchOpts, io: IO): Promise<number> {
  const dbPath = resolveDbPath(opts.db, io.env);
  if (opts.reindex) {
    openReadOnly(dbPath).close(); // the usual clear error when there is no database
    const db = openWritable(dbPath);
    try {
      const started = performance.now();
      const docs = reindexSearch(db);
      const seconds = (performance.now() - started) / 1000;
      const said = `search index rebuilt: ${fmtInt(docs)} documents in ${seconds.toFixed(1)} s\n`;
      // With words to search, the rebuild is progress (stderr) and stdout carries only the hits.
      if (words.length) io.err(said);
      else if (opts.json) printJson(io, { documents: docs, seconds: Number(seconds.toFixed(3)) });
      else io.out(said);
    } finally {
      db.close();
    }
    if (!words.length) return EXIT_OK;
  }
  if (!words.length) throw new UserError("what should obs search for?", ["e.g. obs search ECONNREFUSED, or obs search \"connection refused\" --type error"]);
  const match = matchExpression(words.join(" "), opts.fts);
  return withRead(opts.db, io, {}, (ctx) => {
    const missing = missingFor(ctx.db, S001);
    if (missing) {
      throw new UserError(`${dbPath} has no search index (${missing})`, [
        "it was written before obs had search, or by another program: `obs search --reindex` builds the index",
      ]);
    }
    // A reader never migrates, so a file an older obs wrote keeps its old index until something writes it.
    if (hasCjk(words.join(" ")) && schemaVersion(ctx.db) < CJK_INDEX_VERSION) {
      io.err(
        `obs: ${dbPath}'s search index was built by an older obs, which kept each run of Chinese, Japanese or Korean text as one word, ` +
          "so words inside such text are not found; `obs search --reindex` (or any obs command that writes the file, e.g. `obs init`) rebuilds it\n",
      );
    }
    const execution = opts.exec ? ctx.resolve("execution", opts.exec) : null;
    // Tables show a screenful; JSON gives every hit unless --limit says otherwise (-1: no limit).
    const limit = opts.limit ?? (opts.json || opts.ndjson ? -1 : 20);
    let found: { rows: SearchRow[]; pending: number };
    try {
      found = search(ctx.db, { match, execution_id: execution, kind: opts.type ?? null, since: opts.since ?? null, until: opts.until ?? null, limit });
    } catch (e) {
      const err = e as { code?: string; message: string };
      // Only a hand-written FTS5 expression can be malformed; what people type is quoted. Any
      // SQL error of a search with --fts is the expression's (the query itself is fixed).
      if (err.code === "SQLITE_ERROR" && (opts.fts || /fts5|syntax error|no such column/i.test(err.message))) {
        throw new UserError(`--fts: '${words.join(" ")}' is not an FTS5 query (${err.message})`, [
          "e.g. 'timeout OR ECONNREFUSED', 'NEAR(database refused)', 'conn*'; or drop --fts to search the words as typed",
        ]);
      }
      throw e;
    }
    if (found.pending > PENDING_HINT) {
      io.err(`obs: ${fmtInt(found.pending)} rows written by other programs are indexed on the fly at each search; \`obs search --reindex\` (or any obs ingest) folds them in\n`);
    }
    const rows = found.rows;
    if (opts.json) printJson(io, rows.map(jsonHit));
    else if (opts.ndjson) for (const r of rows) io.out(JSON.stringify(jsonHit(r)) + "\n");
    else printHits(io, rows, limit);
    // As grep: 0 when something matched, 1 when nothing did.
    return rows.length ? EXIT_OK : EXIT_FINDINGS;
  });
}

/**
 * A hit's heading: execution, task, agent, time, kind and what it is, and the hit's own id (what
 * `obs show` takes), laid out as every heading is: two spaces apart on one line while they fit,
 * then on lines indented by two; ids are never cut nor left out (each hit names its execution,
 * task and agent), and what it is (a tool's name) is cut after a word, after its kind.
 */
function header(r: SearchRow, columns: number, c: Palette): string {
  const what = r.what && r.what !== r.kind ? r.what : "";
  const kind = (t: string) => (r.kind === "error" ? c.error(t) : c.accent(t));
  return heading([
    { text: r.execution_id ?? "—", keep: true, style: c.id }, { text: r.task_id ?? "—", keep: true }, { text: r.agent ?? "—", keep: true },
    { text: fmtTime(r.time), keep: true },
    // One part, so the kind never ends a line whose next begins with its tool; cut only where a
    // few words fit, so the kind (one word, at most "assertion") stays whole.
    what
      ? { text: `${r.kind} ${what}`, style: (t) => kind(t.slice(0, r.kind.length)) + c.dim(t.slice(r.kind.length)) }
      : { text: r.kind, keep: true, style: kind },
    { text: r.id, keep: true, style: c.dim },
  ], columns);
}

function printHits(io: IO, rows: SearchRow[], limit: number): void {
  const c = palette(io.color);
  // As grep: nothing found prints nothing on stdout (the exit status says it); a person is told on stderr.
  if (!rows.length) {
    io.err("obs: no matches\n");
    return;
  }
  // Without colour the matched words still stand out, between asterisks.
  const mark = io.color ? (w: string) => c.warn(c.bold(w)) : (w: string) => `*${w}*`;
  const lines: string[] = [];
  for (const r of rows) {
    lines.push(header(r, io.columns, c));
    for (const l of renderSnippet(r.snippet, mark, io.columns - 4)) lines.push(`    ${l}`);
  }
  if (rows.length === limit) lines.push(c.dim(`(the best ${limit} shown; --limit N for more)`));
  io.out(lines.join("\n") + "\n");
}

export function registerSearch(program: Command, app: App): void {
  withCommon(
    program
      .command("search")
      .summary("find text across runs: entries, tool calls, errors, bus lines, evidence")
      .description(
        "Full-text search (SQLite FTS5) over transcript entries, tool inputs and outputs, error messages, bus summaries and assertion evidence, best match first. " +
          "Every word must appear; \"quoted words\" must appear together; a word ending in * matches as a prefix; " +
          "a Chinese, Japanese or Korean word is found inside longer runs of text. " +
          "Exit status as grep: 0 when something matched, 1 when nothing did, 2 on error.",
      )
      .argument("[words...]", "what to find")
      .option("--exec <id>", "only in this execution (id or unambiguous prefix)")
      .addOption(new Option("--type <kind>", "only this kind of hit").choices([...SEARCH_KINDS]))
      .option("--since <when>", "only hits at or after (date, or age like 7d, 24h)", parseWhen("--since"))
      .option("--until <when>", "only hits before (date, or age like 7d, 24h)", parseWhen("--until"))
      .addOption(limitOption(20))
      .option("--fts", "the words are an FTS5 query: AND, OR, NOT, NEAR(…), \"phrases\", prefix*")
      .option("--reindex", "rebuild the search index from the tables (writes), then search if words are given"),
    { ndjson: true },
  )
    .addHelpText(
      "after",
      "\nExamples:\n  obs search ECONNREFUSED\n  obs search \"connection refused\" --type error --since 7d\n" +
        "  obs search 'auth*' --exec exec-103 --json | jq -r '.[].execution_id' | sort -u\n  obs search --fts 'timeout OR ECONNREFUSED'",
    )
    .action(async (words: string[], o: SearchOpts) => {
      app.code = await runSearch(words, o, app.io);
    });
}
