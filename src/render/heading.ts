import { cutAtWord, displayWidth } from "./format.js";

/** A piece of a heading line: ids and numbers are kept whole; other text may be cut to fit. */
export interface Part {
  text: string;
  /** Never cut (ids, statuses, times, durations). */
  keep?: boolean;
  style?: (s: string) => string;
  /** Between it and the part before on one line (two spaces unless said): words of one phrase may wrap apart. */
  sep?: string;
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
  let fresh = true;
  const gap = (p: Part) => (fresh ? "" : (p.sep ?? "  "));
  const put = (p: Part, room: number) => {
    const sep = gap(p);
    const text = p.keep || !Number.isFinite(room) ? p.text : cutAtWord(p.text, Math.max(1, room - sep.length));
    cur += sep + (p.style ? p.style(text) : text);
    used += sep.length + displayWidth(text);
    fresh = false;
  };
  const wrap = () => {
    lines.push(cur);
    cur = "  ";
    used = 2;
    fresh = true;
  };
  const ps = parts.filter((p) => p.text !== "");
  ps.forEach((p, i) => {
    const sep = gap(p).length;
    const fits = used + sep + displayWidth(p.text) <= width;
    if (p.keep) {
      if (!fits && !fresh) wrap();
      return put(p, Infinity);
    }
    // Text that may be cut keeps the kept parts right after it (a status, a duration) on its line.
    let after = 0;
    for (let j = i + 1; j < ps.length && ps[j]!.keep; j++) after += (ps[j]!.sep ?? "  ").length + displayWidth(ps[j]!.text);
    if (used + sep + displayWidth(p.text) + after <= width) return put(p, Infinity);
    if (width - used - after - sep >= MIN) return put(p, width - used - after);
    if (fits) return put(p, Infinity);
    if (!fresh) wrap();
    return put(p, width - used - after >= MIN ? width - used - after : width - used);
  });
  if (!fresh) lines.push(cur);
  return lines.join("\n");
}
