/**
 * `npm run examples`: runs every example as a new user would, one process each, and fails on the
 * first that exits non-zero or prints nothing. They run on the embedded database unless
 * DATABASE_URL is set.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const examples = ["quickstart/quickstart.ts", "orders/main.ts", "bank/main.ts", "workers/main.ts", "schema-evolution/main.ts"];
const where = process.env.MEOWMX_DATABASE_URL || process.env.DATABASE_URL ? "PostgreSQL" : "embedded PGlite";
for (const example of examples) {
  const started = performance.now();
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", new URL(example, import.meta.url).pathname]);
  if (stdout.trim() === "") throw new Error(`examples/${example} printed nothing`);
  console.log(`ok  examples/${example} on ${where} (${Math.round(performance.now() - started)} ms)`);
}
