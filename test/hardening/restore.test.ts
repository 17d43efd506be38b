import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, isRestoredLogError, type RecordedEvent, repairPositions, type Store } from "../../src/index.js";
import { CustomerTotals, Order } from "../support/aggregates.js";
import { describeEachBackend, enabledBackends } from "../support/backends.js";
import { QUIET } from "../support/quiet-logger.js";
import { startThrowawayCluster, type ThrowawayCluster } from "../support/throwaway-cluster.js";

const run = promisify(execFile);
const bin = join(import.meta.dirname, "../../src/cli/bin.ts");

/** Runs `meowmx repair-positions` against a cluster's schema; resolves to what it printed. */
async function repairWithCli(url: string, schema: string): Promise<string> {
  const env = { ...process.env, DATABASE_URL: "", MEOWMX_DATABASE_URL: "" };
  return (await run(process.execPath, ["--import", "tsx", bin, "--url", url, "--schema", schema, "repair-positions"], { env })).stdout;
}

const created = (customerId: string, total: number) => Order.events.OrderCreated({ customerId, total });

async function everything(store: Store): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of store.readAll()) events.push(event);
  return events;
}

// Two clusters of the test's own: the one a dump comes from, and a fresh one it is restored into.
describe.runIf(enabledBackends().includes("postgres"))("a logical restore into another cluster", () => {
  let source: ThrowawayCluster;
  let target: ThrowawayCluster;
  beforeAll(async () => {
    const started = await Promise.all([startThrowawayCluster(), startThrowawayCluster()]);
    if (started.includes(undefined)) throw new Error("no PostgreSQL server binaries to start throwaway clusters with");
    [source, target] = started as [ThrowawayCluster, ThrowawayCluster];
  }, 60_000);
  afterAll(async () => {
    await Promise.all([source?.destroy(), target?.destroy()]);
  });

  it("is detected, repaired in place with its order, checkpoints, parked events and projection positions, and goes on", async () => {
    // The source has lived longer than the fresh target: its transaction ids are well past the target's first.
    await source.psql("do $$ begin for i in 1..3000 loop perform pg_current_xact_id(); commit; end loop; end $$");
    const schema = "shop";
    const old = await connect({ connectionString: source.url, schema, logger: QUIET });
    for (let n = 0; n < 12; n++) await old.append("order", `o-${n % 4}`, [created(`c-${n % 3}`, n)]);
    // Commit order differs from insert order: a transaction that began first and wrote last sorts first.
    let releaseEarly!: () => void;
    const early = old.transaction(async (tx) => {
      await tx.append("order", "early", [created("c-9", 100)]);
      await new Promise<void>((resolve) => (releaseEarly = resolve));
      await tx.append("order", "early", [created("c-9", 101)]);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await old.append("order", "late", [created("c-8", 200)]);
    releaseEarly();
    await early;
    for (let n = 12; n < 20; n++) await old.append("order", `o-${n % 4}`, [created(`c-${n % 3}`, n)]);

    // A subscription part way, one that parked an event, a projection with a state per customer.
    const history = await everything(old);
    expect(history).toHaveLength(23);
    const checkpointAt = history[9]!;
    const partway = old.subscribe({ name: "partway", batchSize: 1, handler: () => undefined });
    await partway.caughtUp();
    await partway.stop();
    await old.resetSubscription("partway", checkpointAt.position);
    const poison = history[5]!;
    const parking = old.subscribe({
      name: "parking",
      onError: "park",
      maxAttempts: 1,
      handler: (event) => {
        if (event.id === poison.id) throw new Error("poison");
      },
    });
    await parking.caughtUp();
    await parking.stop();
    await old.projection(CustomerTotals).rebuild();
    const states = Object.fromEntries(await Promise.all((await old.projection(CustomerTotals).keys()).map(async (key) => [key, await old.projection(CustomerTotals).get(key)])));
    // An archived stream keeps its positions in the archive: they are renumbered with the rest.
    const kept = await old.append("order", "kept", [created("c-7", 1), created("c-7", 2)]);
    await old.archiveStream("order", "kept");
    await old.close();

    await target.restore(await source.dump(schema));
    // Before the repair: a clear error, never a silently empty log.
    const refused = await connect({ connectionString: target.url, schema, logger: QUIET }).catch((error: unknown) => error);
    expect(isRestoredLogError(refused)).toBe(true);
    expect(String(refused)).toMatch(/another PostgreSQL cluster.*npx meowmx repair-positions/s);

    expect(await repairWithCli(target.url, schema)).toMatch(new RegExp(`renumbered ${history.length} events; moved 3 subscription checkpoints, 1 parked events and 5 projection states with them`));
    expect(await repairWithCli(target.url, schema)).toMatch(/nothing to repair/);

    const store = await connect({ connectionString: target.url, schema, logger: QUIET });
    try {
      const restored = await everything(store);
      expect(restored.map((event) => event.id)).toEqual(history.map((event) => event.id));
      const newPosition = new Map(history.map((event, i) => [event.position, restored[i]!.position]));

      // The subscription goes on exactly after its checkpoint; the parked event is the same one.
      const handled: string[] = [];
      const resumed = store.subscribe({ name: "partway", handler: (event) => void handled.push(event.id) });
      await resumed.caughtUp();
      await resumed.stop();
      expect(handled).toEqual(history.slice(10).map((event) => event.id));
      const [parked] = await store.parkedEvents("parking");
      expect(parked?.position).toBe(newPosition.get(poison.position));
      let replayed: string | undefined;
      expect(await store.replayParked("parking", (event) => void (replayed = event.id))).toBe(1);
      expect(replayed).toBe(poison.id);

      // Projection states keep their values; their positions are their events' new ones.
      const totals = store.projection(CustomerTotals);
      for (const [key, state] of Object.entries(states)) expect(await totals.get(key)).toEqual(state);
      const positions = await totals.query().select(["key", "position"]).execute();
      const newPositions = new Set(newPosition.values());
      for (const { position } of positions) expect(newPositions.has(position)).toBe(true);

      // New events come after the whole restored history, and the status reads.
      const appended = await store.append("order", "after-restore", [created("c-1", 1)]);
      const after = await everything(store);
      expect(after.at(-1)?.id).toBe(appended.events[0]!.id);
      expect(after).toHaveLength(history.length + 1);
      expect((await store.subscriptionStatus("partway"))[0]?.lag).toBe(1);

      // Restored from the archive, the stream is back in commit order, before what this cluster wrote.
      await store.restoreStream("order", "kept");
      expect((await store.load("order", "kept")).map((event) => event.id)).toEqual(kept.events.map((event) => event.id));
      const withKept = await everything(store);
      expect(withKept.map((event) => event.id)).toEqual([...history.map((event) => event.id), ...kept.events.map((event) => event.id), appended.events[0]!.id]);
    } finally {
      await store.close();
    }
  }, 120_000);
});

// The same detection and repair on both backends, with a row as a restore from a busier cluster leaves it.
describeEachBackend("positions from another cluster", ({ newStore, query, where }) => {
  it("are refused by subscriptionStatus and connect, and repaired in place", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [created("c-1", 1)]);
    const sub = store.subscribe({ name: "status", handler: () => undefined });
    await sub.caughtUp();
    await sub.stop();
    const [{ next }] = (await query<{ next: string }>("select pg_snapshot_xmax(pg_current_snapshot())::text as next")) as [{ next: string }];
    await query(
      `insert into "${store.schema}".events (transaction_id, aggregate_type, aggregate_id, version, type, data, event_id)
       values ($1::xid8, 'order', 'o-1', 2, 'OrderShipped', '{"trackingCode":"T"}', gen_random_uuid())`,
      [String(BigInt(next) + 1_000_000n)],
    );
    await expect(store.subscriptionStatus()).rejects.toSatisfy(isRestoredLogError);
    await expect(connect({ ...(await where()), schema: store.schema, logger: QUIET })).rejects.toSatisfy(isRestoredLogError);
    expect(await repairPositions({ ...(await where()), schema: store.schema, logger: QUIET })).toEqual({ events: 2, checkpoints: 1, parkedEvents: 0, projectionStates: 0 });
    expect((await store.load("order", "o-1")).map((event) => event.type)).toEqual(["OrderCreated", "OrderShipped"]);
    expect((await store.read()).map((event) => event.type)).toEqual(["OrderCreated", "OrderShipped"]);
    expect((await store.subscriptionStatus("status"))[0]?.lag).toBe(1);
  });
});
