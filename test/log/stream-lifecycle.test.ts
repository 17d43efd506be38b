import { expect, it } from "vitest";
import {
  ConcurrencyError,
  defineProjection,
  InvalidArgumentError,
  InvalidEventError,
  type NewEvent,
  type RecordedEvent,
  type Store,
  StreamArchivedError,
  StreamDeletedError,
  StreamNotFoundError,
  StreamTruncatedError,
} from "../../src/index.js";
import { Order, snapshottingCounter } from "../support/aggregates.js";
import { describeEachBackend, describePostgres } from "../support/backends.js";
import { readSettled, settled, sleep } from "../support/eventually.js";

const created = (total = 10): NewEvent => ({ type: "OrderCreated", data: { customerId: "c-1", total } });
const shipped: NewEvent = { type: "OrderShipped", data: { trackingCode: "T" } };
const added = (amount: number): NewEvent => ({ type: "Added", data: { amount } });

/** One state per order (the default key, its aggregate id). */
const OrderStatus = defineProjection({
  name: "order-status",
  from: [Order],
  initialState: { status: "" },
  evolve: {
    order: {
      OrderCreated: (draft) => {
        draft.status = "created";
      },
      OrderShipped: (draft) => {
        draft.status = "shipped";
      },
    },
  },
});

/** Each way an append can ask for a stream: every one of them must be refused the same way. */
const appendsOf = (store: Store, id: string, head: number) => [
  () => store.append("order", id, [created()], { expectedVersion: 0 }),
  () => store.append("order", id, [created()], { expectedVersion: head }),
  () => store.append("order", id, [created()], { expectedVersion: "any" }),
  () => store.append("order", id, [created()], { expectedVersion: "exists" }),
  () => store.append("order", id, [{ ...created(), id: crypto.randomUUID() }], { expectedVersion: 0 }),
  () => store.append("order", id, [], { expectedVersion: head }),
  () => store.transaction((tx) => tx.append("order", id, [created()], { expectedVersion: 0 })),
  () => store.repository(Order).create(id, () => Order.events.OrderCreated({ customerId: "c-1", total: 1 })),
];

async function rowCounts(store: Store, id: string): Promise<{ events: number; archived: number }> {
  const count = async (table: string) => {
    const { rows } = await store.db
      .withSchema(store.schema)
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .where("aggregate_type", "=", "order")
      .where("aggregate_id", "=", id)
      .execute()
      .then((rows) => ({ rows }));
    return Number(rows[0]!.n);
  };
  return { events: await count("events"), archived: await count("archived_events") };
}

describeEachBackend("stream lifecycle", ({ newStore }) => {
  it("archives a stream: kept, hidden from every reader, refusing appends; restore brings it back at its positions", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [created(), shipped], { expectedVersion: 0 });
    await store.append("order", "o-2", [created(20)], { expectedVersion: 0 });
    const before = await store.load("order", "o-1");
    const seen: string[] = [];
    const subscription = store.subscribe({ name: "watch", aggregateTypes: ["order"], handler: (event: RecordedEvent) => void seen.push(`${event.aggregateId}@${event.version}`) });
    await subscription.caughtUp();
    expect(seen).toEqual(["o-1@1", "o-1@2", "o-2@1"]);

    await store.archiveStream("order", "o-1");
    expect(await rowCounts(store, "o-1")).toEqual({ events: 0, archived: 2 });
    expect(await store.load("order", "o-1")).toEqual([]);
    expect((await readSettled(store)).map((event) => event.aggregateId)).toEqual(["o-2"]);
    const all: string[] = [];
    for await (const event of store.readAll()) all.push(event.aggregateId);
    expect(all).toEqual(["o-2"]);
    expect(await store.repository(Order).load("o-1")).toEqual({ state: Order.initialState, version: 0 });
    await expect(store.repository(Order).get("o-1")).rejects.toBeInstanceOf(StreamNotFoundError);
    for (const append of appendsOf(store, "o-1", 2)) await expect(append()).rejects.toBeInstanceOf(StreamArchivedError);
    await expect(store.repository(Order).update("o-1", () => Order.events.OrderShipped({ trackingCode: "X" }))).rejects.toBeInstanceOf(StreamArchivedError);
    expect(await rowCounts(store, "o-1")).toEqual({ events: 0, archived: 2 });
    // Archiving again changes nothing.
    await store.archiveStream("order", "o-1");

    // A projection rebuilt meanwhile leaves it out; a running subscription gets nothing of it.
    const runner = store.projection(OrderStatus);
    const rebuilt = await runner.rebuild();
    expect(rebuilt.events).toBe(1);
    expect(await runner.keys()).toEqual(["o-2"]);
    await store.append("order", "o-3", [created()], { expectedVersion: 0 });
    await subscription.caughtUp();
    expect(seen).toEqual(["o-1@1", "o-1@2", "o-2@1", "o-3@1"]);

    await store.restoreStream("order", "o-1");
    expect(await rowCounts(store, "o-1")).toEqual({ events: 2, archived: 0 });
    expect(await store.load("order", "o-1")).toEqual(before);
    expect((await readSettled(store)).map((event) => `${event.aggregateId}@${event.version}`)).toEqual(["o-1@1", "o-1@2", "o-2@1", "o-3@1"]);
    // Restoring a stream that is not archived changes nothing.
    await store.restoreStream("order", "o-1");
    expect((await store.append("order", "o-1", [shipped], { expectedVersion: 2 })).version).toBe(3);
    await subscription.caughtUp();
    expect(seen.at(-1)).toBe("o-1@3");
    await subscription.stop();
    expect((await runner.rebuild()).events).toBe(5);
    expect(await runner.keys()).toEqual(["o-1", "o-2", "o-3"]);
  });

  it("deletes a stream with its snapshot and its projection states, leaving a tombstone", async () => {
    const store = await newStore({ inlineProjections: [OrderStatus] });
    const Counter = snapshottingCounter(2);
    await store.repository(Counter).create("k-1", () => [Counter.events.Added({ amount: 1 }), Counter.events.Added({ amount: 2 })]);
    await store.append("order", "o-1", [created(), shipped], { expectedVersion: 0 });
    await store.append("order", "o-2", [created()], { expectedVersion: 0 });
    const statuses = store.projection(OrderStatus);
    expect(await statuses.keys()).toEqual(["o-1", "o-2"]);
    const snapshots = () => store.db.withSchema(store.schema).selectFrom("snapshots").select("aggregate_id").execute();
    expect(await snapshots()).toEqual([{ aggregate_id: "k-1" }]);

    await store.deleteStream("order", "o-1");
    await store.deleteStream("counter", "k-1");
    expect(await rowCounts(store, "o-1")).toEqual({ events: 0, archived: 0 });
    expect(await snapshots()).toEqual([]);
    expect(await statuses.keys()).toEqual(["o-2"]);
    expect(await store.load("order", "o-1")).toEqual([]);
    expect((await readSettled(store)).map((event) => event.aggregateId)).toEqual(["o-2"]);
    for (const append of appendsOf(store, "o-1", 2)) await expect(append()).rejects.toBeInstanceOf(StreamDeletedError);
    await expect(store.repository(Counter).update("k-1", () => Counter.events.Added({ amount: 1 }))).rejects.toBeInstanceOf(StreamDeletedError);
    await expect(store.restoreStream("order", "o-1")).rejects.toBeInstanceOf(StreamDeletedError);
    await expect(store.archiveStream("order", "o-1")).rejects.toBeInstanceOf(StreamDeletedError);
    await expect(store.truncateStream("order", "o-1", { before: 1 })).rejects.toBeInstanceOf(StreamDeletedError);
    // Deleting again changes nothing.
    await store.deleteStream("order", "o-1");

    // An archived stream can be deleted: its archived events go.
    await store.archiveStream("order", "o-2");
    await store.deleteStream("order", "o-2");
    expect(await rowCounts(store, "o-2")).toEqual({ events: 0, archived: 0 });
    await expect(store.append("order", "o-2", [created()])).rejects.toMatchObject({ code: "STREAM_DELETED", aggregateType: "order", aggregateId: "o-2" });
  });

  it("truncates a stream: loads return what is left at its versions, repositories need a snapshot that covers the gap", async () => {
    const store = await newStore();
    await store.append("counter", "k-1", [1, 2, 3, 4, 5, 6].map(added), { expectedVersion: 0 });
    await store.truncateStream("counter", "k-1", { before: 4 });
    expect((await store.load("counter", "k-1")).map((event) => event.version)).toEqual([4, 5, 6]);
    expect((await store.load("counter", "k-1", { direction: "backward", limit: 1 }))[0]!.version).toBe(6);

    // No snapshot: the state would miss versions 1-3.
    const plain = store.repository(snapshottingCounter(100));
    const error = await plain.load("k-1").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StreamTruncatedError);
    expect(error).toMatchObject({ code: "STREAM_TRUNCATED", aggregateType: "counter", aggregateId: "k-1", truncatedBefore: 4, loadedVersion: 0 });
    await expect(plain.update("k-1", () => [])).rejects.toBeInstanceOf(StreamTruncatedError);

    // A snapshot at version 3 (before - 1) or later covers it.
    const other = await newStore();
    const Counter = snapshottingCounter(3);
    await other.repository(Counter).create("k-1", () => [1, 2, 3].map((amount) => Counter.events.Added({ amount })));
    await other.repository(Counter).update("k-1", () => [4, 5].map((amount) => Counter.events.Added({ amount })));
    await other.truncateStream("counter", "k-1", { before: 4 });
    expect(await other.repository(Counter).load("k-1")).toMatchObject({ version: 5, state: { total: 15 } });
    // Truncated past the snapshot (at 3): refused, never a wrong state.
    await other.truncateStream("counter", "k-1", { before: 5 });
    await expect(other.repository(Counter).load("k-1")).rejects.toMatchObject({ truncatedBefore: 5, loadedVersion: 3 });
    // Every event gone: nothing follows the snapshot, and where the stream was truncated (read with the snapshot) still tells.
    await other.truncateStream("counter", "k-1", { before: 6 });
    await expect(other.repository(Counter).load("k-1")).rejects.toMatchObject({ truncatedBefore: 6, loadedVersion: 3 });

    // Every event removed: the stream keeps its version.
    await store.truncateStream("counter", "k-1", { before: 7 });
    expect(await store.load("counter", "k-1")).toEqual([]);
    await expect(store.append("counter", "k-1", [added(7)], { expectedVersion: 0 })).rejects.toMatchObject({ actualVersion: 6 });
    await expect(store.append("counter", "k-1", [added(7)], { expectedVersion: 5 })).rejects.toBeInstanceOf(ConcurrencyError);
    expect((await store.append("counter", "k-1", [added(7)], { expectedVersion: 6 })).version).toBe(7);
    expect((await store.append("counter", "k-1", [added(8)], { expectedVersion: "any" })).version).toBe(8);
    expect((await store.load("counter", "k-1")).map((event) => event.version)).toEqual([7, 8]);
    // Truncating below where it was truncated already changes nothing.
    await store.truncateStream("counter", "k-1", { before: 3 });
    expect((await store.load("counter", "k-1")).map((event) => event.version)).toEqual([7, 8]);

    await store.archiveStream("counter", "k-1");
    await expect(store.truncateStream("counter", "k-1", { before: 8 })).rejects.toBeInstanceOf(StreamArchivedError);
    await store.restoreStream("counter", "k-1");
    expect((await store.load("counter", "k-1")).map((event) => event.version)).toEqual([7, 8]);
    expect((await store.append("counter", "k-1", [added(9)], { expectedVersion: 8 })).version).toBe(9);
  });

  it("refuses bad input with a typed error and changes nothing", async () => {
    const store = await newStore({ aggregateIdType: "uuid" });
    const id = crypto.randomUUID();
    await store.append("order", id, [created(), shipped], { expectedVersion: 0 });
    const unknown = crypto.randomUUID();
    for (const operation of [
      () => store.archiveStream("order", unknown),
      () => store.restoreStream("order", unknown),
      () => store.deleteStream("order", unknown),
      () => store.truncateStream("order", unknown, { before: 1 }),
    ]) {
      await expect(operation()).rejects.toBeInstanceOf(StreamNotFoundError);
    }
    for (const before of [0, -1, 1.5, Number.NaN, "2" as unknown as number, 4]) {
      await expect(store.truncateStream("order", id, { before })).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    await expect(store.archiveStream("", id)).rejects.toBeInstanceOf(InvalidEventError);
    await expect(store.deleteStream("order", "not-a-uuid")).rejects.toBeInstanceOf(InvalidEventError);
    await expect(store.deleteStream("order", undefined as unknown as string)).rejects.toBeInstanceOf(InvalidEventError);
    expect((await store.load("order", id)).map((event) => event.version)).toEqual([1, 2]);
    const { rows } = await store.db.withSchema(store.schema).selectFrom("stream_lifecycle").selectAll().execute().then((rows) => ({ rows }));
    expect(rows).toEqual([]);
  });

  it("runs in the caller's transaction: a rollback undoes a deletion", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [created()], { expectedVersion: 0 });
    await expect(
      store.transaction(async (tx) => {
        await tx.deleteStream("order", "o-1");
        expect(await tx.load("order", "o-1")).toEqual([]);
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect(await store.load("order", "o-1")).toHaveLength(1);
    expect((await store.append("order", "o-1", [shipped], { expectedVersion: 1 })).version).toBe(2);
  });
});

describePostgres("stream lifecycle under concurrency", ({ newStore }) => {
  it("archives, deletes and restores while 6 writers append and a subscription runs: no refused stream takes an event, nothing acknowledged is lost, delivery stays ordered", async () => {
    const store = await newStore();
    const ids = Array.from({ length: 12 }, (_, i) => `o-${i}`);
    for (const id of ids) await store.append("order", id, [created()], { expectedVersion: 0 });
    const delivered: RecordedEvent[] = [];
    const subscription = store.subscribe({ name: "race", aggregateTypes: ["order"], batchSize: 7, handler: (event: RecordedEvent) => void delivered.push(event) });
    const acknowledged: RecordedEvent[] = [];
    const recreated: string[] = [];
    let stop = false;
    const writers = Array.from({ length: 6 }, async (_, writer) => {
      for (let n = 0; !stop; n++) {
        const id = ids[(writer * 7 + n * 5) % ids.length]!;
        const mode = n % 3;
        try {
          const head = mode === 1 ? (await store.load("order", id, { direction: "backward", limit: 1 }))[0]?.version ?? 0 : 0;
          const expectedVersion = mode === 0 ? "any" : mode === 1 ? head : 0;
          // Every stream exists: an append expecting none may only win once a deletion let it, which must never happen.
          const result = await store.append("order", id, [shipped, shipped], { expectedVersion });
          if (expectedVersion === 0) recreated.push(id);
          acknowledged.push(...result.events);
        } catch (error) {
          if (!(error instanceof ConcurrencyError || error instanceof StreamArchivedError || error instanceof StreamDeletedError)) throw error;
        }
      }
    });
    const archived = ["o-0", "o-1", "o-2"];
    const deleted = ["o-3", "o-4", "o-5", "o-6"];
    const restored = ["o-7", "o-8"];
    for (const id of [...archived, ...restored]) {
      await sleep(40);
      await store.archiveStream("order", id);
    }
    for (const [i, id] of deleted.entries()) {
      await sleep(40);
      if (i % 2 === 0) await store.archiveStream("order", id);
      await store.deleteStream("order", id);
    }
    for (const id of restored) {
      await sleep(40);
      await store.restoreStream("order", id);
    }
    await sleep(100);
    stop = true;
    await Promise.all(writers);
    await settled(store);
    await subscription.caughtUp();
    await subscription.stop();

    expect(recreated).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(100);
    const rows = async (table: string) =>
      (await store.db.withSchema(store.schema).selectFrom(table).select(["aggregate_id", "version", "event_id"]).orderBy("aggregate_id").orderBy("version").execute()) as Array<{
        aggregate_id: string;
        version: number;
        event_id: string;
      }>;
    const live = await rows("events");
    const kept = await rows("archived_events");
    const byStream = (list: typeof live, id: string) => list.filter((row) => row.aggregate_id === id);
    for (const id of deleted) expect([...byStream(live, id), ...byStream(kept, id)]).toEqual([]);
    for (const id of archived) expect(byStream(live, id)).toEqual([]);
    for (const id of [...archived, ...restored, "o-9", "o-10", "o-11"]) {
      // Every version once, from 1: the lock left no gap and no second version 1.
      const versions = [...byStream(live, id), ...byStream(kept, id)].map((row) => row.version).sort((a, b) => a - b);
      expect(versions).toEqual(versions.map((_, i) => i + 1));
    }
    const stored = new Set([...live, ...kept].map((row) => row.event_id));
    const lost = acknowledged.filter((event) => !deleted.includes(event.aggregateId) && !stored.has(event.id));
    expect(lost).toEqual([]);

    // The subscription: each event at most once, in commit order, each stream by version; every event
    // of the streams left alone delivered.
    expect(new Set(delivered.map((event) => event.id)).size).toBe(delivered.length);
    const positions = delivered.map((event) => event.position);
    expect([...positions].sort()).toEqual(positions);
    for (const id of ids) {
      const versions = delivered.filter((event) => event.aggregateId === id).map((event) => event.version);
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
    }
    for (const id of ["o-9", "o-10", "o-11"]) {
      expect(delivered.filter((event) => event.aggregateId === id).map((event) => event.version)).toEqual(byStream(live, id).map((row) => row.version));
    }
  }, 60_000);
});
