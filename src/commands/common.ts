import { createRequire } from "node:module";
import type { Command, Option as OptionType } from "commander";
import type { IO } from "../io.js";
import { UserError } from "../errors.js";

/**
 * commander as the CommonJS package it is: its ESM wrapper costs every command a few ms more to
 * load. Commands take Option (and the CLI Command) from here, so it is loaded once, one way.
 */
const commander = createRequire(import.meta.url)("commander") as typeof import("commander");
export const { Command: CommandClass, CommanderError } = commander;
export const Option = commander.Option;
export type Option = OptionType;

/** What every command is given: the IO to write to, and where to put its exit status. */
export interface App {
  io: IO;
  code: number;
}

export interface CommonOpts {
  db?: string;
  json?: boolean;
  ndjson?: boolean;
}

/**
 * The flags every command takes, so `obs X --db f --json` works the same everywhere; a command
 * whose output is no table (an export) or a stream (NDJSON) says so and gets only what fits.
 */
export function withCommon(cmd: Command, opts: { ndjson?: boolean; json?: boolean } = {}): Command {
  cmd.option("--db <path>", "database file (default: $OBS_DB, else ./obs.db)");
  if (opts.json !== false) cmd.option("--json", "print JSON on stdout instead of a table");
  if (opts.ndjson) cmd.option("--ndjson", "print one JSON object per line");
  return refuseEmpty(cmd);
}

const isEmpty = (v: unknown): boolean => v === "" || (Array.isArray(v) && v.includes(""));

/**
 * An empty value (a script's unset variable: `--db "$DB"`, `obs show "$ID"`) is a usage error
 * naming the flag or argument: never a prefix that starts every id, nor the default taken
 * silently. A flag's value is checked as given, before its parser turns '' into something else
 * (a port of 0, a limit of 0); arguments, and flags added after this, when the action runs.
 */
function refuseEmpty(cmd: Command): Command {
  const flag = (o: Option) => o.long ?? o.short ?? o.name();
  const emptyFlag = (o: Option) =>
    new UserError(`${flag(o)} is empty: give it a value, or leave it out`, [`${o.flags}: ${o.description}`]);
  for (const o of cmd.options) {
    if (!o.required && !o.optional) continue; // a switch takes no value
    cmd.on(`option:${o.name()}`, (value: unknown) => {
      if (value === "") throw emptyFlag(o);
    });
  }
  cmd.hook("preAction", (_self, action) => {
    const given = action.opts();
    for (const o of action.options) if (isEmpty(given[o.attributeName()])) throw emptyFlag(o);
    action.registeredArguments.forEach((a, i) => {
      if (!isEmpty(action.processedArgs[i])) return;
      const shown = a.required ? `<${a.name()}${a.variadic ? "..." : ""}>` : `[${a.name()}${a.variadic ? "..." : ""}]`;
      const what = a.variadic ? `one of the ${shown} arguments is empty: give each a value` : `the ${shown} argument is empty: give it a value`;
      throw new UserError(`${what}${a.required ? "" : ", or leave it out"}`, a.description ? [`${a.name()}: ${a.description}`] : []);
    });
  });
  return cmd;
}

/**
 * --limit: rows per list. Left unset it means a screenful for people (`shown`) and everything
 * in JSON, so scripts never get a silently shortened answer.
 */
export function limitOption(shown: number): Option {
  return new Option("--limit <n>", `rows per list (default ${shown} in tables, all in JSON)`).argParser(parsePositiveInt("--limit"));
}

export function parsePositiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new UserError(`${flag} must be a positive integer, got '${value}'`);
    return n;
  };
}

/** Parses --since/--until: an ISO date or time, or an age like 30m, 24h, 7d (before now). */
export function parseWhen(flag: string, now: () => number = Date.now) {
  return (value: string): string => {
    const rel = /^(\d+)\s*(s|m|h|d|w)$/.exec(value.trim());
    if (rel) {
      const unit = { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8 }[rel[2] as "s" | "m" | "h" | "d" | "w"];
      return new Date(now() - Number(rel[1]) * unit).toISOString();
    }
    const iso = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+)?(Z|[+-]\d{2}:?\d{2})?$/.test(value.trim())
      ? Date.parse(/[T ]/.test(value) && !/(Z|[+-]\d{2}:?\d{2})$/.test(value) ? value + "Z" : value)
      : NaN;
    if (Number.isNaN(iso)) {
      throw new UserError(`${flag} must be a date (2026-01-16, 2026-01-16T09:30Z) or an age (30m, 24h, 7d), got '${value}'`);
    }
    return new Date(iso).toISOString();
  };
}
