import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const bin = join(import.meta.dirname, "../../src/cli/bin.ts");
const env = { ...process.env, DATABASE_URL: "", MEOWMX_DATABASE_URL: "" };

/** Runs the CLI; resolves to its output and exit code. */
async function meowmx(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", bin, ...args], { env });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; stderr: string; code: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
  }
}

describe("meowmx CLI", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("runs the orders demo on the embedded database", async () => {
    const { stdout, code } = await meowmx("demo");
    expect(code).toBe(0);
    expect(stdout).toMatch(/embedded PGlite/);
    expect(stdout).toMatch(/shipped: 8 items, total 108, stream at version 10/);
    expect(stdout.match(/@\d+  ItemAdded  /g)).toHaveLength(8);
  });

  it("prints the DDL without a database, and migrates, lists streams and events on a kept database", async () => {
    const printed = await meowmx("migrate", "--print-sql", "--schema", "shop", "--aggregate-id-type", "uuid");
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(/create table "shop"\.events/);
    expect(printed.stdout).toMatch(/aggregate_id uuid not null/);

    const dir = await mkdtemp(join(tmpdir(), "meowmx-cli-"));
    dirs.push(dir);
    expect((await meowmx("--data-dir", dir, "demo")).code).toBe(0);
    const streams = await meowmx("--data-dir", dir, "streams", "order");
    expect(streams.stdout).toMatch(/order\/o-1 {2}version 10/);
    const json = await meowmx("--data-dir", dir, "events", "--type", "order", "--id", "o-1", "--limit", "2", "--json");
    const lines = json.stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(lines.map((event) => event.version)).toEqual([1, 2]);
  });

  it("ends bad arguments with one clear line and a non-zero code", async () => {
    const bad = await meowmx("events", "--limit", "0");
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/not a whole number >= 1: 0/);
    const unknown = await meowmx("frobnicate");
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/unknown command/);
    const badSchema = await meowmx("migrate", "--print-sql", "--schema", 'x"; drop table y; --');
    expect(badSchema.code).toBe(1);
    expect(badSchema.stderr.trim().split("\n")).toHaveLength(1);
  });
});
