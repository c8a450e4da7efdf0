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

/** A query by its id, or an unambiguous prefix of one (V00 is V001–V007, so it is not). */
export function findQuery(id: string): Query<Record<string, unknown>> {
  const want = id.toLowerCase();
  const q = QUERIES.find((x) => x.id.toLowerCase() === want);
  if (q) return q as unknown as Query<Record<string, unknown>>;
  const started = QUERIES.filter((x) => x.id.toLowerCase().startsWith(want));
  if (started.length === 1) return started[0] as unknown as Query<Record<string, unknown>>;
  const list = `list them with \`obs queries\``;
  if (started.length > 1) {
    throw new UserError(`query '${id}' is ambiguous: it starts ${started.length} ids`, [`did you mean ${started.map((x) => x.id).join(", ")}?`, list]);
  }
  const closest = QUERIES.map((x) => ({ id: x.id, d: distance(want, x.id.toLowerCase()) }))
    .sort((a, b) => a.d - b.d || a.id.localeCompare(b.id))
    .slice(0, 3)
    .map((x) => x.id);
  throw new UserError(`no query '${id}'`, [`closest: ${closest.join(", ")}`, list]);
}

/**
 * Where each kind of argument is known from: a column of a table, used when the table exists.
 * Each column has an index in files obs writes, so looking an id up costs a seek however big
 * the file is; the full list is read only to suggest ids when the one given is not there.
 */
const ID_SOURCES: Record<Exclude<ArgKind, "none">, { noun: string; from: { table: string; column: string }[] }> = {
  execution: {
    noun: "execution",
    from: [
      { table: "task_list_execution_runs", column: "id" },
      { table: "transcript_entries", column: "execution_id" },
    ],
  },
  task: {
    noun: "task",
    from: [
      { table: "tasks", column: "id" },
      { table: "transcript_entries", column: "task_id" },
    ],
  },
  correlation: { noun: "correlation id", from: [{ table: "message_bus_log", column: "correlation_id" }] },
  task_list: { noun: "task list", from: [{ table: "task_list_execution_runs", column: "task_list_id" }] },
  agent: {
    noun: "agent",
    from: [
      { table: "build_agent_instances", column: "id" },
      { table: "agent_heartbeats", column: "instance_id" },
      // Last: agents that only ever wrote entries (no heartbeat) are named there alone, without an index.
      { table: "transcript_entries", column: "instance_id" },
    ],
  },
};

/** The highest code point: every text that starts with a prefix sorts below prefix + this. */
const TOP = String.fromCodePoint(0x10ffff);

export function tableExists(db: DB, name: string): boolean {
  return Boolean(db.prepare(`SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?`).get(name));
}

function sourcesIn(db: DB, kind: Exclude<ArgKind, "none">) {
  return ID_SOURCES[kind].from.filter((src) => tableExists(db, src.table));
}

/** Every id of a kind: only to suggest the closest when the one given is not there. */
function knownIds(db: DB, kind: Exclude<ArgKind, "none">): string[] {
  const ids = new Set<string>();
  for (const { table, column } of sourcesIn(db, kind)) {
    for (const id of db.prepare(`SELECT DISTINCT ${column} FROM ${table} WHERE ${column} IS NOT NULL`).pluck().all() as string[]) ids.add(id);
  }
  return [...ids];
}

/** Whether the id is there, by one index seek per source. */
function hasId(db: DB, kind: Exclude<ArgKind, "none">, id: string): boolean {
  return sourcesIn(db, kind).some(({ table, column }) => db.prepare(`SELECT 1 FROM ${table} WHERE ${column} = ? LIMIT 1`).get(id) !== undefined);
}

/**
 * Up to `max` distinct ids that start with `prefix`, stepping from one to the next through the
 * index (each step a seek), so a prefix shared by a million rows of one execution costs little.
 */
function idsStarting(db: DB, kind: Exclude<ArgKind, "none">, prefix: string, max: number): string[] {
  const out = new Set<string>();
  for (const { table, column } of sourcesIn(db, kind)) {
    const next = db.prepare(`SELECT MIN(${column}) FROM ${table} WHERE ${column} > ? AND ${column} < ?`).pluck();
    const first = db.prepare(`SELECT MIN(${column}) FROM ${table} WHERE ${column} >= ? AND ${column} < ?`).pluck();
    let id = first.get(prefix, prefix + TOP) as string | null;
    while (id !== null && id !== undefined && out.size < max) {
      out.add(id);
      id = next.get(id, prefix + TOP) as string | null;
    }
  }
  return [...out].sort();
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)] as number[]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      // Two characters typed the wrong way round (V040 for V004) are one slip, not two.
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Resolves an id the user typed: exactly, or as an unambiguous prefix (as git takes short
 * hashes). Otherwise a UserError naming the closest ids.
 */
export function resolveId(db: DB, kind: Exclude<ArgKind, "none">, given: string): string {
  if (hasId(db, kind, given)) return given;
  const noun = ID_SOURCES[kind].noun;
  const prefixed = idsStarting(db, kind, given, 6);
  if (prefixed.length === 1) return prefixed[0]!;
  if (prefixed.length > 1) {
    throw new UserError(`${noun} '${given}' is ambiguous: it starts ${prefixed.length > 5 ? "more than 5" : prefixed.length} ids`, [`did you mean ${prefixed.slice(0, 5).join(", ")}${prefixed.length > 5 ? ", …" : ""}?`]);
  }
  const closest = knownIds(db, kind)
    .map((id) => ({ id, d: distance(given.toLowerCase(), id.toLowerCase()) }))
    .sort((a, b) => a.d - b.d || a.id.localeCompare(b.id))
    .slice(0, 3)
    .map((x) => x.id);
  throw new UserError(
    `no ${noun} '${given}'`,
    closest.length ? [`closest: ${closest.join(", ")}`] : [`the database has no ${noun}s yet`],
  );
}
