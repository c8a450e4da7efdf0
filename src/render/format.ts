/** Small formatting helpers shared by every view. */
import { clusters, displayWidth, sliceColumns, visibleWidth } from "./width.js";

export { displayWidth, visibleWidth };

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

/** Cuts a plain string to `max` columns with an ellipsis, never inside a character. */
export function cut(s: string, max: number): string {
  if (max <= 0) return "";
  return displayWidth(s) <= max ? s : sliceColumns(s, max - 1) + "…";
}

/**
 * Shortens text to `max` columns with an ellipsis after its last whole word that fits, a space
 * between (`… for …`: what is shown is whole, `agent-103-19 …` is no cut id), or after the last
 * whole part of a path (`database/migrations/…`). Where that would leave a third of the room
 * empty (one long word) the text is cut where it must be.
 */
export function cutAtWord(s: string, max: number): string {
  if (max <= 0) return "";
  if (displayWidth(s) <= max) return s;
  const forced = sliceColumns(s, max - 1);
  const enough = (text: string) => displayWidth(text) >= (max * 2) / 3;
  // A word ends at a space, or where the text goes on with one; it keeps room for " …".
  const room = sliceColumns(s, max - 2);
  const space = s[room.length] === " " ? room.length : room.lastIndexOf(" ");
  const words = space > 0 ? room.slice(0, space).trimEnd() : "";
  const slash = forced.lastIndexOf("/") + 1;
  const path = slash > 0 ? forced.slice(0, slash) : "";
  if (words && enough(words) && displayWidth(words) + 1 >= displayWidth(path)) return words + " …";
  if (path && enough(path)) return path + "…";
  return forced + "…";
}

/**
 * Breaks text into lines of at most `width` columns at spaces; a word longer than a line is
 * broken where it must be (between characters, never inside one). Nothing is left out, so
 * numbers and ids survive a narrow terminal.
 */
export function wrapWords(text: string, width: number): string[] {
  const w = Math.max(1, width);
  const lines: string[] = [];
  let cur = "";
  let curW = 0;
  for (const word of text.split(/ +/)) {
    let rest = word;
    let restW = displayWidth(rest);
    if (cur && curW + 1 + restW <= w) {
      cur += " " + rest;
      curW += 1 + restW;
      continue;
    }
    if (cur) lines.push(cur);
    while (restW > w) {
      // A wide character where one column is left goes to the next line whole.
      const piece = sliceColumns(rest, w) || clusters(rest)[0]!.text;
      lines.push(piece);
      rest = rest.slice(piece.length);
      restW = displayWidth(rest);
    }
    cur = rest;
    curW = restW;
  }
  if (cur || !lines.length) lines.push(cur);
  return lines;
}

/**
 * A line broken at its spaces to fit the width, each further line indented by `indent`; unlike
 * wrapWords, a word is never broken: a word wider than a line (an id in a command to run) stays
 * whole on a line of its own. Colour codes take no room.
 */
export function fitWords(line: string, width: number, indent: number): string {
  if (!Number.isFinite(width) || visibleWidth(line) <= width) return line;
  const lead = /^ */.exec(line)![0];
  const out: string[] = [];
  let cur = lead;
  for (const w of line.slice(lead.length).split(/ +/)) {
    if (cur.trim() === "") cur += w;
    else if (visibleWidth(cur) + 1 + visibleWidth(w) <= width) cur += " " + w;
    else {
      out.push(cur);
      cur = " ".repeat(indent) + w;
    }
  }
  out.push(cur);
  return out.join("\n");
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
