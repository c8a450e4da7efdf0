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

/**
 * The longest line obs reads: 128 MiB, a quarter of the longest string V8 makes (2^29 - 24
 * characters), so a line, its parsed copy and what is stored of it fit in memory together. A
 * longer line is a bad line, read past without being held.
 */
export const MAX_LINE = 128 * 1024 * 1024;
export const MAX_LINE_MIB = MAX_LINE / (1024 * 1024);
/** The most a line's buffer holds: a longest line, a byte-order mark before it and its newline. */
export const HOLD = MAX_LINE + 4;
/** Why a line over MAX_LINE is a bad line. */
export const OVERLONG = `line over ${MAX_LINE_MIB} MiB (obs reads lines of up to ${MAX_LINE_MIB} MiB)`;

/** The number of bytes of a UTF-8 byte-order mark at the start of `buf` (3), else 0. */
export function bomLength(buf: Buffer): number {
  return buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
}

/** Text without the byte-order mark some editors and Windows tools put before it: no part of the first line. */
export function withoutBom(buf: Buffer): Buffer {
  return buf.subarray(bomLength(buf));
}

export interface Line {
  /** The line's text, without its newline (none for a line over MAX_LINE: it is not held). */
  text: string;
  /** Its number in the file (1-based). */
  n: number;
  /** The byte offset just past it (its newline included, when it has one). */
  end: number;
  /** Why it is a bad line before it is parsed (bytes that are not UTF-8 text, a line over MAX_LINE), when it is. */
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

/** The last piece of a file, when it ends without a newline. */
export interface Tail {
  /** Its bytes (a byte-order mark included, when it starts the file); none when it is over MAX_LINE. */
  bytes: Buffer;
  /** Its line number. */
  n: number;
  /** Its offset in the file. */
  start: number;
  /** The offset just past it. */
  end: number;
  /** It is longer than MAX_LINE, so its bytes were let go as they were read. */
  over?: boolean;
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
 * newline is yielded as `tail` through `onTail` (the caller decides whether it counts).
 *
 * Offsets (`end`, a tail's `start`) are offsets in the file, and the hash covers every byte up to
 * the last line given, so a byte-order mark at the file's start, which is no part of its first
 * line, is still counted. A line over MAX_LINE is given as a bad line without its text; its
 * bytes are let go as they are read, so memory stays within MAX_LINE and a chunk.
 */
export function* fileLines(fd: number, src: LineSource, limit: number, onTail?: (tail: Tail) => void): Generator<Line> {
  let buf = Buffer.allocUnsafe(CHUNK);
  let have = 0; // bytes of buf holding data
  let base = src.start; // file offset of buf[0]
  let pos = src.start; // file offset read up to
  let n = src.firstLine - 1;
  let skipFirst = Boolean(src.continues);
  /** Where a line over MAX_LINE began, while reading on to its newline (-1: none). */
  let overFrom = -1;
  while (true) {
    if (have === buf.length) {
      if (buf.length < HOLD) {
        // One line longer than a chunk: a buffer for the longest line. Reads stay a chunk each,
        // so only as much of it is touched (and held in memory) as the line needs.
        const bigger = Buffer.allocUnsafe(HOLD);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      } else {
        // A line over MAX_LINE: let go of its bytes and read on to its newline.
        if (overFrom < 0) overFrom = base;
        base += have;
        have = 0;
      }
    }
    const want = Math.min(CHUNK, buf.length - have, limit - pos);
    const got = want > 0 ? fs.readSync(fd, buf, have, want, pos) : 0;
    pos += got;
    have += got;
    // The bytes before those just read are an unfinished line, already searched for a newline.
    let seek = have - got;
    let s = 0;
    if (overFrom >= 0) {
      const nl = buf.subarray(0, have).indexOf(NL, seek);
      if (nl === -1) {
        if (got === 0) {
          onTail?.({ bytes: Buffer.alloc(0), n: skipFirst ? n : n + 1, start: overFrom, end: base + have, over: true });
          return;
        }
        base += have;
        have = 0;
        continue;
      }
      const end = base + nl + 1;
      // Its bytes were let go: the hash reads them again from the file.
      if (src.hash) hashFile(fd, src.hash, overFrom, end);
      const num = skipFirst ? n : ++n;
      skipFirst = false;
      overFrom = -1;
      buf.copy(buf, 0, nl + 1, have);
      have -= nl + 1;
      base = end;
      seek = 0;
      if (!src.holding) yield { text: "", n: num, end, invalid: OVERLONG };
    }
    // Only bytes read are searched: past them the buffer is stale.
    const view = buf.subarray(0, have);
    let nl: number;
    while ((nl = view.indexOf(NL, Math.max(s, seek))) !== -1) {
      if (skipFirst) {
        skipFirst = false;
        // The rest of a line read before: blank, it is that line's newline and no line of its own;
        // anything else was added to that line after it was read, and is named by its number.
        if (!isBlankBytes(buf, s, nl)) yield nl - s > MAX_LINE ? { text: "", n, end: base + nl + 1, invalid: OVERLONG } : decode(buf, s, nl, n, base + nl + 1);
        s = nl + 1;
        continue;
      }
      n++;
      // A byte-order mark is no part of the first line.
      const from = base + s === 0 ? bomLength(view.subarray(0, nl)) : s;
      if (!src.holding || holds(buf, from, nl, src.holding)) yield nl - from > MAX_LINE ? { text: "", n, end: base + nl + 1, invalid: OVERLONG } : decode(buf, from, nl, n, base + nl + 1);
      s = nl + 1;
    }
    if (s > 0) src.hash?.update(buf.subarray(0, s));
    if (got === 0) {
      if (s < have) {
        const over = have - (base + s === 0 ? bomLength(view) : s) > MAX_LINE;
        onTail?.({ bytes: over ? Buffer.alloc(0) : Buffer.from(buf.subarray(s, have)), n: n + 1, start: base + s, end: base + have, ...(over ? { over } : {}) });
      }
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
    yield e - s > MAX_LINE ? { text: "", n, end: base + end, invalid: OVERLONG } : decode(data, s, e, n, base + end);
    s = end;
  }
}

/** Adds bytes `start`..`end` of an open file to a hash, read in chunks. */
export function hashFile(fd: number, hash: crypto.Hash, start: number, end: number): crypto.Hash {
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(end - start, 1)));
  for (let pos = start; pos < end; ) {
    const got = fs.readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
    if (got === 0) break;
    hash.update(buf.subarray(0, got));
    pos += got;
  }
  return hash;
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
