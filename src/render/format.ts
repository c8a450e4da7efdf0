/** Small formatting helpers shared by every view. */

/** 1,234,567. By hand: the first toLocaleString of a process starts ICU's formatting, ~15 ms of every command. */
export function fmtInt(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  const r = Math.round(n);
  const digits = String(Math.abs(r)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return r < 0 ? `-${digits}` : digits;
}

/** Milliseconds as a person reads them: 850ms, 12.3s, 4m 05s, 2h 10m. */
export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  const neg = ms < 0;
  let v = Math.abs(ms);
  let s: string;
  if (v < 1000) s = `${Math.round(v)}ms`;
  else if (v < 60_000) s = `${(v / 1000).toFixed(1)}s`;
  else if (v < 3_600_000) {
    v = Math.round(v / 1000);
    s = `${Math.floor(v / 60)}m ${String(v % 60).padStart(2, "0")}s`;
  } else {
    v = Math.round(v / 60_000);
    s = `${Math.floor(v / 60)}h ${String(v % 60).padStart(2, "0")}m`;
  }
  return neg ? `-${s}` : s;
}

export function fmtPct(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined ? "—" : `${(ratio * 100).toFixed(1)}%`;
}

export function fmtUsd(usd: number | null | undefined): string {
  if (usd === null || usd === undefined) return "—";
  return usd < 10 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/** An ISO timestamp shortened for a table: date and time to the second, in UTC. */
export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  return iso.replace("T", " ").replace(/\.\d+Z$/, "Z").replace(/Z$/, "");
}

/** Visible width of a string (ANSI colour codes take none). */
export function visibleWidth(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, "").length;
}

/** Cuts a plain string to `max` characters with an ellipsis. */
export function cut(s: string, max: number): string {
  if (max <= 0) return "";
  return s.length <= max ? s : s.slice(0, Math.max(0, max - 1)) + "…";
}

/**
 * Breaks text into lines of at most `width` characters at spaces; a word longer than a line is
 * broken where it must be. Nothing is left out, so numbers and ids survive a narrow terminal.
 */
export function wrapWords(text: string, width: number): string[] {
  const w = Math.max(1, width);
  const lines: string[] = [];
  let cur = "";
  for (const word of text.split(/ +/)) {
    let rest = word;
    if (cur && cur.length + 1 + rest.length <= w) {
      cur += " " + rest;
      continue;
    }
    if (cur) lines.push(cur);
    while (rest.length > w) {
      lines.push(rest.slice(0, w));
      rest = rest.slice(w);
    }
    cur = rest;
  }
  if (cur || !lines.length) lines.push(cur);
  return lines;
}

/**
 * A line of parts — `a · b`, `a / b`, `a → b`, `a, b`, `a  (b)` — broken between its parts to
 * fit the width, each further line indented by `indent`; colour codes take no room. A part wider
 * than a line stays whole on a line of its own.
 */
export function fitLine(line: string, width: number, indent: number): string {
  if (!Number.isFinite(width) || visibleWidth(line) <= width) return line;
  const pieces = line.split(/(?<= · | \/ | → |, )|(?= {2}\()/);
  const out: string[] = [];
  let cur = "";
  for (const p of pieces) {
    if (!cur || visibleWidth(cur + p) <= width) cur += p;
    else {
      out.push(cur.trimEnd());
      cur = " ".repeat(indent) + p.trimStart();
    }
  }
  out.push(cur.trimEnd());
  return out.join("\n");
}
