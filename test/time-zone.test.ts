/**
 * Time zones without SQLite's help: offsets and their changes as the IANA database has them
 * (the dates below are the published 2026 changes), wall-clock times read in a zone.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkZone, localZone, offsetIntervals, offsetMinutes, parseWhenIn, zonedToUtc } from "../src/time-zone.js";
import { UserError } from "../src/errors.js";

const ms = (iso: string) => Date.parse(iso);

test("offsets east and west of Greenwich, whole and fractional hours, summer and winter", () => {
  assert.equal(offsetMinutes("UTC", ms("2026-07-01T00:00:00Z")), 0);
  assert.equal(offsetMinutes("Europe/Paris", ms("2026-01-15T12:00:00Z")), 60);
  assert.equal(offsetMinutes("Europe/Paris", ms("2026-07-15T12:00:00Z")), 120);
  assert.equal(offsetMinutes("America/New_York", ms("2026-01-15T12:00:00Z")), -300);
  assert.equal(offsetMinutes("America/New_York", ms("2026-07-15T12:00:00Z")), -240);
  assert.equal(offsetMinutes("Asia/Kolkata", ms("2026-07-15T12:00:00Z")), 330);
  assert.equal(offsetMinutes("Asia/Kathmandu", ms("2026-07-15T12:00:00Z")), 345);
});

test("a year's offsets are the intervals between its daylight-saving changes, to the minute", () => {
  // The EU changes at 01:00 UTC on the last Sundays of March and October.
  assert.deepEqual(offsetIntervals("Europe/Paris", ms("2026-01-01T00:00:00Z"), ms("2026-12-31T00:00:00Z")), [
    ["0000-01-01T00:00:00.000Z", "2026-03-29T01:00:00.000Z", 60],
    ["2026-03-29T01:00:00.000Z", "2026-10-25T01:00:00.000Z", 120],
    ["2026-10-25T01:00:00.000Z", "9999-12-31T23:59:59.999Z", 60],
  ]);
  // The US at 02:00 local on the second Sunday of March and the first of November.
  assert.deepEqual(offsetIntervals("America/New_York", ms("2026-02-01T00:00:00Z"), ms("2026-12-01T00:00:00Z")).map((i) => i.slice(1)), [
    ["2026-03-08T07:00:00.000Z", -300],
    ["2026-11-01T06:00:00.000Z", -240],
    ["9999-12-31T23:59:59.999Z", -300],
  ]);
  // Lord Howe Island moves by half an hour, at 02:00 local: 15:00 and 15:30 UTC.
  assert.deepEqual(offsetIntervals("Australia/Lord_Howe", ms("2026-01-01T00:00:00Z"), ms("2026-12-31T00:00:00Z")).map((i) => i.slice(1)), [
    ["2026-04-04T15:00:00.000Z", 660],
    ["2026-10-03T15:30:00.000Z", 630],
    ["9999-12-31T23:59:59.999Z", 660],
  ]);
  assert.deepEqual(offsetIntervals("Asia/Kolkata", ms("2026-01-01T00:00:00Z"), ms("2026-12-31T00:00:00Z")), [["0000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z", 330]]);
});

test("wall-clock times in a zone: ordinary, skipped by the spring change, repeated by the autumn one", () => {
  assert.equal(new Date(zonedToUtc("Europe/Paris", 2026, 3, 29)).toISOString(), "2026-03-28T23:00:00.000Z");
  assert.equal(new Date(zonedToUtc("Europe/Paris", 2026, 3, 30)).toISOString(), "2026-03-29T22:00:00.000Z");
  // 02:30 does not exist on 29 March in Paris (02:00 becomes 03:00): read as 03:30 summer time.
  assert.equal(new Date(zonedToUtc("Europe/Paris", 2026, 3, 29, 2, 30)).toISOString(), "2026-03-29T01:30:00.000Z");
  // 02:30 happens twice on 25 October: the later one (winter time).
  assert.equal(new Date(zonedToUtc("Europe/Paris", 2026, 10, 25, 2, 30)).toISOString(), "2026-10-25T01:30:00.000Z");
  assert.equal(new Date(zonedToUtc("Asia/Kathmandu", 2026, 1, 1)).toISOString(), "2025-12-31T18:15:00.000Z");
});

test("--since and --until: ages from now, dates in the zone, instants with an offset as given; bad ones named", () => {
  const now = ms("2026-03-30T12:00:00Z");
  assert.equal(parseWhenIn("--since", "7d", "Europe/Paris", now), "2026-03-23T12:00:00.000Z");
  assert.equal(parseWhenIn("--since", "90m", "UTC", now), "2026-03-30T10:30:00.000Z");
  assert.equal(parseWhenIn("--since", "2026-03-29", "Europe/Paris", now), "2026-03-28T23:00:00.000Z");
  assert.equal(parseWhenIn("--since", "2026-03-29", "UTC", now), "2026-03-29T00:00:00.000Z");
  assert.equal(parseWhenIn("--until", "2026-07-01T09:15", "America/New_York", now), "2026-07-01T13:15:00.000Z");
  assert.equal(parseWhenIn("--until", "2026-07-01 09:15:30", "America/New_York", now), "2026-07-01T13:15:30.000Z");
  assert.equal(parseWhenIn("--since", "2026-07-01T09:00Z", "Europe/Paris", now), "2026-07-01T09:00:00.000Z");
  assert.equal(parseWhenIn("--since", "2026-07-01T09:00+02:00", "America/New_York", now), "2026-07-01T07:00:00.000Z");
  for (const bad of ["yesterday", "2026-02-30", "2026-13-01", "2026-01-01T25:00", "7 days"]) {
    assert.throws(() => parseWhenIn("--since", bad, "UTC", now), (e: unknown) => e instanceof UserError && e.message.includes(`--since must be a date`) && e.message.includes(`'${bad}'`), bad);
  }
});

test("zone names: canonical, case aside; an unknown one is the user's mistake; TZ is the default", () => {
  assert.equal(checkZone("utc"), "UTC");
  assert.equal(checkZone("europe/paris"), "Europe/Paris");
  assert.throws(() => checkZone("Mars/Olympus_Mons"), (e: unknown) => e instanceof UserError && /--tz: unknown time zone 'Mars\/Olympus_Mons'/.test(e.message));
  assert.equal(localZone({ TZ: "America/New_York" }), "America/New_York");
  assert.equal(localZone({ TZ: ":Asia/Tokyo" }), "Asia/Tokyo");
  assert.equal(localZone({ TZ: "not a zone" }), Intl.DateTimeFormat().resolvedOptions().timeZone);
});
