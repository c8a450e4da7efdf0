import { isUtf8 } from "node:buffer";
import type crypto from "node:crypto";
import fs from "node:fs";

/**
 * Lines of a file (or of bytes in memory) read in chunks, so a file of any size is read in
 * bounded memory: only the chunk in hand and the line being assembled are held. Each line comes
 * with its number and the byte offset just past it, so a reader can say how far it got.
 */

export const CHUNK = 4 * 1024 * 1024;
const NL = 0x0a;

/** The number of bytes of a UTF-8 byte-order mark at the start of `buf` (3), else 0. */
export function bomLength(buf: Buffer): number {
  return buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
}

/** Text without the byte-order mark some editors and Windows tools put before it: no part of the first line. */
export function withoutBom(buf: Buffer): Buffer {
  return buf.subarray(bomLength(buf));
}

export interface Line {
  /** The line's text, without its newline. */
  text: string;
  /** Its number in the file (1-based). */
  n: number;
  /** The byte offset just past it (its newline included, when it has one). */
  end: number;
  /** Why its bytes are not text (invalid UTF-8), when they are not. */
  invalid?: string;
}

export interface LineSource {
  /** Where reading starts, in bytes. */
  start: number;
  /** The number of the first line read. */
  firstLine: number;
  /**
   * Whether the bytes before `start` end without a newline (a last line read before its newline
   * came): the first newline then closes that line and begins no line of its own.
   */
  continues?: boolean;
  /** Kept up with the bytes of every whole line read. */
  hash?: crypto.Hash;
  /** Only lines whose bytes hold one of these are decoded and given (a reader looking for a few lines). */
  holding?: Buffer[];
}

function decode(buf: Buffer, s: number, e: number, n: number, end: number): Line {
  const text = buf.toString("utf8", s, e);
  // U+FFFD is what a bad byte decodes to; only then are the bytes looked at.
  if (text.includes("\ufffd") && !isUtf8(buf.subarray(s, e))) {
    return { text, n, end, invalid: "not valid UTF-8 text (bytes that decode to no character)" };
  }
  return { text, n, end };
}

/**
 * The whole lines of an open file from `src.start` up to `limit` bytes. A last piece without a
 * newline is yielded as `tail` through `onTail` (the caller decides whether it counts; its bytes
 * include a byte-order mark when it starts the file).
 *
 * Offsets (`end`, a tail's `start`) are offsets in the file, and the hash covers every byte up to
 * the last line given, so a byte-order mark at the file's start, which is no part of its first
 * line, is still counted.
 */
export function* fileLines(fd: number, src: LineSource, limit: number, onTail?: (tail: { bytes: Buffer; n: number; start: number }) => void): Generator<Line> {
  let buf = Buffer.allocUnsafe(CHUNK);
  let have = 0; // bytes of buf holding data
  let base = src.start; // file offset of buf[0]
  let pos = src.start; // file offset read up to
  let n = src.firstLine - 1;
  let skipFirst = Boolean(src.continues);
  while (true) {
    if (have === buf.length) {
      // One line longer than the buffer: grow it to hold the line whole.
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, have);
      buf = bigger;
    }
    const want = Math.min(buf.length - have, limit - pos);
    const got = want > 0 ? fs.readSync(fd, buf, have, want, pos) : 0;
    pos += got;
    have += got;
    let s = 0;
    let nl: number;
    while ((nl = buf.indexOf(NL, s)) !== -1 && nl < have) {
      if (skipFirst) {
        skipFirst = false;
        // The rest of a line read before: blank, it is that line's newline and no line of its own;
        // anything else was added to that line after it was read, and is named by its number.
        if (!isBlankBytes(buf, s, nl)) yield decode(buf, s, nl, n, base + nl + 1);
        s = nl + 1;
        continue;
      }
      n++;
      // A byte-order mark is no part of the first line.
      const from = base + s === 0 ? bomLength(buf.subarray(0, nl)) : s;
      if (!src.holding || holds(buf, from, nl, src.holding)) yield decode(buf, from, nl, n, base + nl + 1);
      s = nl + 1;
    }
    if (s > 0) src.hash?.update(buf.subarray(0, s));
    if (got === 0) {
      if (s < have) onTail?.({ bytes: Buffer.from(buf.subarray(s, have)), n: n + 1, start: base + s });
      return;
    }
    // Keep the unfinished line at the start of the buffer.
    if (s > 0) {
      buf.copy(buf, 0, s, have);
      have -= s;
      base += s;
    }
  }
}

/**
 * The lines of bytes in memory (standard input, a JSON array turned into lines, a file's last
 * piece); `base` is the offset of `data` in what it came from: at 0, a byte-order mark is no
 * part of the first line.
 */
export function* bufferLines(data: Buffer, firstLine = 1, base = 0): Generator<Line> {
  let s = base === 0 ? bomLength(data) : 0;
  let n = firstLine - 1;
  while (s < data.length) {
    let e = data.indexOf(NL, s);
    const end = e === -1 ? data.length : e + 1;
    if (e === -1) e = data.length;
    n++;
    yield decode(data, s, e, n, base + end);
    s = end;
  }
}

function holds(buf: Buffer, s: number, e: number, needles: Buffer[]): boolean {
  const line = buf.subarray(s, e);
  for (const needle of needles) if (line.indexOf(needle) !== -1) return true;
  return false;
}

function isBlankBytes(buf: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = buf[i]!;
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

/** A line of only white space carries nothing; checked without allocating a trimmed copy. */
export function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}
