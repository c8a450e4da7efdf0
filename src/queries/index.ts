import type { DB } from "../db/open.js";
import { UserError } from "../errors.js";
import { AGGREGATION } from "./aggregation.js";
import { DETECTION } from "./detection.js";
import { INVESTIGATION } from "./investigation.js";
import { L009, L010, L011, type RecordIdRow, type RecordKind } from "./listing.js";
import { PARALLEL } from "./parallel.js";
import { runQuery } from "./run.js";
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
 * What the rule of `settle` asks of a set of ids, so that `obs show` (every kind of record) and
 * the other commands (executions, tasks, agents, …) take a short id the same way.
 */
interface IdSpace<K extends string> {
  /** The kinds the id is exactly, preferred first. */
  exact(id: string): K[];
  /** Some ids that start with the prefix (up to 6 of each kind, so every one when a kind has few), each with a kind it is. */
  starting(prefix: string): [string, K][];
  /** The kind an execution is, when the set has executions. */
  execution?: K;
  /** Whether every id of the set that starts with the prefix, other than the execution's own, is of a record of that execution. */
  onlyOf(prefix: string, execution: string): boolean;
  /** "task " before "'x' is ambiguous" when the set is of one kind. */
  noun: string;
  label(kind: K): string;
}

/**
 * The one rule for an id a user typed: an exact id wins (of every kind it is, the first
 * preferred); else the one id it starts (as git takes short hashes); else, when it starts one
 * execution's id and otherwise only ids of that execution's own records (a Codex run's tasks
 * are `<run>/…`, a Claude Code session's agents and model calls `<session>/…`), that execution:
 * every short form of such a run's id would otherwise be ambiguous. Null when it starts no id;
 * a UserError naming them when it starts ids of several executions or of none.
 */
function settle<K extends string>(space: IdSpace<K>, given: string): { id: string; kinds: K[] } | null {
  const exact = space.exact(given);
  if (exact.length) return { id: given, kinds: exact };
  const started = space.starting(given);
  const kindsOf = new Map<string, K[]>();
  for (const [id, kind] of started) kindsOf.set(id, [...(kindsOf.get(id) ?? []), kind]);
  if (kindsOf.size === 0) return null;
  if (kindsOf.size === 1) {
    const [[id, kinds]] = [...kindsOf];
    return { id, kinds };
  }
  const execs = space.execution === undefined ? [] : [...kindsOf].filter(([, kinds]) => kinds.includes(space.execution!)).map(([id]) => id);
  // Up to 6 of each kind were read, so one execution here is the only one the prefix starts.
  if (execs.length === 1 && space.onlyOf(given, execs[0]!)) {
    const kinds = kindsOf.get(execs[0]!)!;
    return { id: execs[0]!, kinds: [space.execution!, ...kinds.filter((k) => k !== space.execution)] };
  }
  // Executions first: an execution's records have ids that start with its own, and would hide it.
  const isExec = (id: string) => (space.execution !== undefined && kindsOf.get(id)!.includes(space.execution) ? 0 : 1);
  const ids = [...kindsOf.keys()].sort((a, b) => isExec(a) - isExec(b) || (a < b ? -1 : a > b ? 1 : 0));
  // The kind is said only when it tells the ids apart.
  const several = new Set([...kindsOf.values()].map((k) => k[0])).size > 1;
  const name = (id: string) => (several ? `${id} (${space.label(kindsOf.get(id)![0]!)})` : id);
  throw new UserError(
    `${space.noun}'${given}' is ambiguous: it starts ${ids.length > 5 ? "more than 5" : ids.length} ids`,
    [`did you mean ${ids.slice(0, 5).map(name).join(", ")}${ids.length > 5 ? ", …" : ""}?`],
  );
}

/** Whether every row of a source whose id starts with the prefix is of the execution (read only when a prefix would otherwise be ambiguous). */
function allOf(db: DB, src: IdSource, prefix: string, execution: string): boolean {
  return db.prepare(`SELECT 1 FROM ${src.table} WHERE ${src.column} >= ? AND ${src.column} < ? AND ${src.execution} IS NOT ? LIMIT 1`).get(prefix, prefix + TOP, execution) === undefined;
}

/**
 * Resolves an id the user typed by the rule of `settle`: an exact id of any of `kinds` first
 * (the earlier kind when it is several), then the one id it starts, or the one execution it
 * starts when the rest are that execution's; else a UserError: "ambiguous" with the ids it
 * starts, or "no such id" with the closest. `within` keeps to one execution's ids: an id of
 * another execution is refused, naming where it is, and the closest are the execution's own.
 */
export function resolveAmong(db: DB, kinds: readonly IdKind[], given: string, within?: string): IdHit {
  const nouns = nounsOf(kinds);
  if (given === "") throw new UserError(`an empty ${nouns} id: give one (a unique prefix will do)`);
  const hit = settle<IdKind>({
    exact: (id) => kinds.filter((kind) => hasId(db, kind, id, within)),
    starting: (prefix) => kinds.flatMap((kind) => idsStarting(db, kind, prefix, 6, within).map((id): [string, IdKind] => [id, kind])),
    execution: kinds.includes("execution") ? "execution" : undefined,
    // The execution's own sources hold no other execution's id (it is the only one started).
    onlyOf: (prefix, execution) => kinds.every((kind) => kind === "execution" || sourcesIn(db, kind).every((src) => allOf(db, src, prefix, execution))),
    noun: kinds.length > 1 ? "" : `${nouns} `,
    label: (kind) => ID_SOURCES[kind].noun,
  }, given);
  if (hit) return { kind: hit.kinds[0]!, id: hit.id };
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

/**
 * The records an id names, for `obs show`: every kind of record that has the id it resolves to
 * by the rule of `settle` (the execution first when a prefix was taken as one); else a
 * UserError with the ids sharing the longest start with what was typed.
 */
export function resolveRecord(db: DB, given: string): RecordIdRow[] {
  const hit = settle<RecordKind>({
    exact: (id) => runQuery(db, L009, { id }).rows.map((r) => r.kind),
    starting: (prefix) => runQuery(db, L010, { prefix }).rows.map((r): [string, RecordKind] => [r.id, r.kind]),
    execution: "execution",
    onlyOf: (prefix, execution) => runQuery(db, L011, { prefix, execution }).rows.length === 0,
    noun: "",
    label: (kind) => kind.replace("_", " "),
  }, given);
  if (hit) return hit.kinds.map((kind) => ({ kind, id: hit.id }));
  // The closest: ids sharing the longest start with what was typed, one index range per kind.
  for (let n = given.length - 1; n >= 2; n--) {
    const near = [...new Set(runQuery(db, L010, { prefix: given.slice(0, n) }).rows.map((r) => r.id))].sort();
    if (near.length) throw new UserError(`no record has the id '${given}'`, [`closest: ${near.slice(0, 3).join(", ")}`]);
  }
  throw new UserError(`no record has the id '${given}'`, ["obs show takes the id of a tool call, entry, assertion, chain, skill, model call, task, agent, execution, bus event or wave, as obs prints them"]);
}

/** One kind of id resolved by the rule of resolveAmong. */
export function resolveId(db: DB, kind: IdKind, given: string, within?: string): string {
  return resolveAmong(db, [kind], given, within).id;
}
