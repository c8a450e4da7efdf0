/**
 * Text as SQLite stores it: UTF-8, so every string obs writes must be well-formed UTF-16 first.
 * A lone surrogate (half of a pair) has no UTF-8 form: written as it is, it becomes bytes that are
 * not UTF-8, which other readers of the file refuse ("Could not decode to UTF-8"). Lone
 * surrogates reach obs two ways, and both are closed here: a JSON escape (`"\ud800"`) in a line,
 * and a cut made in the middle of a pair.
 */

/** A JSON escape of a surrogate, the only way JSON text (valid UTF-8) can hold a lone one. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** The string with each lone surrogate replaced by U+FFFD, as a UTF-8 encoder would. */
export function wellFormedText(s: string): string {
  LONE.lastIndex = 0;
  return LONE.test(s) ? s.replace(LONE, "\uFFFD") : s;
}

/**
 * JSON.parse, with every string of the result well-formed. Only text that holds a surrogate
 * escape is walked (without recursion: a line may nest deeper than the stack).
 */
export function parseJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  return SURROGATE_ESCAPE.test(text) ? wellFormed(value) : value;
}

function wellFormed(value: unknown): unknown {
  if (typeof value === "string") return wellFormedText(value);
  if (value === null || typeof value !== "object") return value;
  const stack: object[] = [value];
  while (stack.length) {
    const o = stack.pop() as Record<string, unknown> | unknown[];
    if (Array.isArray(o)) {
      for (let i = 0; i < o.length; i++) {
        const v = o[i];
        if (typeof v === "string") o[i] = wellFormedText(v);
        else if (v !== null && typeof v === "object") stack.push(v);
      }
      continue;
    }
    for (const k of Object.keys(o)) {
      const v = o[k];
      if (typeof v === "string") o[k] = wellFormedText(v);
      else if (v !== null && typeof v === "object") stack.push(v);
      const fixed = wellFormedText(k);
      if (fixed !== k) {
        o[fixed] = o[k];
        delete o[k];
      }
    }
  }
  return value;
}

/** The first `n` characters of a string, one fewer when the n-th is the first half of a pair. */
export function cut(s: string, n: number): string {
  if (s.length <= n) return s;
  const c = s.charCodeAt(n - 1);
  return s.slice(0, c >= 0xd800 && c <= 0xdbff ? n - 1 : n);
}
