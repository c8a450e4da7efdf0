import { test } from "node:test";
import assert from "node:assert/strict";
import { python, ROOT } from "./helpers.js";

/**
 * The Python side in `npm test`: its unittest suite (standard library only, using the package
 * from the tree and the CLI just built).
 */



test("the Python producers' unittest suite passes", () => {
  const r = python(["-m", "unittest", "discover", "-v", "-s", "python/tests", "-t", "python/tests"]);
  const ran = /^Ran (\d+) tests? in/m.exec(r.stderr);
  assert.equal(r.code, 0, `python -m unittest failed:\n${r.stderr}\n${r.stdout}`);
  assert.ok(ran && Number(ran[1]) >= 40, `the suite ran all its tests (${ran?.[1] ?? "none"})\n${r.stderr}`);
  // The one test that may be skipped reads pyproject.toml with tomllib, which Python 3.9 and 3.10 lack.
  const skips = [...r.stderr.matchAll(/\.\.\. skipped '([^']*)'/g)].map((m) => m[1]!);
  assert.ok(skips.every((why) => /tomllib/.test(why)), `unexpected skips: ${skips.join("; ")}`);
});
