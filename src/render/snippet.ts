/**
 * Search snippets as the index gives them: the matched words between \u0002 and \u0003 (FTS5's
 * snippet() markers, characters no transcript text carries). Rendering turns them into a
 * highlight for people, or plain text plus the list of matched words for JSON.
 */

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
 * visible characters (broken at spaces when one is near), at most `maxLines` of them, the last
 * ending in … when text is left over. An infinite width gives one line.
 */
export function renderSnippet(snippet: string, mark: (word: string) => string, width: number, maxLines = 3): string[] {
  const segs = segments(snippet);
  const total = segs.reduce((n, s) => n + s.text.length, 0);
  const plain = segs.map((s) => s.text).join("");
  // Where each line ends, in characters of the plain text.
  const breaks: number[] = [];
  let start = 0;
  const w = Number.isFinite(width) ? Math.max(20, width) : Infinity;
  while (start < total && breaks.length < maxLines) {
    let end = total;
    if (total - start > w) {
      // The last line keeps a column for the ellipsis.
      end = start + (breaks.length === maxLines - 1 ? w - 1 : w);
      const space = plain.lastIndexOf(" ", end);
      if (space > start + w / 2) end = space;
    }
    breaks.push(end);
    start = end;
    while (plain[start] === " ") start++;
  }
  const lines: string[] = [];
  let from = 0;
  for (let i = 0; i < breaks.length; i++) {
    const to = breaks[i]!;
    let line = "";
    let at = 0;
    for (const s of segs) {
      const a = Math.max(from, at);
      const b = Math.min(to, at + s.text.length);
      if (a < b) {
        const piece = s.text.slice(a - at, b - at);
        line += s.hit ? mark(piece) : piece;
      }
      at += s.text.length;
    }
    const last = i === breaks.length - 1;
    lines.push(last && to < total ? line.trimEnd() + "…" : line.trimEnd());
    from = to;
    while (plain[from] === " ") from++;
  }
  return lines;
}
