import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { pythonAssets, QUERIES_FILE, SCHEMA_FILE, jsonColumns } from "../src/producers/assets.js";
import { QUERIES } from "../src/queries/index.js";
import { SCHEMA_VERSION } from "../src/db/migrations.js";
import { ROOT } from "./helpers.js";
import { parseJson } from "../src/queries/run.js";

test("the Python producers' copies of obs's queries and schema are the ones the code generates now", () => {
  for (const [file, text] of Object.entries(pythonAssets())) {
    const committed = fs.readFileSync(path.join(ROOT, file), "utf8");
    assert.ok(committed === text, `${file} is stale: src/queries/ or src/db/migrations.ts changed since it was generated; run \`npm run gen:python\` and commit it`);
  }
});

test("the generated queries are all 40, with their SQL, and the schema is at obs's version", () => {
  const q = JSON.parse(fs.readFileSync(path.join(ROOT, QUERIES_FILE), "utf8"));
  assert.equal(q.queries.length, 40);
  assert.deepEqual(q.queries.map((x: { id: string }) => x.id), QUERIES.map((x) => x.id));
  for (const [i, x] of (q.queries as { sql: string; columns: string[] }[]).entries()) {
    assert.equal(x.sql, QUERIES[i]!.sql);
    assert.ok(x.columns.length > 0, `${QUERIES[i]!.id} names its columns`);
  }
  const s = JSON.parse(fs.readFileSync(path.join(ROOT, SCHEMA_FILE), "utf8"));
  assert.equal(s.schema_version, SCHEMA_VERSION);
  assert.ok(s.statements.includes(`INSERT INTO obs_meta (key, value) VALUES ('schema_version', '${SCHEMA_VERSION}')`));
});

test("a query whose shape does more than parse JSON columns stops the generator instead of shipping a wrong copy", () => {
  const base = { id: "X001", family: "Validation" as const, title: "t", description: "d", arg: "none" as const, needs: {}, sql: "SELECT 1 AS a" };
  assert.deepEqual(jsonColumns({ ...base, shape: (r) => ({ ...r, list: parseJson(r.list) ?? [] }) }), { list: { on_null: [] } });
  assert.throws(() => jsonColumns({ ...base, shape: (r) => ({ ...r, ok: r.ok === 1 }) }), /X001's shape\(\) does more than parse its JSON columns \(ok\)/);
  assert.deepEqual(jsonColumns(base), {});
});
