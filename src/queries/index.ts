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
 * Where each kind of argument is known from: a column of a table, used when the table exists,
 * and the column naming the execution a row is of (so an id can be looked up within one run).
 * Each id column has an index in files obs writes, so looking an id up costs a seek however big
 * the file is; the full list is read only to suggest ids when the one given is not there.
 */
type IdKind = Exclude<ArgKind, "none">;
interface IdSource { table: string; column: string; execution: string }
const ID_SOURCES: Record<IdKind, { noun: string; from: IdSource[] }> = {
  execution: {
    noun: "execution",
    from: [
      { table: "task_list_execution_runs", column: "id", execution: "id" },
      { table: "transcript_entries", column: "execution_id", execution: "execution_id" },
    ],
  },
  task: {
    noun: "task",
    from: [
      { table: "tasks", column: "id", execution: "execution_id" },
      { table: "transcript_entries", column: "task_id", execution: "execution_id" },
    ],
  },
  correlation: { noun: "correlation id", from: [{ table: "message_bus_log", column: "correlation_id", execution: "execution_id" }] },
  task_list: { noun: "task list", from: [{ table: "task_list_execution_runs", column: "task_list_id", execution: "id" }] },
  agent: {
    noun: "agent",
    from: [
      { table: "build_agent_instances", column: "id", execution: "execution_id" },
      { table: "agent_heartbeats", column: "instance_id", execution: "execution_id" },
      // Last: agents that only ever wrote entries (no heartbeat) are named there alone, without an index.
      { table: "transcript_entries", column: "instance_id", execution: "execution_id" },
    ],
  },
};

/** The highest code point: every text that starts with a prefix sorts below prefix + this. */
const TOP = String.fromCodePoint(0x10ffff);

export function tableExists(db: DB, name: string): boolean {
  return Boolean(db.prepare(`SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?`).get(name));
}

function sourcesIn(db: DB, kind: IdKind) {
  return ID_SOURCES[kind].from.filter((src) => tableExists(db, src.table));
}

/** `AND <execution column> = ?` with its value, when the look-up keeps to one execution. */
function scoped(src: IdSource, within: string | undefined): { sql: string; args: string[] } {
  return within === undefined ? { sql: "", args: [] } : { sql: ` AND ${src.execution} = ?`, args: [within] };
}

/** Every id of a kind (of one execution, `within`): only to suggest the closest when the one given is not there. */
function knownIds(db: DB, kind: IdKind, within?: string): string[] {
  const ids = new Set<string>();
  for (const src of sourcesIn(db, kind)) {
    const w = scoped(src, within);
    for (const id of db.prepare(`SELECT DISTINCT ${src.column} FROM ${src.table} WHERE ${src.column} IS NOT NULL${w.sql}`).pluck().all(...w.args) as string[]) ids.add(id);
  }
  return [...ids];
}

/** Whether the id is there (in the execution `within`), by one index seek per source. */
function hasId(db: DB, kind: IdKind, id: string, within?: string): boolean {
  return sourcesIn(db, kind).some((src) => {
    const w = scoped(src, within);
    return db.prepare(`SELECT 1 FROM ${src.table} WHERE ${src.column} = ?${w.sql} LIMIT 1`).get(id, ...w.args) !== undefined;
  });
}

/** The executions an id of a kind is of, to say where an id the user gave for one run belongs. */
function executionsOf(db: DB, kind: IdKind, id: string): string[] {
  const out = new Set<string>();
  for (const src of sourcesIn(db, kind)) {
    for (const e of db.prepare(`SELECT DISTINCT ${src.execution} FROM ${src.table} WHERE ${src.column} = ? AND ${src.execution} IS NOT NULL LIMIT 3`).pluck().all(id) as string[]) out.add(e);
  }
  return [...out].sort();
}

/**
 * Up to `max` distinct ids that start with `prefix`, stepping from one to the next through the
 * index (each step a seek), so a prefix shared by a million rows of one execution costs little.
 */
function idsStarting(db: DB, kind: IdKind, prefix: string, max: number, within?: string): string[] {
  const out = new Set<string>();
  for (const src of sourcesIn(db, kind)) {
    const { table, column } = src;
    const w = scoped(src, within);
    const next = db.prepare(`SELECT MIN(${column}) FROM ${table} WHERE ${column} > ? AND ${column} < ?${w.sql}`).pluck();
    const first = db.prepare(`SELECT MIN(${column}) FROM ${table} WHERE ${column} >= ? AND ${column} < ?${w.sql}`).pluck();
    let id = first.get(prefix, prefix + TOP, ...w.args) as string | null;
    while (id !== null && id !== undefined && out.size < max) {
      out.add(id);
      id = next.get(id, prefix + TOP, ...w.args) as string | null;
    }
  }
  return [...out].sort();
}

/** The `n` of `candidates` nearest to what was typed (by edits, case aside), to suggest. */
export function closestTo(given: string, candidates: readonly string[], n = 3): string[] {
  return [...new Set(candidates)]
    .map((id) => ({ id, d: distance(given.toLowerCase(), id.toLowerCase()) }))
    .sort((a, b) => a.d - b.d || a.id.localeCompare(b.id))
    .slice(0, n)
    .map((x) => x.id);
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

/** An id resolved: what it names and the id as stored. */
export interface IdHit {
  kind: IdKind;
  id: string;
}

const nounsOf = (kinds: readonly IdKind[]) => kinds.map((k) => ID_SOURCES[k].noun).join(" or ");

/**
 * Resolves an id the user typed, one rule for every command: an exact id of any of `kinds`
 * first (the earlier kind when it is several), then the one id it starts (as git takes short
 * hashes), else a UserError: "ambiguous" with the ids it starts, or "no such id" with the
 * closest. `within` keeps to one execution's ids: an id of another execution is refused,
 * naming where it is, and the closest are the execution's own.
 */
export function resolveAmong(db: DB, kinds: readonly IdKind[], given: string, within?: string): IdHit {
  const nouns = nounsOf(kinds);
  if (given === "") throw new UserError(`an empty ${nouns} id: give one (a unique prefix will do)`);
  for (const kind of kinds) if (hasId(db, kind, given, within)) return { kind, id: given };
  // Each id once, as the first of the kinds it is.
  const started = new Map<string, IdKind>();
  for (const kind of kinds) for (const id of idsStarting(db, kind, given, 6, within)) if (!started.has(id)) started.set(id, kind);
  if (started.size === 1) {
    const [[id, kind]] = [...started];
    return { kind, id };
  }
  const name = (id: string) => (kinds.length > 1 ? `${id} (${ID_SOURCES[started.get(id)!].noun})` : id);
  if (started.size > 1) {
    const ids = [...started.keys()].sort();
    throw new UserError(
      `${kinds.length > 1 ? "" : `${nouns} `}'${given}' is ambiguous: it starts ${ids.length > 5 ? "more than 5" : ids.length} ids`,
      [`did you mean ${ids.slice(0, 5).map(name).join(", ")}${ids.length > 5 ? ", …" : ""}?`],
    );
  }
  if (within !== undefined) {
    // Of another run: said in one line, naming both, rather than suggesting look-alikes.
    for (const kind of kinds) {
      const elsewhere = hasId(db, kind, given) ? [given] : idsStarting(db, kind, given, 2);
      if (elsewhere.length !== 1) continue;
      const execs = executionsOf(db, kind, elsewhere[0]!);
      const noun = ID_SOURCES[kind].noun;
      throw new UserError(`${noun} '${elsewhere[0]}' belongs to ${execs.length === 1 ? `execution ${execs[0]}` : `executions ${execs.join(", ")}`}, not ${within}`);
    }
  }
  const closest = closestTo(given, kinds.flatMap((kind) => knownIds(db, kind, within)));
  const where = within === undefined ? "" : ` in ${within}`;
  throw new UserError(
    `no ${nouns} '${given}'${where}`,
    closest.length ? [`closest${where}: ${closest.join(", ")}`] : [within === undefined ? `the database has no ${kinds.length > 1 ? "such ids" : `${nouns}s`} yet` : `${within} has no ${nouns}s`],
  );
}

/** One kind of id resolved by the rule of resolveAmong. */
export function resolveId(db: DB, kind: IdKind, given: string, within?: string): string {
  return resolveAmong(db, [kind], given, within).id;
}
