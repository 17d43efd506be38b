import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { connect, defineAggregate, personalData, withEventMetadata } from "../../src/index.js";
import { describePostgres, postgresUrl } from "../support/backends.js";
import { OrderV1, OrderV3 } from "../support/order-versions.js";
import { QUIET } from "../support/quiet-logger.js";

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
    // Two stores race for the stream: what it says about retries is what happened.
    const [, retried, attempts] = stdout.match(/(\d) of them found the other terminal had written first and ran again \(attempts: ([\d, ]+)\)/)!;
    expect(attempts!.split(", ").filter((count) => Number(count) > 1)).toHaveLength(Number(retried));
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

  it("archives, lists archived, restores and (only with --yes) deletes a stream; forgets a subject", async () => {
    const dir = await mkdtemp(join(tmpdir(), "meowmx-cli-"));
    dirs.push(dir);
    expect((await meowmx("--data-dir", dir, "demo")).code).toBe(0);
    expect((await meowmx("--data-dir", dir, "archive", "order", "o-1")).stdout).toBe("archived order/o-1\n");
    expect((await meowmx("--data-dir", dir, "streams", "order")).stdout).toBe("");
    expect((await meowmx("--data-dir", dir, "streams", "--archived")).stdout).toMatch(/^order\/o-1 {2}version 10 {2}archived \d{4}-/);
    expect((await meowmx("--data-dir", dir, "streams")).stderr).toMatch(/name a category/);
    expect((await meowmx("--data-dir", dir, "restore", "order", "o-1")).code).toBe(0);
    expect((await meowmx("--data-dir", dir, "streams", "order")).stdout).toMatch(/order\/o-1 {2}version 10/);
    const refused = await meowmx("--data-dir", dir, "delete", "order", "o-1");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cannot be undone: run again with --yes/);
    expect((await meowmx("--data-dir", dir, "streams", "order")).stdout).toMatch(/order\/o-1 {2}version 10/);
    expect((await meowmx("--data-dir", dir, "delete", "order", "o-1", "--yes")).stdout).toBe("deleted order/o-1\n");
    expect((await meowmx("--data-dir", dir, "events", "--type", "order", "--id", "o-1")).stdout).toBe("");
    const Customer = defineAggregate({
      type: "customer",
      events: { Registered: z.object({ email: personalData(z.string(), { forgotten: "(forgotten)" }) }) },
      initialState: { email: "" },
      evolve: { Registered: (draft, data) => void (draft.email = data.email) },
    });
    const before = await connect({ dataDir: dir, logger: QUIET });
    await before.repository(Customer).create("c-1", () => Customer.events.Registered({ email: "ada@example.org" }));
    await before.close();
    expect((await meowmx("--data-dir", dir, "forget", "c-1")).stdout).toBe("forgot c-1\n");
    const after = await connect({ dataDir: dir, logger: QUIET });
    expect((await after.repository(Customer).load("c-1")).state.email).toBe("(forgotten)");
    await after.close();
    const missing = await meowmx("--data-dir", dir, "archive", "order", "o-404");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/stream order\/o-404 does not exist/);
  });

  it("rebuilds a projection named in the config file, with progress, and lists subscriptions", async () => {
    const dir = await mkdtemp(join(tmpdir(), "meowmx-cli-"));
    dirs.push(dir);
    const src = join(import.meta.dirname, "../../src");
    const configFile = join(dir, "meowmx.config.ts");
    await writeFile(
      configFile,
      `import { defineConfig, defineProjection } from ${JSON.stringify(join(src, "index.ts"))};
import { DemoOrder } from ${JSON.stringify(join(src, "cli/demo/order.ts"))};
export default defineConfig({
  connect: { dataDir: ${JSON.stringify(join(dir, "data"))} },
  projections: [
    defineProjection({
      name: "items",
      from: [DemoOrder],
      key: () => "all",
      initialState: { items: 0 },
      evolve: { order: { ItemAdded: (draft) => { draft.items += 1; } } },
    }),
  ],
  subscriptions: [{ name: "audit", handler: () => {} }],
});
`,
    );
    expect((await meowmx("--data-dir", join(dir, "data"), "demo")).code).toBe(0);
    const rebuilt = await meowmx("--config", configFile, "rebuild", "items");
    expect(rebuilt.stdout).toMatch(/rebuilt items: 10 events into 1 states/);
    expect(rebuilt.stderr).toMatch(/\[#{30}\] 10\/10 events .* ev\/s {2}ETA 0 s/);
    const listed = await meowmx("--config", configFile, "subscriptions");
    expect(listed.stdout).toMatch(/^projection:items {2}lag 0 {2}no worker {2}parked 0/m);
    const reset = await meowmx("--config", configFile, "subscriptions", "reset", "projection:items", "--to", "beginning");
    expect(reset.stdout.trim()).toBe("projection:items reset to beginning");
    expect((await meowmx("--config", configFile, "subscriptions")).stdout).toMatch(/^projection:items {2}lag 10 {2}no worker {2}parked 0 {2}at start/m);
    const noSuch = await meowmx("--config", configFile, "subscriptions", "reset", "nobody", "--to", "end");
    expect(noSuch.stderr.trim()).toBe("meowmx: there is no subscription named nobody");
    const replayed = await meowmx("--config", configFile, "subscriptions", "replay-parked", "audit");
    expect(replayed.stdout).toMatch(/replayed 0 parked events of audit/);
    const unknown = await meowmx("--config", configFile, "rebuild", "nothing");
    expect(unknown.stderr.trim()).toBe("meowmx: no projection named nothing in the config file");
    const missing = await meowmx("--config", join(dir, "nope.ts"), "subscriptions");
    expect(missing.stderr).toMatch(/no config file at/);
  });

  it("prints a correlation's events as a tree of causes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "meowmx-cli-"));
    dirs.push(dir);
    const store = await connect({ dataDir: dir, logger: QUIET });
    const [placed] = (await withEventMetadata({ correlationId: "req-1" }, () => store.append("order", "o-1", [{ type: "Placed", data: {} }]))).events;
    await withEventMetadata({ correlationId: "req-1", causationId: placed!.id }, () => store.append("invoice", "i-1", [{ type: "Invoiced", data: {} }]));
    await store.append("order", "o-2", [{ type: "Unrelated", data: {} }]);
    await store.close();
    const tree = await meowmx("--data-dir", dir, "trace", "req-1");
    expect(tree.stdout).toMatch(/^order\/o-1@1 {2}Placed {2}\S+\n {2}invoice\/i-1@1 {2}Invoiced {2}\S+\n$/);
    const json = (await meowmx("--data-dir", dir, "trace", "req-1", "--json")).stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(json.map((e) => [e.type, e.depth])).toEqual([["Placed", 0], ["Invoiced", 1]]);
    const none = await meowmx("--data-dir", dir, "trace", "req-2");
    expect(none.code).toBe(1);
    expect(none.stderr.trim()).toBe("meowmx: no events with correlationId req-2");
  });

  it("checks every stored event against the config file's aggregates, exiting 1 when any cannot be read", async () => {
    const dir = await mkdtemp(join(tmpdir(), "meowmx-cli-"));
    dirs.push(dir);
    const configFile = join(dir, "meowmx.config.ts");
    await writeFile(
      configFile,
      `import { defineConfig } from ${JSON.stringify(join(import.meta.dirname, "../../src/index.ts"))};
import { OrderV3 } from ${JSON.stringify(join(import.meta.dirname, "../support/order-versions.ts"))};
export default defineConfig({ connect: { dataDir: ${JSON.stringify(join(dir, "data"))} }, aggregates: [OrderV3] });
`,
    );
    const store = await connect({ dataDir: join(dir, "data"), logger: QUIET });
    await store.repository(OrderV1).create("o-1", () => OrderV1.events.OrderCreated({ customer: "c-1" }));
    await store.repository(OrderV3).create("o-2", () => OrderV3.events.OrderCreated({ customerId: "c-2", total: 1, currency: "EUR" }));
    await store.close();
    const clean = await meowmx("--config", configFile, "check");
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/^order\/OrderCreated@1 {2}1\norder\/OrderCreated@3 {2}1\n\nchecked 2 events: all readable\n$/);
    expect(clean.stderr).toMatch(/\[#{30}\] 2\/2 events/);
    const broken = await connect({ dataDir: join(dir, "data"), logger: QUIET });
    await broken.append("order", "o-3", [{ type: "OrderCreated", data: { client: "c-3" } }]);
    await broken.close();
    const failing = await meowmx("--config", configFile, "check");
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/FAILED at \S+: invalid OrderCreated event in order\/o-3 at version 1 \(stored at schema version 1\) in upcast step 1/);
    expect(failing.stdout).toMatch(/checked 3 events: 1 cannot be read/);
    const json = await meowmx("--config", configFile, "check", "--json");
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ checked: 3, failed: 1, failures: [{ aggregateId: "o-3" }] });
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

describePostgres("meowmx events --follow", ({ newStore }) => {
  it("prints events as they commit, from another process, and stops on Ctrl-C", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [{ type: "Before", data: {} }]);
    const child = spawn(process.execPath, ["--import", "tsx", bin, "--url", postgresUrl(), "--schema", store.schema, "events", "--follow", "--json"], { env });
    const lines: string[] = [];
    let arrived = () => {};
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      lines.push(...text.split("\n").filter(Boolean));
      arrived();
    });
    const seen = (count: number) =>
      new Promise<void>((resolve) => {
        arrived = () => lines.length >= count && resolve();
        arrived();
      });
    await seen(1);
    await store.append("order", "o-2", [{ type: "After", data: {} }]);
    await seen(2);
    child.kill("SIGINT");
    const code = await new Promise((resolve) => child.once("exit", resolve));
    expect(lines.map((line) => JSON.parse(line).type)).toEqual(["Before", "After"]);
    expect(code).toBe(0);
  });
});
