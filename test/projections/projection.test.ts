import fc from "fast-check";
import { expect, it } from "vitest";
import { sql } from "kysely";
import { z } from "zod";
import { connect, defineAggregate, defineProjection, type NewEvent, type RecordedEvent, type Store } from "../../src/index.js";
import { CustomerTotals, Order, Refund } from "../support/aggregates.js";
import { describeEachBackend, describePostgres, postgresConnection } from "../support/backends.js";
import { QUIET } from "../support/quiet-logger.js";
import { readSettled } from "../support/eventually.js";

/** A command of the generated histories: one append to one stream. */
type Append = { aggregateType: "order" | "refund"; id: string; events: NewEvent[] };

const customer = fc.constantFrom("c-1", "c-2", "c-3");
const appendArbitrary: fc.Arbitrary<Append> = fc.oneof(
  fc.record({
    aggregateType: fc.constant("order" as const),
    id: fc.constantFrom("o-1", "o-2", "o-3", "o-4"),
    events: fc.array(
      fc.oneof(
        fc.record({ customerId: customer, total: fc.integer({ min: 0, max: 100 }) }).map((data) => Order.events.OrderCreated(data)),
        fc.constant(Order.events.OrderShipped({ trackingCode: "T" })),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  }),
  fc.record({
    aggregateType: fc.constant("refund" as const),
    id: fc.constantFrom("r-1", "r-2"),
    events: fc.array(
      fc.oneof(
        fc.record({ customerId: customer, amount: fc.integer({ min: 0, max: 50 }) }).map((data) => Refund.events.Refunded(data)),
        customer.map((customerId) => Refund.events.RefundCancelled({ customerId })),
      ),
      { minLength: 1, maxLength: 2 },
    ),
  }),
);

async function statesOf(store: Store): Promise<Record<string, unknown>> {
  const runner = store.projection(CustomerTotals);
  const states: Record<string, unknown> = {};
  for (const key of await runner.keys()) states[key] = await runner.get(key);
  return states;
}

/** A projection of orders whose reducer always throws "reducer broke". */
const breaking = (name: string, version: number) =>
  defineProjection({
    name,
    from: [Order],
    initialState: {},
    evolve: {
      order: {
        OrderCreated: () => {
          throw new Error("reducer broke");
        },
      },
    },
    version,
  });

const pureFold = (events: RecordedEvent[]) => Object.fromEntries(CustomerTotals.fold(events));

/** How many rows of rebuilds in progress the store holds. */
async function rebuildRows(store: Store): Promise<{ rebuilds: number; states: number }> {
  const { rows } = await sql<{ rebuilds: number; states: number }>`
    select (select count(*)::int from ${sql.id(store.schema, "projection_rebuilds")}) as rebuilds,
           (select count(*)::int from ${sql.id(store.schema, "projection_rebuild_states")}) as states`.execute(store.db);
  return rows[0]!;
}

describeEachBackend("projections", ({ newStore, newSchema, kind }) => {
  it("run as a subscription, one state per key, readable by key, by list and by query", async () => {
    const store = await newStore();
    const totals = store.projection(CustomerTotals).start();
    await store.repository(Order).create("o-1", () => Order.events.OrderCreated({ customerId: "c-1", total: 10 }));
    await store.repository(Order).create("o-2", () => Order.events.OrderCreated({ customerId: "c-1", total: 5 }));
    await store.repository(Refund).create("r-1", () => Refund.events.Refunded({ customerId: "c-2", amount: 3 }));
    await totals.caughtUp();
    expect(await totals.get("c-1")).toEqual({ orders: 2, total: 15, refunded: 0 });
    expect(await totals.get("c-2")).toEqual({ orders: 0, total: 0, refunded: 3 });
    expect(await totals.get("nobody")).toBeUndefined();
    expect(await totals.keys()).toEqual(["c-1", "c-2"]);
    const big = await totals.query().select(["key"]).where(sql<number>`(state ->> 'total')::int`, ">", 12).execute();
    expect(big).toEqual([{ key: "c-1" }]);
    // A reducer returning null deletes the key's state.
    await store.repository(Refund).update("r-1", () => Refund.events.RefundCancelled({ customerId: "c-2" }));
    await totals.caughtUp();
    expect(await totals.get("c-2")).toBeUndefined();
    expect((await store.subscriptionStatus("projection:customer-totals"))[0]!.lag).toBe(0);
  });

  it("inline: the state is there when the append returns, and a failing reducer rolls the append back", async () => {
    const store = await newStore({ inlineProjections: [CustomerTotals] });
    const totals = store.projection(CustomerTotals);
    await store.repository(Order).create("o-1", () => Order.events.OrderCreated({ customerId: "c-1", total: 10 }));
    expect(await totals.get("c-1")).toEqual({ orders: 1, total: 10, refunded: 0 });
    await store.append("refund", "r-1", [Refund.events.Refunded({ customerId: "c-1", amount: 4 })]);
    expect(await totals.get("c-1")).toEqual({ orders: 1, total: 10, refunded: 4 });
    await store.transaction(async (tx) => {
      await tx.append("order", "o-2", [Order.events.OrderCreated({ customerId: "c-1", total: 1 })]);
      expect(await tx.load("order", "o-2")).toHaveLength(1);
    });
    expect(await totals.get("c-1")).toMatchObject({ orders: 2, total: 11 });
    expect(() => totals.start()).toThrow(/runs inline/);

    const failing = await newStore({
      inlineProjections: [
        breaking("failing", 0),
      ],
    });
    await expect(failing.append("order", "o-1", [Order.events.OrderCreated({ customerId: "c-1", total: 1 })])).rejects.toThrow("reducer broke");
    await expect(failing.repository(Order).create("o-2", () => Order.events.OrderCreated({ customerId: "c-1", total: 1 }))).rejects.toThrow("reducer broke");
    expect(await readSettled(failing)).toEqual([]);
    // Categories the projection does not read append as usual.
    await failing.append("invoice", "i-1", [{ type: "Sent", data: {} }]);
    expect(await readSettled(failing)).toHaveLength(1);
  });

  it("give the same states incrementally in random batches, after a rebuild, and as a pure fold", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(appendArbitrary, { minLength: 1, maxLength: 15 }), fc.integer({ min: 1, max: 7 }), async (appends, batchSize) => {
        const store = await newStore();
        const totals = store.projection(CustomerTotals).start({ batchSize });
        for (const append of appends) await store.append(append.aggregateType, append.id, append.events);
        await totals.caughtUp();
        const incremental = await statesOf(store);
        const expected = pureFold(await readSettled(store, { limit: 10_000 }));
        expect(incremental).toEqual(expected);
        // A batch as small as one event: states carried from batch to batch, deleted and started again.
        const result = await totals.rebuild({ batchSize });
        expect(await statesOf(store)).toEqual(expected);
        expect(result.keys).toBe(Object.keys(expected).length);
        expect(await rebuildRows(store)).toEqual({ rebuilds: 0, states: 0 });
        await store.close();
      }),
      { numRuns: kind === "pglite" ? 8 : 15 },
    );
  });

  it("inline: a failing reducer undoes its append inside a transaction that catches the error and commits", async () => {
    const Account = defineAggregate({
      type: "account",
      events: { Moved: z.object({ amount: z.number() }) },
      initialState: { balance: 0 },
      evolve: { Moved: (draft, data) => void (draft.balance += data.amount) },
    });
    const Balances = defineProjection({
      name: "balances",
      from: [Account],
      key: (e) => e.aggregateId,
      initialState: { balance: 0 },
      evolve: {
        account: {
          Moved: (draft, data) => {
            if (draft.balance + data.amount < 0) throw new Error("overdrawn");
            draft.balance += data.amount;
          },
        },
      },
    });
    const store = await newStore({ inlineProjections: [Balances] });
    await store.transaction(async (tx) => {
      await tx.append("account", "a-1", [Account.events.Moved({ amount: 10 })]);
      await expect(tx.append("account", "a-1", [Account.events.Moved({ amount: -50 })])).rejects.toThrow("overdrawn");
    });
    expect((await store.load("account", "a-1")).map((e) => (e.data as { amount: number }).amount)).toEqual([10]);
    expect(await store.projection(Balances).get("a-1")).toEqual({ balance: 10 });
    expect((await store.repository(Account).load("a-1")).state).toEqual({ balance: 10 });
  });

  it("starts again after stop, and reports a failed start through caughtUp and the logger, never as an unhandled rejection", async () => {
    const schema = newSchema();
    const errors: string[] = [];
    const store = await newStore({ schema, logger: { ...QUIET, error: (message) => void errors.push(message) } });
    const totals = store.projection(CustomerTotals).start();
    await store.append("order", "o-1", [Order.events.OrderCreated({ customerId: "c-1", total: 10 })]);
    await totals.caughtUp();
    await totals.stop();
    await store.append("order", "o-2", [Order.events.OrderCreated({ customerId: "c-1", total: 5 })]);
    totals.start();
    await totals.caughtUp();
    expect(await totals.get("c-1")).toMatchObject({ orders: 2, total: 15 });
    await totals.stop();

    const broken = breaking("customer-totals", 1);
    const other = await newStore({ schema, logger: { ...QUIET, error: (message) => void errors.push(message) } });
    const failing = other.projection(broken).start();
    await expect(failing.caughtUp()).rejects.toThrow("reducer broke");
    expect(errors.some((message) => message.includes("could not start") && message.includes("reducer broke"))).toBe(true);
  });

  it("refuses to run an older definition over states a newer one built", async () => {
    const schema = newSchema();
    const store = await newStore({ schema });
    const newer = defineProjection({ name: "customer-totals", from: [Order], initialState: {}, evolve: { order: { OrderCreated: () => undefined } }, version: 2 });
    await store.projection(newer).rebuild();
    const older = (await newStore({ schema })).projection(CustomerTotals).start();
    await expect(older.caughtUp()).rejects.toThrow(/built by version 2 .* this is version 0/);
  });

  it("rebuild: removes what a crashed rebuild left, and a rebuild removed as abandoned fails and changes nothing", async () => {
    const store = await newStore();
    const totals = store.projection(CustomerTotals);
    for (let n = 0; n < 40; n++) await store.append("order", `o-${n}`, [Order.events.OrderCreated({ customerId: `c-${n % 4}`, total: 1 })]);
    await totals.rebuild();
    const before = await statesOf(store);
    // What a process that died mid-rebuild leaves: its registration, silent for ten minutes, and its rows.
    await sql`insert into ${sql.id(store.schema, "projection_rebuilds")} (id, name, heartbeat_at) values ('crashed', 'customer-totals', now() - interval '10 minutes')`.execute(store.db);
    await sql`insert into ${sql.id(store.schema, "projection_rebuild_states")} (name, key, state, position) values ('crashed', 'c-9', '{}', '')`.execute(store.db);
    await totals.rebuild({ batchSize: 5 });
    expect(await rebuildRows(store)).toEqual({ rebuilds: 0, states: 0 });
    expect(await statesOf(store)).toEqual(before);

    // Another rebuild takes this one for abandoned and removes it while it runs (progress comes every 1,000 events).
    await store.append("order", "bulk", Array.from({ length: 1200 }, (_, n) => Order.events.OrderCreated({ customerId: `c-${n % 4}`, total: 1 })));
    await totals.rebuild();
    const withBulk = await statesOf(store);
    let removed: Promise<unknown> | undefined;
    const abandoned = totals.rebuild({
      batchSize: 50,
      onProgress: () => {
        removed ??= sql`delete from ${sql.id(store.schema, "projection_rebuilds")}`.execute(store.db);
      },
    });
    await expect(abandoned).rejects.toMatchObject({ code: "REBUILD_ABANDONED" });
    await removed;
    expect(await rebuildRows(store)).toEqual({ rebuilds: 0, states: 0 });
    expect(await statesOf(store)).toEqual(withBulk);
    await expect(totals.rebuild({ batchSize: 0 })).rejects.toThrow(/batchSize must be a whole number >= 1/);
    await store.close();
  });

  it("rebuild on start when the definition's version changes", async () => {
    const schema = newSchema();
    const store = await newStore({ schema });
    const v0 = store.projection(CustomerTotals).start();
    await store.append("order", "o-1", [Order.events.OrderCreated({ customerId: "c-1", total: 10 })]);
    await v0.caughtUp();
    await v0.stop();
    // The same name, a new meaning: totals now count double.
    const doubled = defineProjection({
      name: "customer-totals",
      from: [Order],
      key: (event) => (event.type === "OrderCreated" ? event.data.customerId : event.aggregateId),
      initialState: { orders: 0, total: 0, refunded: 0 },
      evolve: {
        order: {
          OrderCreated: (draft, data) => {
            draft.orders += 1;
            draft.total += 2 * data.total;
          },
        },
      },
      version: 1,
    });
    const other = await newStore({ schema });
    const v1 = other.projection(doubled).start();
    await v1.caughtUp();
    expect(await v1.get("c-1")).toEqual({ orders: 1, total: 20, refunded: 0 });
  });
});

describePostgres("projection rebuild under load", ({ newSchema }) => {
  it("converges to a pure fold of everything while writers keep appending, async and inline", async () => {
    for (const inline of [false, true]) {
      const schema = newSchema();
      const config = { ...postgresConnection(), schema, logger: QUIET, ...(inline ? { inlineProjections: [CustomerTotals] } : {}) };
      const store = await connect(config);
      const other = await connect(config);
      try {
        const totals = store.projection(CustomerTotals);
        if (!inline) totals.start({ batchSize: 50 });
        let writing = true;
        const writers = Array.from({ length: 4 }, async (_, w) => {
          for (let n = 0; writing; n++) {
            await store.append("order", `o-${w}-${n % 10}`, [Order.events.OrderCreated({ customerId: `c-${n % 7}`, total: n % 13 })]);
          }
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        const progress: number[] = [];
        await totals.rebuild({ onProgress: (p) => progress.push(p.events) });
        await new Promise((resolve) => setTimeout(resolve, 200));
        // Two rebuilds at once, from two stores, in batches of different sizes: their swaps take turns.
        await Promise.all([totals.rebuild(), other.projection(CustomerTotals).rebuild({ batchSize: 37 })]);
        writing = false;
        await Promise.all(writers);
        if (!inline) await totals.caughtUp();
        expect(await statesOf(store)).toEqual(pureFold(await readSettled(store, { limit: 1_000_000 })));
        expect(progress.length).toBeGreaterThan(0);
        expect(await rebuildRows(store)).toEqual({ rebuilds: 0, states: 0 });
      } finally {
        await other.close();
        await store.close();
      }
    }
  });
});
