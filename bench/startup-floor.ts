/**
 * The floor under `obs ls`'s start-up: the packages obs is built on and nothing of obs — an ESM
 * entry that requires commander and better-sqlite3, parses `ls --db FILE`, opens the file
 * read-only, reads its runs in one query and prints a line each. What obs takes above this is
 * its own (its modules, the schema check, the table), and the bench prints both.
 */
import { createRequire } from "node:module";
import type * as Commander from "commander";
import type BetterSqlite3 from "better-sqlite3";

const require = createRequire(import.meta.url);
const { Command } = require("commander") as typeof Commander;
const Database = require("better-sqlite3") as typeof BetterSqlite3;

const program = new Command("floor");
program
  .command("ls")
  .option("--db <path>")
  .option("--json")
  .action((o: { db: string }) => {
    // The addon named outright, as obs names it: the floor takes no path obs does not.
    const db = new Database(o.db, { readonly: true, fileMustExist: true, nativeBinding: require.resolve("better-sqlite3/build/Release/better_sqlite3.node") });
    const rows = db.prepare(`SELECT id, status, started_at FROM task_list_execution_runs ORDER BY started_at DESC`).all() as { id: string; status: string; started_at: string }[];
    for (const r of rows) process.stdout.write(`${r.id}  ${r.status}  ${r.started_at}\n`);
    db.close();
  });
program.parse(process.argv.slice(2), { from: "user" });
