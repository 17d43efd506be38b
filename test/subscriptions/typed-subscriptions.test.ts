import { expect, it } from "vitest";
import { InvalidArgumentError, type RecordedEvent } from "../../src/index.js";
import { Order, Refund } from "../support/aggregates.js";
import { describeEachBackend } from "../support/backends.js";
import { OrderV1, OrderV3 } from "../support/order-versions.js";

describeEachBackend("typed subscriptions and batch handlers", ({ newStore }) => {
  it("reads the categories of its definitions, handing over events parsed and lifted to the current schemas", async () => {
    const store = await newStore();
    await store.repository(OrderV1).create("o-1", () => OrderV1.events.OrderCreated({ customer: "c-1" }));
    await store.repository(OrderV1).create("o-2", () => OrderV1.events.OrderPlaced({ customer: "c-2" }));
    await store.append("invoice", "i-1", [{ type: "Sent", data: {} }]);
    const seen: Array<[string, unknown]> = [];
    const sub = store.subscribe({ name: "typed", from: [OrderV3], handler: (event) => void seen.push([event.type, event.data]) });
    await sub.caughtUp();
    await sub.stop();
    expect(seen).toEqual([
      ["OrderCreated", { customerId: "c-1", total: 0, currency: "EUR" }],
      ["OrderCreated", { customerId: "c-2", total: 0, currency: "EUR" }],
    ]);
  });

  it("hands a batch handler each batch in commit order, in the checkpoint's transaction", async () => {
    const store = await newStore();
    await store.db.schema.createTable(`${store.schema}.rows`).addColumn("id", "text", (c) => c.primaryKey()).execute();
    for (let i = 0; i < 25; i++) await store.append("order", `o-${i}`, [Order.events.OrderCreated({ customerId: "c", total: i })]);
    const batches: number[][] = [];
    const sub = store.subscribe({
      name: "batched",
      from: [Order, Refund],
      batchSize: 10,
      handleBatch: async (events, tx) => {
        batches.push(events.map((event) => (event.type === "OrderCreated" ? event.data.total : -1)));
        await tx.db.insertInto(`${store.schema}.rows`).values(events.map((event) => ({ id: event.aggregateId }))).execute();
      },
    });
    await sub.caughtUp();
    await sub.stop();
    expect(batches.map((batch) => batch.length)).toEqual([10, 10, 5]);
    expect(batches.flat()).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(await store.db.selectFrom(`${store.schema}.rows`).selectAll().execute()).toHaveLength(25);
  });

  it("splits a failing batch until the failing event is alone, parks exactly it, and handles every other event once", async () => {
    const store = await newStore();
    await store.db.schema.createTable(`${store.schema}.rows`).addColumn("id", "text", (c) => c.primaryKey()).execute();
    const ids = Array.from({ length: 40 }, (_, i) => `o-${i}`);
    for (const id of ids) await store.append("thing", id, [{ type: id === "o-23" ? "Poison" : "Fine", data: {} }]);
    // And one the definition cannot read: a failure of that event alone, with the validation error.
    await store.append("order", "o-40", [Order.events.OrderCreated({ customerId: "c", total: 1 }), { type: "OrderCreated", data: { total: "x" } }]);
    const calls: number[] = [];
    const sub = store.subscribe({
      name: "splitting",
      batchSize: 16,
      onError: "park",
      maxAttempts: 2,
      retryDelayMs: 1,
      handleBatch: async (events: RecordedEvent[], tx) => {
        calls.push(events.length);
        if (events.some((event) => event.type === "Poison")) throw new Error("poison");
        await tx.db.insertInto(`${store.schema}.rows`).values(events.map((event) => ({ id: `${event.aggregateId}@${event.version}` }))).execute();
      },
    });
    await sub.caughtUp();
    const typed = store.subscribe({
      name: "splitting-typed",
      from: [Order],
      onError: "park",
      maxAttempts: 1,
      handleBatch: () => undefined,
    });
    await typed.caughtUp();
    await Promise.all([sub.stop(), typed.stop()]);
    const rows = (await store.db.selectFrom(`${store.schema}.rows`).select("id").execute()).map((row) => row.id);
    expect(rows.sort()).toEqual([...ids.filter((id) => id !== "o-23").map((id) => `${id}@1`), "o-40@1", "o-40@2"].sort());
    const poison = (await store.load("thing", "o-23"))[0]!;
    expect((await store.parkedEvents("splitting")).map((p) => p.position)).toEqual([poison.position]);
    expect(calls).toContain(1);
    const [unreadable] = await store.parkedEvents("splitting-typed");
    expect(unreadable!.position).toBe((await store.load("order", "o-40"))[1]!.position);
    expect(unreadable!.error).toMatch(/EventValidationError: invalid OrderCreated event in order\/o-40 at version 2/);
  });

  it("refuses a configuration that is not one handler and one source", () => {
    return newStore().then((store) => {
      const handler = () => undefined;
      const refused = [
        { name: "both", handler, handleBatch: handler },
        { name: "neither" },
        { name: "two-sources", from: [Order], aggregateTypes: ["order"], handler },
        { name: "empty-from", from: [], handler },
      ];
      for (const config of refused) expect(() => store.subscribe(config as never), config.name).toThrow(InvalidArgumentError);
    });
  });
});
