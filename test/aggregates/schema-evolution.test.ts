import { expect, it } from "vitest";
import { defineProjection, EventValidationError, type Store } from "../../src/index.js";
import { describeEachBackend } from "../support/backends.js";
import { readSettled } from "../support/eventually.js";
import { OrderV1, OrderV2, OrderV3 } from "../support/order-versions.js";

/** Per customer: how many orders and in which currencies, from the newest definition. */
const Orders = defineProjection({
  name: "orders-by-customer",
  from: [OrderV3],
  key: (event) => (event.type === "OrderCreated" ? event.data.customerId : event.aggregateId),
  initialState: { orders: 0, currencies: [] as string[] },
  evolve: { order: { OrderCreated: (draft, data) => void ((draft.orders += 1), draft.currencies.push(data.currency)) } },
});

/** Writes a history through each release in turn, through the real append path. */
async function history(store: Store): Promise<void> {
  await store.repository(OrderV1).create("o-1", () => OrderV1.events.OrderCreated({ customer: "c-1" }));
  await store.repository(OrderV1).create("o-2", () => OrderV1.events.OrderPlaced({ customer: "c-1" }));
  await store.repository(OrderV2).create("o-3", () => OrderV2.events.OrderCreated({ customerId: "c-2", total: 7 }));
  await store.repository(OrderV3).create("o-4", () => OrderV3.events.OrderCreated({ customerId: "c-2", total: 9, currency: "USD" }));
}

describeEachBackend("schema evolution", ({ newStore, newSchema, query }) => {
  it("stores each event's schema version, returns stored data as stored, and reads it lifted through the definition", async () => {
    const store = await newStore();
    await history(store);
    const raw = await readSettled(store);
    expect(raw.map((e) => [e.aggregateId, e.type, e.schemaVersion, e.data])).toEqual([
      ["o-1", "OrderCreated", 1, { customer: "c-1" }],
      ["o-2", "OrderPlaced", 1, { customer: "c-1" }],
      ["o-3", "OrderCreated", 2, { customerId: "c-2", total: 7 }],
      ["o-4", "OrderCreated", 3, { customerId: "c-2", total: 9, currency: "USD" }],
    ]);
    const orders = store.repository(OrderV3);
    expect((await orders.load("o-1")).state).toEqual({ status: "created", customerId: "c-1", total: 0, currency: "EUR" });
    expect((await orders.load("o-2")).state).toEqual({ status: "created", customerId: "c-1", total: 0, currency: "EUR" });
    expect((await orders.load("o-3")).state).toEqual({ status: "created", customerId: "c-2", total: 7, currency: "EUR" });
    const shipped = await orders.update("o-1", (order) => (order.status === "created" ? OrderV3.events.OrderShipped({ trackingCode: "T" }) : undefined));
    expect(shipped).toMatchObject({ version: 2, state: { status: "shipped" } });
    expect(raw.map((e) => OrderV3.parseEvent(e)!.type)).toEqual(["OrderCreated", "OrderCreated", "OrderCreated", "OrderCreated"]);
  });

  it("feeds projections lifted events: through a worker, inline, and on a rebuild", async () => {
    const schema = newSchema();
    const writer = await newStore({ schema });
    await history(writer);
    const expected = { "c-1": { orders: 2, currencies: ["EUR", "EUR"] }, "c-2": { orders: 2, currencies: ["EUR", "USD"] } };
    const states = async (store: Store) => Object.fromEntries(await Promise.all((await store.projection(Orders).keys()).map(async (key) => [key, await store.projection(Orders).get(key)])));
    const worker = writer.projection(Orders).start();
    await worker.caughtUp();
    expect(await states(writer)).toEqual(expected);
    await worker.stop();
    await writer.projection(Orders).rebuild();
    expect(await states(writer)).toEqual(expected);
    const inline = await newStore({ inlineProjections: [Orders] });
    await history(inline);
    expect(await states(inline)).toEqual(expected);
  });

  it("fails a load on an event it cannot lift, naming it, and writes nothing", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [{ type: "OrderCreated", data: { client: "c-1" } }]);
    const error = await store.repository(OrderV3).update("o-1", () => OrderV3.events.OrderShipped({ trackingCode: "T" })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventValidationError);
    expect(error).toMatchObject({ aggregateId: "o-1", version: 1, eventType: "OrderCreated", schemaVersion: 1, step: 1 });
    expect(await store.load("order", "o-1")).toHaveLength(1);
    const newer = await newStore();
    await newer.append("order", "o-9", [{ type: "OrderCreated", data: {}, schemaVersion: 9 }]);
    await expect(newer.repository(OrderV3).load("o-9")).rejects.toThrow(/written by newer code/);
    await expect(newer.append("order", "o-9", [{ type: "X", data: {}, schemaVersion: 0 }])).rejects.toThrow(/schemaVersion must be a whole number/);
  });

  it("checks the whole log against definitions: counts by type and schema version, and the failures with positions", async () => {
    const store = await newStore();
    await history(store);
    await store.append("order", "o-5", [{ type: "OrderCreated", data: { client: "c-1" } }]);
    await store.append("invoice", "i-1", [{ type: "Sent", data: {} }]);
    await readSettled(store);
    const progress: number[] = [];
    const report = await store.checkEvents([OrderV3], { onProgress: (p) => progress.push(p.events) });
    expect(report).toMatchObject({
      checked: 5,
      failed: 1,
      counts: { "order/OrderCreated@1": 2, "order/OrderPlaced@1": 1, "order/OrderCreated@2": 1, "order/OrderCreated@3": 1 },
    });
    expect(report.failures).toMatchObject([{ aggregateId: "o-5", version: 1, eventType: "OrderCreated", schemaVersion: 1 }]);
    expect(report.failures[0]!.position).toBe((await store.load("order", "o-5"))[0]!.position);
    expect(report.failures[0]!.message).toMatch(/upcast step 1/);
    expect(progress.at(-1)).toBe(5);
    // The first release knows neither version 2 nor 3 of OrderCreated, nor the data of o-5.
    expect((await store.checkEvents([OrderV1])).failed).toBe(3);
    const [row] = await query<{ default: string }>(
      `select column_default as default from information_schema.columns where table_schema = $1 and table_name = 'events' and column_name = 'schema_version'`,
      [store.schema],
    );
    expect(row!.default).toBe("1");
  });
});
