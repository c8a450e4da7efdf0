import { eastAsianWidth } from "get-east-asian-width";

/**
 * How many terminal columns text takes. A terminal gives wide characters (CJK, fullwidth forms,
 * most emoji) two columns and combining marks, joiners and variation selectors none, so counting
 * UTF-16 units (`.length`) or code points overflows a line of Chinese and misaligns a table with
 * an emoji in it. Text is measured and cut in clusters — a character with what attaches to it
 * (marks, a variation selector, the rest of a ZWJ emoji sequence, a flag's second half) — so a
 * cut never parts a surrogate pair, an accent from its letter or an emoji sequence.
 */

export interface Cluster {
  text: string;
  width: number;
}

/**
 * The Unicode property classes, made on first need: a regular expression with \p{…} looks into
 * ICU's data when it is made (5–12 ms), which only text outside PLAIN_BMP below should pay.
 */
let props: { zeroWidth: RegExp; spacingMark: RegExp; pictograph: RegExp; emoji: RegExp } | undefined;
function classes(): NonNullable<typeof props> {
  return (props ??= {
    // Takes no column and attaches to the character before: nonspacing and enclosing marks,
    // format characters (ZWJ, ZWNJ, bidi marks), variation selectors, tags.
    zeroWidth: new RegExp("[\\p{Mn}\\p{Me}\\p{Cf}\\p{Default_Ignorable_Code_Point}]", "u"),
    // Takes its column but belongs to the character before (a vowel sign of Devanagari, Bengali …).
    spacingMark: new RegExp("\\p{Mc}", "u"),
    pictograph: new RegExp("\\p{Extended_Pictographic}", "u"),
    // What VS16 (U+FE0F) turns into a two-column emoji: ❤️, ☀️, 1️⃣.
    emoji: new RegExp("\\p{Emoji}", "u"),
  });
}
const ZWJ = 0x200d;
const VS16 = 0xfe0f;

/** Plain ASCII that prints: one column a character, nothing to look up. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
/**
 * Text whose every character stands alone, without marks, joiners or emoji that a selector could
 * widen: Latin, punctuation (…, —, ·), arrows, box drawing, blocks (the bars). Measured a
 * character at a time, without the Unicode property classes.
 */
const PLAIN_BMP = /^[\x20-\x7e\u00a0-\u02ff\u2010-\u2027\u2030-\u205e\u2190-\u23ff\u2500-\u25ff]*$/;
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/g;

function isRegionalIndicator(cp: number): boolean {
  return cp >= 0x1f1e6 && cp <= 0x1f1ff;
}

function isSkinTone(cp: number): boolean {
  return cp >= 0x1f3fb && cp <= 0x1f3ff;
}

/** Hangul jamo vowels and final consonants combine with the syllable's first jamo into one wide block. */
function isJamoTail(cp: number): boolean {
  return (cp >= 0x1160 && cp <= 0x11ff) || (cp >= 0xd7b0 && cp <= 0xd7ff);
}

function baseWidth(cp: number): number {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  return eastAsianWidth(cp);
}

/** The text's clusters with the columns each takes. */
export function clusters(s: string): Cluster[] {
  const out: Cluster[] = [];
  let cur: Cluster | null = null;
  let joinNext = false;
  let prevCp = -1;
  let pairOpen = false;
  const is = (re: RegExp, cp: number) => re.test(String.fromCodePoint(cp));
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    // Below the combining marks (U+0300) a character only ever starts a cluster of its own.
    if (cur === null || (cp < 0x300 && !joinNext)) {
      const zero = cp >= 0x300 && classes().zeroWidth.test(ch);
      out.push((cur = { text: ch, width: zero ? 0 : baseWidth(cp) }));
      pairOpen = isRegionalIndicator(cp);
      prevCp = cp;
      continue;
    }
    const p = classes();
    const zero = p.zeroWidth.test(ch);
    if (joinNext || zero || isJamoTail(cp) || cp === VS16 || (isSkinTone(cp) && is(p.pictograph, prevCp))) {
      // VS16 asks for the emoji form of what it follows: ❤ takes one column, ❤️ two.
      if (cp === VS16 && cur.width === 1 && is(p.emoji, prevCp)) cur.width = 2;
      cur.text += ch;
      // A joiner makes one emoji of two (👩‍💻); between letters it only shapes them.
      joinNext = cp === ZWJ && is(p.pictograph, prevCp);
      if (!zero) prevCp = cp;
    } else if (pairOpen && isRegionalIndicator(cp)) {
      // Two regional indicators are one flag, two columns.
      cur.text += ch;
      cur.width = 2;
      pairOpen = false;
      prevCp = cp;
    } else if (p.spacingMark.test(ch)) {
      cur.text += ch;
      cur.width += 1;
      prevCp = cp;
    } else {
      out.push((cur = { text: ch, width: baseWidth(cp) }));
      pairOpen = isRegionalIndicator(cp);
      prevCp = cp;
    }
  }
  return out;
}

/** Columns plain text takes. */
export function displayWidth(s: string): number {
  if (PRINTABLE_ASCII.test(s)) return s.length;
  let w = 0;
  if (PLAIN_BMP.test(s)) {
    for (let i = 0; i < s.length; i++) w += eastAsianWidth(s.charCodeAt(i));
    return w;
  }
  for (const c of clusters(s)) w += c.width;
  return w;
}

/** Columns text takes on a terminal: its colour codes take none. */
export function visibleWidth(s: string): number {
  return displayWidth(s.includes("\x1b") ? s.replace(SGR, "") : s);
}

/** The longest start of `s` that takes at most `max` columns, never parting a cluster. */
export function sliceColumns(s: string, max: number): string {
  if (PRINTABLE_ASCII.test(s)) return s.slice(0, Math.max(0, max));
  let w = 0;
  if (PLAIN_BMP.test(s)) {
    let i = 0;
    for (; i < s.length; i++) {
      const cw = eastAsianWidth(s.charCodeAt(i));
      if (w + cw > max) break;
      w += cw;
    }
    return s.slice(0, i);
  }
  let out = "";
  for (const c of clusters(s)) {
    if (w + c.width > max) break;
    w += c.width;
    out += c.text;
  }
  return out;
}

/** `s` padded with spaces to `width` columns, on the right (left-aligned) or on the left. */
export function padColumns(s: string, width: number, align: "left" | "right" = "left"): string {
  const pad = " ".repeat(Math.max(0, width - visibleWidth(s)));
  return align === "right" ? pad + s : s + pad;
}
