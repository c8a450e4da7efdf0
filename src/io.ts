import { Chalk, type ChalkInstance } from "chalk";

/**
 * What a command writes to and what it knows of the terminal. Commands never touch
 * process.stdout directly, so tests run them as a TTY or as a pipe.
 */
export interface IO {
  out: (text: string) => void;
  err: (text: string) => void;
  isTTY: boolean;
  errIsTTY: boolean;
  /** Width tables must fit; Infinity when output goes to a pipe or file and COLUMNS is unset. */
  columns: number;
  color: boolean;
  env: NodeJS.ProcessEnv;
  /** Standard input, for `obs ingest -`. */
  stdin: NodeJS.ReadableStream;
}

/** Colour only where a person reads it, and never against NO_COLOR; FORCE_COLOR wins over both. */
export function colorWanted(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== "" ) return force !== "0" && force !== "false";
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.TERM === "dumb") return false;
  return isTTY;
}

export function processIO(): IO {
  const isTTY = Boolean(process.stdout.isTTY);
  const envCols = Number(process.env.COLUMNS);
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    isTTY,
    errIsTTY: Boolean(process.stderr.isTTY),
    columns: Number.isFinite(envCols) && envCols > 0 ? envCols : isTTY ? process.stdout.columns || 100 : Infinity,
    color: colorWanted(process.env, isTTY),
    env: process.env,
    stdin: process.stdin,
  };
}

/** Semantic colour names, so views say what a thing is rather than which hue it gets. */
export interface Palette {
  ok: (s: string) => string;
  error: (s: string) => string;
  warn: (s: string) => string;
  dim: (s: string) => string;
  bold: (s: string) => string;
  accent: (s: string) => string;
  id: (s: string) => string;
}

export function palette(color: boolean): Palette {
  const c: ChalkInstance = new Chalk({ level: color ? 1 : 0 });
  return {
    ok: (s) => c.green(s),
    error: (s) => c.red(s),
    warn: (s) => c.yellow(s),
    dim: (s) => c.dim(s),
    bold: (s) => c.bold(s),
    accent: (s) => c.cyan(s),
    id: (s) => c.blue(s),
  };
}
