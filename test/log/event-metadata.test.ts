import { sql } from "kysely";
import { expect, it } from "vitest";
import { causationMetadata, InvalidArgumentError, type NewEvent, type RecordedEvent, withEventMetadata } from "../../src/index.js";
import { causationTree } from "../../src/log/causation-tree.js";
import { Counter, Order } from "../support/aggregates.js";
import { describeEachBackend } from "../support/backends.js";
import { sleep } from "../support/eventually.js";

const event = (type: string, metadata?: Record<string, string>): NewEvent => ({ type, data: {}, ...(metadata === undefined ? {} : { metadata }) });

describeEachBackend("event metadata, causation and correlation", ({ newStore }) => {
  it("gives every event appended inside withEventMetadata its fields, nested calls merged and the event's own winning", async () => {
    const store = await newStore();
    const other = await newStore();
    await withEventMetadata({ correlationId: "req-1", userId: "u-1" }, async () => {
      await store.append("order", "o-1", [event("A")]);
      await withEventMetadata({ userId: "u-2", tenant: "t" }, async () => {
        await other.append("order", "o-2", [event("B"), event("C", { userId: "own" })]);
        await store.repository(Order).create("o-3", () => Order.events.OrderCreated({ customerId: "c", total: 1 }));
      });
    });
    await store.append("order", "o-4", [event("Outside")]);
    const metadata = async (s: typeof store, id: string) => (await s.load("order", id)).map((e) => e.metadata);
    expect(await metadata(store, "o-1")).toEqual([{ correlationId: "req-1", userId: "u-1" }]);
    expect(await metadata(other, "o-2")).toEqual([
      { correlationId: "req-1", userId: "u-2", tenant: "t" },
      { correlationId: "req-1", userId: "own", tenant: "t" },
    ]);
    expect(await metadata(store, "o-3")).toEqual([{ correlationId: "req-1", userId: "u-2", tenant: "t" }]);
    expect(await metadata(store, "o-4")).toEqual([{}]);
    expect(() => withEventMetadata({ bad: Number.NaN }, () => undefined)).toThrow(InvalidArgumentError);
  });

  it("keeps calls running at the same time apart", async () => {
    const store = await newStore();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        withEventMetadata({ correlationId: `req-${i}` }, async () => {
          await sleep(10 - i);
          await store.append("order", `o-${i}`, [event("A")]);
        }),
      ),
    );
    for (let i = 0; i < 10; i++) expect((await store.load("order", `o-${i}`))[0]!.metadata).toEqual({ correlationId: `req-${i}` });
  });

  it("marks what a handler appends as caused by the handled event, in its correlation, and finds a correlation's events in commit order", async () => {
    const store = await newStore();
    const sub = store.subscribe({
      name: "reactor",
      aggregateTypes: ["order"],
      handler: async (e, tx) => {
        await tx.append("invoice", e.aggregateId, [event("Invoiced")]);
        await tx.repository(Counter).update(e.aggregateId, () => Counter.events.Added({ amount: 1 }));
      },
    });
    const [placed] = (await withEventMetadata({ correlationId: "req-7" }, () => store.append("order", "o-1", [event("Placed")]))).events;
    const [loose] = (await store.append("order", "o-2", [event("Placed")])).events;
    await sub.caughtUp();
    await sub.stop();
    const caused = [...(await store.load("invoice", "o-1")), ...(await store.load("counter", "o-1"))];
    for (const e of caused) expect(e.metadata).toEqual({ causationId: placed!.id, correlationId: "req-7" });
    expect((await store.load("invoice", "o-2"))[0]!.metadata).toEqual({ causationId: loose!.id, correlationId: loose!.id });

    const correlated = await store.correlated("req-7");
    expect(correlated.map((e) => `${e.aggregateType}/${e.aggregateId}`).sort()).toEqual(["counter/o-1", "invoice/o-1", "order/o-1"]);
    expect(correlated[0]!.id).toBe(placed!.id);
    expect(correlated.map((e) => e.position)).toEqual(correlated.map((e) => e.position).sort());
    expect(causationTree(correlated).map(({ event: e, depth }) => [e.aggregateType, depth])).toEqual([
      ["order", 0],
      ["invoice", 1],
      ["counter", 1],
    ]);
    expect(await store.correlated("nobody")).toEqual([]);
    await expect(store.correlated("")).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("marks a batch handler's appends: by itself for a batch of one, through causationMetadata in a larger one", async () => {
    const store = await newStore();
    const placed = (await withEventMetadata({ correlationId: "req-9" }, () => store.append("order", "o-1", [event("A"), event("B")]))).events;
    const single = store.subscribe({
      name: "one-by-one",
      aggregateTypes: ["order"],
      batchSize: 1,
      handleBatch: async ([handled], tx) => void (await tx.append("single", handled!.id, [event("Caused")])),
    });
    const many = store.subscribe({
      name: "all-at-once",
      aggregateTypes: ["order"],
      handleBatch: async (events, tx) => {
        for (const handled of events) await withEventMetadata(causationMetadata(handled), () => tx.append("many", handled.id, [event("Caused")]));
      },
    });
    await Promise.all([single.caughtUp(), many.caughtUp()]);
    await Promise.all([single.stop(), many.stop()]);
    for (const cause of placed) {
      for (const category of ["single", "many"]) {
        expect((await store.load(category, cause.id))[0]!.metadata, category).toEqual({ causationId: cause.id, correlationId: "req-9" });
      }
    }
  });

  it("finds a correlation through its index", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [event("A", { correlationId: "req-1" })]);
    const plan = await store.db.transaction().execute(async (trx) => {
      await sql`set local enable_seqscan = off`.execute(trx);
      const { rows } = await sql<{ "QUERY PLAN": string }>`
        explain select * from ${sql.id(store.schema, "events")} where metadata ? 'correlationId' and metadata ->> 'correlationId' = 'req-1'`.execute(trx);
      return rows.map((row) => row["QUERY PLAN"]).join("\n");
    });
    expect(plan).toMatch(/events_correlation_idx/);
  });
});

it("places every event of a causation cycle in the tree, once", () => {
  const at = (id: string, causationId?: string) => ({ id, metadata: causationId === undefined ? {} : { causationId } }) as unknown as RecordedEvent;
  const tree = causationTree([at("a", "b"), at("b", "a"), at("c"), at("d", "c")]);
  expect(tree.map(({ event: e, depth }) => `${e.id}${depth}`)).toEqual(["c0", "d1", "a0", "b1"]);
});
