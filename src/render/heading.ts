import { cut } from "./format.js";

/** A piece of a heading line: ids and numbers are kept whole; other text may be cut to fit. */
export interface Part {
  text: string;
  /** Never cut (ids, statuses, times, durations). */
  keep?: boolean;
  style?: (s: string) => string;
}

/**
 * A heading of parts two spaces apart that fits the width: parts go on one line while they fit,
 * then on indented lines of their own; text that may be cut is cut to the room left on its line
 * (or the next). Kept parts are never cut, so a line is wider than the width only when one id is.
 */
export function heading(parts: Part[], width: number): string {
  const MIN = 12;
  const lines: string[] = [];
  let cur = "";
  let used = 0;
  const place = (p: Part, room: number, sep: string) => {
    const text = p.keep || !Number.isFinite(room) ? p.text : cut(p.text, Math.max(1, room));
    cur += sep + (p.style ? p.style(text) : text);
    used += sep.length + text.length;
  };
  for (const p of parts) {
    if (p.text === "") continue;
    if (cur === "") place(p, width, "");
    else if (used + 2 + p.text.length <= width || (!p.keep && width - used - 2 >= MIN)) place(p, width - used - 2, "  ");
    else {
      lines.push(cur);
      cur = "";
      used = 0;
      place(p, width - 2, "  ");
    }
  }
  if (cur) lines.push(cur);
  return lines.join("\n");
}
