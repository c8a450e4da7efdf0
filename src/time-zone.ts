import { UserError } from "./errors.js";

/**
 * Time zones for reports that bucket by local day, week or month. SQLite knows no time zones,
 * so the zone's offsets from UTC are worked out here (from the IANA database Node carries) as
 * intervals of constant offset, and the SQL shifts each timestamp by its interval's offset.
 * Offsets are found to the minute, so zones 30 or 45 minutes off UTC and daylight-saving
 * changes that fall on a half hour are exact.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The zone's canonical name, or a UserError naming the flag. */
export function checkZone(zone: string, flag = "--tz"): string {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    throw new UserError(`${flag}: unknown time zone '${zone}'`, ["give an IANA zone name such as Europe/Paris, America/New_York or UTC"]);
  }
}

/** The zone a report uses when none is given: $TZ when it names a zone, else the system's. */
export function localZone(env: NodeJS.ProcessEnv): string {
  const tz = env.TZ?.replace(/^:/, "");
  if (tz) {
    try {
      return new Intl.DateTimeFormat("en-US", { timeZone: tz }).resolvedOptions().timeZone;
    } catch {
      // A POSIX TZ string or a path: the system's resolution of it is the best we have.
    }
  }
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** Minutes the zone's clock is ahead of UTC at an instant (negative west of Greenwich). */
export function offsetMinutes(zone: string, ms: number): number {
  const p: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(new Date(ms))) if (part.type !== "literal") p[part.type] = Number(part.value);
  const asUtc = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60_000);
}

/** [from, to, offset minutes]: from and to as ISO timestamps, `to` excluded. */
export type OffsetInterval = [string, string, number];

const MINUTE = 60_000;
/** Zones change offset a few times a year at most, never twice in a day: a daily sample finds every change. */
const STEP = 86_400_000;
const BEGINNING = "0000-01-01T00:00:00.000Z";
const END = "9999-12-31T23:59:59.999Z";

/**
 * The zone's offsets between two instants, as consecutive intervals: the first reaches back to
 * the year 0 and the last on to 9999, so every timestamp falls in one.
 */
export function offsetIntervals(zone: string, fromMs: number, toMs: number): OffsetInterval[] {
  const start = Math.floor(Math.min(fromMs, toMs) / MINUTE) * MINUTE - 86_400_000;
  const end = Math.ceil(Math.max(fromMs, toMs) / MINUTE) * MINUTE + 86_400_000;
  const changes: { at: number; offset: number }[] = [];
  let t = start;
  let off = offsetMinutes(zone, t);
  const first = off;
  while (t < end) {
    const next = Math.min(t + STEP, end);
    const nextOff = offsetMinutes(zone, next);
    if (nextOff !== off) {
      // The first minute with the new offset, by halving the step.
      let lo = t;
      let hi = next;
      while (hi - lo > MINUTE) {
        const mid = lo + Math.floor((hi - lo) / 2 / MINUTE) * MINUTE;
        if (offsetMinutes(zone, mid) === off) lo = mid;
        else hi = mid;
      }
      changes.push({ at: hi, offset: offsetMinutes(zone, hi) });
      off = offsetMinutes(zone, hi);
      t = hi;
      continue;
    }
    t = next;
  }
  const out: OffsetInterval[] = [];
  let from = BEGINNING;
  let current = first;
  for (const c of changes) {
    const at = new Date(c.at).toISOString();
    out.push([from, at, current]);
    from = at;
    current = c.offset;
  }
  out.push([from, END, current]);
  return out;
}

/**
 * The UTC instant of a wall-clock time in the zone. A time a change skips reads as that long after
 * the change; a time a change repeats, as its later occurrence.
 */
export function zonedToUtc(zone: string, y: number, mo: number, d: number, h = 0, mi = 0, s = 0, msPart = 0): number {
  const wall = Date.UTC(y, mo - 1, d, h, mi, s, msPart);
  let guess = wall - offsetMinutes(zone, wall) * MINUTE;
  // Near a change the offset at the guess may differ from the one at the wall time: once more.
  guess = wall - offsetMinutes(zone, guess) * MINUTE;
  return guess;
}

/**
 * --since/--until for a report in a zone: an age (30m, 24h, 7d, 2w: before now), a date or a
 * date and time as the zone's wall clock (2026-02-10, 2026-02-10T09:30), or an instant with an
 * offset (2026-02-10T09:30Z, …+01:00). Returns an ISO timestamp in UTC.
 */
export function parseWhenIn(flag: string, value: string, zone: string, nowMs: number): string {
  const v = value.trim();
  const rel = /^(\d+)\s*(s|m|h|d|w)$/.exec(v);
  if (rel) {
    const unit = { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8 }[rel[2] as "s" | "m" | "h" | "d" | "w"];
    return new Date(nowMs - Number(rel[1]) * unit).toISOString();
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(v);
  const bad = () => new UserError(`${flag} must be a date (2026-01-16, 2026-01-16T09:30, 2026-01-16T09:30Z) or an age (30m, 24h, 7d), got '${value}'`);
  if (!m) throw bad();
  const [, y, mo, d, h, mi, s, frac, zoneSuffix] = m;
  if (zoneSuffix) {
    const ms = Date.parse(h ? v.replace(" ", "T") : `${y}-${mo}-${d}T00:00${zoneSuffix}`);
    if (Number.isNaN(ms)) throw bad();
    return new Date(ms).toISOString();
  }
  const parts = [Number(y), Number(mo), Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0), Number((frac ?? "0").padEnd(3, "0"))] as const;
  const check = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3], parts[4], parts[5]));
  if (check.getUTCMonth() !== parts[1] - 1 || check.getUTCDate() !== parts[2] || parts[3] > 23 || parts[4] > 59 || parts[5] > 59) throw bad();
  return new Date(zonedToUtc(zone, ...parts)).toISOString();
}
