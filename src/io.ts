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

/**
 * A style as the terminal's SGR codes (16 colours, as every terminal has). Text already styled
 * inside keeps the outer style after its own ends: an inner close is followed by the outer open.
 */
function sgr(open: number, close: number): (s: string) => string {
  const on = `\x1b[${open}m`;
  const off = `\x1b[${close}m`;
  return (s) => (s === "" ? s : on + s.replaceAll(off, off + on) + off);
}

const plain = (s: string) => s;

export function palette(color: boolean): Palette {
  // Written out rather than loaded from a library: every command starts faster for it.
  if (!color) return { ok: plain, error: plain, warn: plain, dim: plain, bold: plain, accent: plain, id: plain };
  return { ok: sgr(32, 39), error: sgr(31, 39), warn: sgr(33, 39), dim: sgr(2, 22), bold: sgr(1, 22), accent: sgr(36, 39), id: sgr(34, 39) };
}
