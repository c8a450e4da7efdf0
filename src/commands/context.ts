import { openReadOnly, resolveDbPath, type DB } from "../db/open.js";
import { UserError } from "../errors.js";
import type { IO } from "../io.js";
import { resolveAmong, resolveId, tableExists, type IdHit } from "../queries/index.js";
import { runQuery } from "../queries/run.js";
import type { ArgKind, Query, QueryResult } from "../queries/types.js";

/**
 * What a read command works with: the database opened read-only, the caller's clock, and
 * the option values for the queries it runs. Commands stay thin: they pick queries and views.
 */
export class ReadContext {
  readonly db: DB;

  constructor(
    dbFlag: string | undefined,
    readonly io: IO,
    readonly overrides: Record<string, number> = {},
  ) {
    this.db = openReadOnly(resolveDbPath(dbFlag, io.env));
  }

  /** "Now" for runs still going (P002, T004), read when asked (a live view lives long); OBS_NOW fixes it for tests and snapshots. */
  get now(): string {
    const fixed = this.io.env.OBS_NOW;
    return fixed && !Number.isNaN(Date.parse(fixed)) ? new Date(fixed).toISOString() : new Date().toISOString();
  }

  /** An id the user gave (exact, else a unique prefix), of one execution's when `within` names it. */
  resolve(kind: Exclude<ArgKind, "none">, given: string, within?: string): string {
    return resolveId(this.db, kind, given, within);
  }

  /** An id that may name a thing of several kinds: an exact id of any kind wins over a prefix of another. */
  resolveAmong(kinds: readonly Exclude<ArgKind, "none">[], given: string): IdHit {
    return resolveAmong(this.db, kinds, given);
  }

  /**
   * Every execution id, newest first (those known only from transcripts by their first entry).
   * Read through indexes: the run rows, then the entries' executions stepped through one seek
   * each, so the cost grows with the executions, not with the events.
   */
  executions(): string[] {
    const runs = tableExists(this.db, "task_list_execution_runs");
    const entries = tableExists(this.db, "transcript_entries");
    const started = new Map<string, string | null>();
    if (runs) for (const r of this.db.prepare(`SELECT id, started_at FROM task_list_execution_runs`).all() as { id: string; started_at: string | null }[]) started.set(r.id, r.started_at);
    if (entries) {
      const next = this.db.prepare(`SELECT MIN(execution_id) FROM transcript_entries WHERE execution_id > ?`).pluck();
      // Its first entry by sequence: one seek on (execution_id, sequence).
      const first = this.db.prepare(`SELECT timestamp FROM transcript_entries WHERE execution_id = ? ORDER BY sequence LIMIT 1`).pluck();
      for (let id = next.get("") as string | null; id !== null && id !== undefined; id = next.get(id) as string | null) {
        const at = started.get(id);
        // A run row without a start (registered, never said "started") dates from its first entry, as one with none.
        if (at === undefined || at === null) {
          const t = first.get(id) as string | null;
          if (at === undefined || t !== null) started.set(id, t);
        }
      }
    }
    return [...started].sort((a, b) => ((b[1] ?? "") < (a[1] ?? "") ? -1 : (b[1] ?? "") > (a[1] ?? "") ? 1 : a[0] < b[0] ? 1 : -1)).map(([id]) => id);
  }

  run<Row>(q: Query<Row>, args: Record<string, string | null>): QueryResult<Row> {
    const params: Record<string, unknown> = { now: this.now, execution_id: null, task_id: null, correlation_id: null, task_list_id: null, ...args };
    for (const o of q.options ?? []) params[o.name] = this.overrides[o.name] ?? o.default;
    return runQuery(this.db, q, params);
  }

  close(): void {
    this.db.close();
  }
}

/** Opens a read context, runs `f`, and closes the database whatever happens. */
export async function withRead<T>(dbFlag: string | undefined, io: IO, overrides: Record<string, number>, f: (ctx: ReadContext) => T | Promise<T>): Promise<T> {
  const ctx = new ReadContext(dbFlag, io, overrides);
  try {
    return await f(ctx);
  } finally {
    ctx.close();
  }
}

/** Parses a duration flag: 90s, 5m, 1h, 1500ms. A bare number is refused: 5 could mean 5 ms or 5 minutes. */
export function parseDuration(flag: string) {
  return (value: string): number => {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(value.trim());
    if (!m) throw new UserError(`${flag} must be a duration like 500ms, 90s, 5m or 1h, got '${value}'`);
    if (!m[2]) throw new UserError(`${flag} needs a unit: ${m[1]}ms, ${m[1]}s, ${m[1]}m or ${m[1]}h?`);
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
    return Math.round(Number(m[1]) * unit);
  };
}

/**
 * A multi-query command's JSON: the rows of each query keyed by its id (at most `limit` of each
 * when --limit was given), plus what was skipped.
 */
export function keyedJson(head: Record<string, unknown>, results: readonly QueryResult<unknown>[], limit?: number): Record<string, unknown> {
  const out: Record<string, unknown> = { ...head };
  const skipped: Record<string, string> = {};
  for (const r of results) {
    out[r.id] = limit ? r.rows.slice(0, limit) : r.rows;
    if (r.skipped) skipped[r.id] = r.reason;
  }
  if (Object.keys(skipped).length) out.skipped = skipped;
  return out;
}
