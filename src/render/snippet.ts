/**
 * Search snippets as the index gives them: the matched words between \u0002 and \u0003 (FTS5's
 * snippet() markers, characters no transcript text carries). Rendering turns them into a
 * highlight for people, or plain text plus the list of matched words for JSON.
 */

import { clusters, visibleWidth } from "./width.js";

const OPEN = "\u0002";
const CLOSE = "\u0003";

export interface Segment {
  text: string;
  hit: boolean;
}

/** Splits a snippet into plain and matched runs, with every run of whitespace (newlines too) made one space. */
export function segments(snippet: string): Segment[] {
  const out: Segment[] = [];
  let hit = false;
  for (const part of snippet.split(/([\u0002\u0003])/)) {
    if (part === OPEN) hit = true;
    else if (part === CLOSE) hit = false;
    else if (part) out.push({ text: part.replace(/\s+/g, " "), hit });
  }
  // Leading and trailing space of the whole passage carries nothing.
  if (out.length) {
    out[0]!.text = out[0]!.text.trimStart();
    out[out.length - 1]!.text = out[out.length - 1]!.text.trimEnd();
  }
  return out.filter((s) => s.text);
}

export function plainSnippet(snippet: string): string {
  return segments(snippet).map((s) => s.text).join("");
}

/** The distinct words the snippet highlights, in the order they first appear. */
export function matchedWords(snippet: string): string[] {
  return [...new Set(segments(snippet).filter((s) => s.hit).map((s) => s.text))];
}

/**
 * The snippet for a person: matched words through `mark`, laid out in lines of at most `width`
 * terminal columns, what the marks add around a matched word (`*…*` without colour) counted
 * (broken at spaces when one is near, never inside a character), at most `maxLines` of them, the
 * last ending in … when text is left over. An infinite width gives one line.
 */
export function renderSnippet(snippet: string, mark: (word: string) => string, width: number, maxLines = 3): string[] {
  const units = segments(snippet).flatMap((s) => clusters(s.text).map((c) => ({ ...c, hit: s.hit })));
  const extra = Math.max(0, visibleWidth(mark("x")) - 1);
  // A unit's columns on a line starting at `from`: a matched run's marks go with its first character.
  const cols = (k: number, from: number) => units[k]!.width + (units[k]!.hit && (k === from || !units[k - 1]!.hit) ? extra : 0);
  const span = (from: number, to: number) => {
    let n = 0;
    for (let k = from; k < to; k++) n += cols(k, from);
    return n;
  };
  const w = Number.isFinite(width) ? Math.max(20, width) : Infinity;
  const lines: string[] = [];
  let start = 0;
  while (start < units.length && lines.length < maxLines) {
    let end = units.length;
    if (span(start, end) > w) {
      // The last line keeps a column for the ellipsis.
      const room = lines.length === maxLines - 1 ? w - 1 : w;
      let used = 0;
      for (end = start; end < units.length && used + cols(end, start) <= room; end++) used += cols(end, start);
      let space = end < units.length && units[end]!.text === " " ? end : -1;
      for (let k = end - 1; space === -1 && k > start; k--) if (units[k]!.text === " ") space = k;
      if (space > start && span(start, space) > w / 2) end = space;
      // A character wider than the room left still goes on a line of its own.
      if (end === start) end = start + 1;
    }
    let line = "";
    for (let k = start; k < end; ) {
      let run = "";
      const hit = units[k]!.hit;
      for (; k < end && units[k]!.hit === hit; k++) run += units[k]!.text;
      line += hit ? mark(run) : run;
    }
    const last = lines.length === maxLines - 1;
    lines.push(last && end < units.length ? line.trimEnd() + "…" : line.trimEnd());
    start = end;
    while (start < units.length && units[start]!.text === " ") start++;
  }
  return lines;
}
