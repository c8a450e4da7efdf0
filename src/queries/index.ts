import type { DB } from "../db/open.js";
import { UserError } from "../errors.js";
import { AGGREGATION } from "./aggregation.js";
import { DETECTION } from "./detection.js";
import { INVESTIGATION } from "./investigation.js";
import { PARALLEL } from "./parallel.js";
import { TROUBLESHOOTING } from "./troubleshooting.js";
import type { ArgKind, Query } from "./types.js";
import { VALIDATION } from "./validation.js";

/** The 40 named queries, in the order of queries.md (and D007, repeated calls, after them). */
export const QUERIES: readonly Query<never>[] = [
  ...VALIDATION, ...TROUBLESHOOTING, ...INVESTIGATION, ...AGGREGATION, ...PARALLEL, ...DETECTION,
] as unknown as Query<never>[];

export function findQuery(id: string): Query<Record<string, unknown>> {
  const q = QUERIES.find((x) => x.id.toLowerCase() === id.toLowerCase());
  if (!q) {
    throw new UserError(`no query '${id}'`, [`the queries are ${QUERIES[0]!.id}…${QUERIES[QUERIES.length - 1]!.id}; list them with \`obs queries\``]);
  }
  return q as unknown as Query<Record<string, unknown>>;
}

/** Where each kind of argument is known from: one lookup per table, used when the table exists. */
const ID_SOURCES: Record<Exclude<ArgKind, "none">, { noun: string; from: { table: string; sql: string }[] }> = {
  execution: {
    noun: "execution",
    from: [
      { table: "task_list_execution_runs", sql: `SELECT id FROM task_list_execution_runs` },
      { table: "transcript_entries", sql: `SELECT DISTINCT execution_id AS id FROM transcript_entries` },
    ],
  },
  task: {
    noun: "task",
    from: [
      { table: "tasks", sql: `SELECT id FROM tasks` },
      { table: "transcript_entries", sql: `SELECT DISTINCT task_id AS id FROM transcript_entries WHERE task_id IS NOT NULL` },
    ],
  },
  correlation: {
    noun: "correlation id",
    from: [{ table: "message_bus_log", sql: `SELECT DISTINCT correlation_id AS id FROM message_bus_log WHERE correlation_id IS NOT NULL` }],
  },
  task_list: {
    noun: "task list",
    from: [{ table: "task_list_execution_runs", sql: `SELECT DISTINCT task_list_id AS id FROM task_list_execution_runs WHERE task_list_id IS NOT NULL` }],
  },
};

export function tableExists(db: DB, name: string): boolean {
  return Boolean(db.prepare(`SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?`).get(name));
}

function knownIds(db: DB, kind: Exclude<ArgKind, "none">): string[] {
  const ids = new Set<string>();
  for (const src of ID_SOURCES[kind].from) {
    if (!tableExists(db, src.table)) continue;
    for (const r of db.prepare(src.sql).all() as { id: string }[]) ids.add(r.id);
  }
  return [...ids];
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)] as number[]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Resolves an id the user typed: exactly, or as an unambiguous prefix (as git takes short
 * hashes). Otherwise a UserError naming the closest ids.
 */
export function resolveId(db: DB, kind: Exclude<ArgKind, "none">, given: string): string {
  const ids = knownIds(db, kind);
  if (ids.includes(given)) return given;
  const noun = ID_SOURCES[kind].noun;
  const prefixed = ids.filter((id) => id.startsWith(given));
  if (prefixed.length === 1) return prefixed[0]!;
  if (prefixed.length > 1) {
    throw new UserError(`${noun} '${given}' is ambiguous: it starts ${prefixed.length} ids`, [`did you mean ${prefixed.slice(0, 5).join(", ")}${prefixed.length > 5 ? ", …" : ""}?`]);
  }
  const closest = ids
    .map((id) => ({ id, d: distance(given.toLowerCase(), id.toLowerCase()) }))
    .sort((a, b) => a.d - b.d || a.id.localeCompare(b.id))
    .slice(0, 3)
    .map((x) => x.id);
  throw new UserError(
    `no ${noun} '${given}'`,
    closest.length ? [`closest: ${closest.join(", ")}`] : [`the database has no ${noun}s yet`],
  );
}
