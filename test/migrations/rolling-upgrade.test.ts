import { execFile } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import * as current from "../../src/index.js";
import { MIGRATIONS } from "../../src/migrations/migrations.js";
import { Order } from "../support/aggregates.js";
import { describePostgres, postgresUrl } from "../support/backends.js";
import { eventually } from "../support/eventually.js";
import { QUIET } from "../support/quiet-logger.js";

/**
 * The package as the previous release shipped it (`npm pack` of commit 008074e, migrations 0001 to
 * 0005): every migration since must leave it working. When a release ships, pack it here in its
 * place (git worktree add <dir> <commit>, npm pack in it) and point this file at it.
 */
const PREVIOUS_RELEASE = join(import.meta.dirname, "fixtures/release-008074e.tgz");
// Unpacked under the project's node_modules, so that its imports (kysely, pg, zod) resolve there.
const unpacked = join(import.meta.dirname, "../../node_modules/.cache/meowmx-previous-release");

describePostgres("the previous release and this one side by side, as in a rolling deploy", ({ newSchema, query }) => {
  let previous: typeof current;
  beforeAll(async () => {
    await rm(unpacked, { recursive: true, force: true });
    await mkdir(unpacked, { recursive: true });
    await promisify(execFile)("tar", ["-xzf", PREVIOUS_RELEASE, "-C", unpacked]);
    previous = (await import(pathToFileURL(join(unpacked, "package/dist/index.js")).href)) as typeof current;
  });
  afterAll(async () => {
    await rm(unpacked, { recursive: true, force: true });
  });

  it("the previous release keeps appending, loading and subscribing while this one migrates and runs beside it", async () => {
    const schema = newSchema();
    const config = { connectionString: postgresUrl(), schema, logger: QUIET };
    expect("repairPositions" in previous).toBe(false); // the package really is the previous release
    // The previous release runs first, with its schema; this one deploys: it migrates on connect.
    const old = await previous.connect(config);
    await old.append("order", "o-1", [Order.events.OrderCreated({ customerId: "c-1", total: 1 })]);
    const now = await current.connect(config);
    await query(`create table "${schema}".handled (stream text not null, version int not null, primary key (stream, version))`);
    try {
      const applied = await query<{ name: string }>(`select name from "${schema}".kysely_migration order by name`);
      expect(applied.map((row) => row.name)).toEqual(MIGRATIONS.map((migration) => migration.name));
      // A process of the previous release starting now finds every one of its migrations applied.
      const late = await previous.connect(config);

      // Both write to the same streams and read each other's events, through repositories too.
      await now.repository(Order).update("o-1", () => Order.events.OrderShipped({ trackingCode: "T-1" }));
      await late.append("order", "o-2", [Order.events.OrderCreated({ customerId: "c-2", total: 2 })]);
      await now.append("order", "o-2", [Order.events.OrderShipped({ trackingCode: "T-2" })], { expectedVersion: 1 });
      expect(await old.repository(Order).load("o-1")).toMatchObject({ version: 2, state: { status: "shipped" } });
      expect(await now.repository(Order).load("o-2")).toMatchObject({ version: 2, state: { status: "shipped" } });

      // One subscription run by a worker of each release: one works at a time, every event once.
      const handler = async (event: current.RecordedEvent, tx: current.TransactionSession) => {
        await tx.db.insertInto(`${schema}.handled`).values({ stream: event.aggregateId, version: event.version }).execute();
      };
      const options = { name: "read-model", batchSize: 5, leaseMs: 500, maxSleepMs: 100 };
      const oldWorker = old.subscribe({ ...options, handler });
      const newWorker = now.subscribe({ ...options, handler });
      for (let n = 0; n < 30; n++) {
        await (n % 2 === 0 ? old : now).append("order", `s-${n % 6}`, [Order.events.OrderCreated({ customerId: `c-${n}`, total: n })]);
        // The previous release's worker stops part way, as its processes are replaced.
        if (n === 15) await oldWorker.stop();
      }
      await newWorker.caughtUp();
      const counted = await query<{ rows: number }>(`select count(*)::int as rows from "${schema}".handled`);
      expect(counted[0]!.rows).toBe(34);
      await newWorker.stop();
      await late.close();

      // And the other way round: the previous release's worker takes over from this one's.
      const after = old.subscribe({ ...options, handler });
      await now.append("order", "s-last", [Order.events.OrderCreated({ customerId: "c-last", total: 1 })]);
      await eventually(async () => (await query<{ rows: number }>(`select count(*)::int as rows from "${schema}".handled`))[0]!.rows === 35, 10_000, "the last event");
      await after.stop();
    } finally {
      await old.close();
      await now.close();
    }
  });
});
