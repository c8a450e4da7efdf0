#!/usr/bin/env node
// Writes the files the Python producers ship (obs's queries and schema as JSON); see src/producers/assets.ts.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { pythonAssets } from "../dist/src/producers/assets.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
for (const [file, text] of Object.entries(pythonAssets())) {
  const target = path.join(root, file);
  const before = fs.existsSync(target) ? fs.readFileSync(target, "utf8") : null;
  if (before === text) {
    process.stderr.write(`${file}: up to date\n`);
    continue;
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, text);
  process.stderr.write(`${file}: written\n`);
}
