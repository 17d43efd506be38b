import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { expect, it } from "vitest";
import { ConcurrencyError, defineAggregate, EventValidationError, InvalidArgumentError, InvalidEventError, StreamNotFoundError } from "../../src/index.js";
import { Counter, Order, peekingLines, snapshottingCounter } from "../support/aggregates.js";
import { describeEachBackend } from "../support/backends.js";
import { readSettled } from "../support/eventually.js";

const add = (amount: number) => Counter.events.Added({ amount });

describeEachBackend("repository", ({ newStore, query, kind }) => {
  it("loads an empty stream as the initial state at version 0", async () => {
    const store = await newStore();
    expect(await store.repository(Order).load("o-1")).toEqual({ state: Order.initialState, version: 0 });
    const error = await store.repository(Order).get("o-1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamNotFoundError);
    expect(error).toMatchObject({ aggregateType: "order", aggregateId: "o-1", code: "STREAM_NOT_FOUND" });
  });

  it("creates a stream once, then updates it", async () => {
    const store = await newStore();
    const orders = store.repository(Order);
    const created = await orders.create("o-1", () => Order.events.OrderCreated({ customerId: "c-1", total: 10 }));
    expect(created).toMatchObject({ version: 1, attempts: 1, state: { status: "created", customerId: "c-1", total: 10 } });
    expect(created.events[0]).toMatchObject({ type: "OrderCreated", version: 1, aggregateType: "order" });
    await expect(orders.create("o-1", () => Order.events.OrderCreated({ customerId: "c-2", total: 1 }))).rejects.toBeInstanceOf(ConcurrencyError);
    const shipped = await orders.update("o-1", (order) => {
      if (order.status !== "created") throw new Error("cannot ship");
      return Order.events.OrderShipped({ trackingCode: "X1" });
    });
    expect(shipped).toMatchObject({ version: 2, attempts: 1, state: { status: "shipped", total: 10 } });
    expect(await orders.load("o-1")).toEqual({ state: shipped.state, version: 2 });
    expect(await orders.get("o-1")).toEqual({ state: shipped.state, version: 2 });
  });

  it("passes domain errors through on the first attempt, and writes nothing for nothing", async () => {
    const store = await newStore();
    const orders = store.repository(Order);
    let runs = 0;
    const domainError = new Error("cannot ship");
    const error = await orders
      .update("o-1", () => {
        runs++;
        throw domainError;
      })
      .catch((e: unknown) => e);
    expect(error).toBe(domainError);
    expect(runs).toBe(1);
    expect(await orders.update("o-1", () => undefined)).toEqual({ state: Order.initialState, version: 0, events: [], attempts: 1 });
    expect(await orders.update("o-1", () => [])).toMatchObject({ version: 0, events: [] });
    expect(await readSettled(store)).toEqual([]);
    await expect(orders.update("o-1", () => undefined, { maxAttempts: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("appends several events, stores the given metadata on each, and takes async commands", async () => {
    const store = await newStore();
    const counters = store.repository(Counter);
    const result = await counters.update("c-1", async () => [add(1), Counter.events.Tagged({ tag: "t" }, { source: "test" })], {
      metadata: { correlationId: "corr-1", source: "default" },
    });
    expect(result.state).toEqual({ total: 1, count: 2, tags: ["t"] });
    const stored = await store.load("counter", "c-1");
    expect(stored.map((e) => e.metadata)).toEqual([
      { correlationId: "corr-1", source: "default" },
      { correlationId: "corr-1", source: "test" },
    ]);
  });

  it("loads only version, type and data unless a reducer takes the recorded event, with the same state", async () => {
    const store = await newStore();
    // The same counter, but its Added reducer keeps what the recorded event says of itself.
    const Audited = defineAggregate({
      type: "counter",
      events: Counter.schemas,
      initialState: { ...Counter.initialState, seen: [] as string[] },
      evolve: {
        Reset: (draft) => {
          draft.total = 0;
        },
        Tagged: (draft, data) => {
          draft.tags.push(data.tag);
          draft.count += 1;
        },
        Added: (draft, data, event) => {
          draft.total += data.amount;
          draft.count += 1;
          draft.seen.push(`${event.aggregateType}/${event.aggregateId}@${event.version} ${event.id} ${event.position} ${event.createdAt.toISOString()} ${JSON.stringify(event.metadata)}`);
        },
      },
    });
    expect(Counter.readsRecordedEvents).toBe(false);
    expect(Audited.readsRecordedEvents).toBe(true);
    const appended = await store.append("counter", "c-1", [add(2), Counter.events.Tagged({ tag: "x" }), Counter.events.Added({ amount: 3 }, { by: "me" })]);
    const lean = await store.repository(Counter).load("c-1");
    const full = await store.repository(Audited).load("c-1");
    expect(lean).toEqual({ state: { total: 5, count: 3, tags: ["x"] }, version: 3 });
    expect(full.state).toMatchObject(lean.state);
    const [first, , third] = appended.events;
    expect(full.state.seen).toEqual(
      [first!, third!].map((e) => `counter/c-1@${e.version} ${e.id} ${e.position} ${e.createdAt.toISOString()} ${JSON.stringify(e.metadata)}`),
    );
    // A reducer that does not declare the event gets one without what was not read.
    const passed: unknown[] = [];
    const Undeclared = defineAggregate({
      type: "counter",
      events: Counter.schemas,
      initialState: Counter.initialState,
      evolve: {
        ...Counter.reducers,
        Added: function (draft, data) {
          passed.push(arguments[2]);
          draft.total += data.amount;
        },
      },
    });
    expect(Undeclared.readsRecordedEvents).toBe(false);
    await store.repository(Undeclared).load("c-1");
    expect(passed).toEqual([2, 3].map(() => expect.not.objectContaining({ id: expect.anything() })));
    expect(passed).toMatchObject([{ version: 1, type: "Added" }, { version: 3, type: "Added" }]);
    await expect(store.repository(Counter).load("")).rejects.toBeInstanceOf(InvalidEventError);
  });

  it("loads a reducer that calls immer's functions on its draft by reading the events again, with the state folding gives", async () => {
    const store = await newStore();
    const Lines = peekingLines();
    const events = [Lines.events.Added({ line: { n: 1 } }), Lines.events.Added({ line: { n: 5 } }), Lines.events.Doubled({})];
    await store.append("lines", "l-1", events);
    const expected = { state: { lines: [{ n: 2 }, { n: 10 }], seen: 2 }, version: 3 };
    expect(await store.repository(Lines).load("l-1")).toEqual(expected);
    expect(await store.repository(Lines).load("l-1")).toEqual(expected);
  });

  it("validates events on append and on load", async () => {
    const store = await newStore();
    const orders = store.repository(Order);
    const raw = { type: "OrderCreated" as const, data: { customerId: "c", total: -5 } };
    await expect(orders.update("o-1", () => raw)).rejects.toBeInstanceOf(EventValidationError);
    await expect(orders.update("o-1", () => ({ type: "OrderLost", data: {} }) as never)).rejects.toThrow(/no event type "OrderLost"/);
    expect(await readSettled(store)).toEqual([]);
    await store.append("order", "o-2", [{ type: "OrderCreated", data: { customerId: "c", total: 1 } }]);
    await store.append("order", "o-2", [{ type: "OrderShipped", data: { trackingCode: 42 } }]);
    const error = await orders.load("o-2").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventValidationError);
    expect(error).toMatchObject({ aggregateType: "order", aggregateId: "o-2", eventType: "OrderShipped", version: 2 });
    expect((error as EventValidationError).issues[0]!.path).toEqual(["trackingCode"]);
  });

  it("queues concurrent updates of one stream in a store: each lands at the first attempt", async () => {
    const store = await newStore();
    const counters = store.repository(Counter);
    const results = await Promise.all(Array.from({ length: 8 }, () => counters.update("queued", (state) => add(state.count + 1))));
    expect(results.map((r) => r.attempts)).toEqual(Array(8).fill(1));
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // A failing command does not block the ones queued after it.
    const outcomes = await Promise.allSettled([
      counters.update("queued", () => {
        throw new Error("no");
      }),
      counters.update("queued", () => add(1)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "fulfilled"]);
  });

  it("starts a queued update from the state the previous one left, and catches up when another writer came between", async () => {
    const store = await newStore();
    const other = await newStore({ schema: store.schema });
    const counters = store.repository(Counter);
    await counters.create("c", () => add(1));
    let sneaked = 0;
    const sneak = () => other.append("counter", "c", [add(100)]).then(() => sneaked++);
    const [first, nothing, conflicted] = await Promise.all([
      counters.update("c", () => add(1)),
      // Another writer appends while this command runs; it writes nothing, yet must see that write.
      counters.update("c", async () => {
        if (sneaked === 0) await sneak();
        return undefined;
      }),
      // Another writer appends again; the command's event must land after it, at the second attempt.
      counters.update("c", async () => {
        if (sneaked === 1) await sneak();
        return add(5);
      }),
    ]);
    expect(first).toMatchObject({ version: 2, attempts: 1 });
    expect(nothing).toMatchObject({ version: 3, events: [], state: { total: 102 } });
    expect(conflicted).toMatchObject({ version: 5, attempts: 2, state: { total: 207 } });
    expect(await counters.load("c")).toMatchObject({ version: 5, state: { total: 207 } });
  });

  it("retries 16 concurrent updates of one stream from 4 stores until every one lands, without a lost update", async () => {
    const store = await newStore();
    const others = await Promise.all([0, 1, 2].map(() => newStore({ schema: store.schema })));
    const counters = store.repository(Counter);
    await counters.create("hot", () => add(0));
    const repositories = [store, ...others].map((s) => s.repository(Counter));
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) => repositories[i % 4]!.update("hot", (state) => add(state.count + 1))),
    );
    const { state, version } = await counters.load("hot");
    expect(version).toBe(17);
    expect(state.count).toBe(17);
    // Each command saw the state its append landed on: amounts are 2..17, each once.
    const amounts = (await store.load("counter", "hot")).map((e) => (e.data as { amount: number }).amount);
    expect(amounts).toEqual(Array.from({ length: 17 }, (_, i) => (i === 0 ? 0 : i + 1)));
    const attempts = results.map((r) => r.attempts).sort((a, b) => a - b);
    expect(attempts.reduce((sum, n) => sum + n, 0)).toBeGreaterThan(16);
    console.info(`[${kind}] attempts per update, 16 concurrent on one stream: ${attempts.join(",")}`);
  });

  it("gives up after maxAttempts with the last ConcurrencyError", async () => {
    const store = await newStore();
    const counters = store.repository(Counter);
    let runs = 0;
    const error = await counters
      .update(
        "c-1",
        async () => {
          runs++;
          await store.append("counter", "c-1", [add(100)]); // another writer wins every time
          return add(1);
        },
        { maxAttempts: 3 },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect(runs).toBe(3);
    expect(error).toMatchObject({ expectedVersion: 2, actualVersion: 3 });
  });

  it("snapshots give the same state as a full fold, for random histories", async () => {
    const store = await newStore();
    const every = 3;
    const snapshotting = store.repository(snapshottingCounter(every));
    const command = fc.oneof(
      fc.integer({ min: -50, max: 50 }).map((amount) => [add(amount)]),
      fc.constant([Counter.events.Reset({})]),
      fc.array(fc.string({ maxLength: 3 }).map((tag) => Counter.events.Tagged({ tag })), { minLength: 1, maxLength: 5 }),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 12 }), async (commands) => {
        const id = `s-${n++}`;
        for (const events of commands) await snapshotting.update(id, () => events);
        const full = Counter.fold(await store.load("counter", id).then((events) => events.map((e) => Counter.parseEvent(e)!)));
        const loaded = await snapshotting.load(id);
        expect(loaded.state).toEqual(full);
        expect(loaded.version).toBe(commands.flat().length);
      }),
      { numRuns: 25 },
    );
    const [row] = await query<{ count: number }>(`select count(*)::int as count from "${store.schema}".snapshots`);
    expect(row!.count).toBeGreaterThan(0);
  });

  it("loads from the latest snapshot and reads only the events after it", async () => {
    const store = await newStore();
    const counters = store.repository(snapshottingCounter(5));
    for (let i = 1; i <= 12; i++) await counters.update("c-1", () => add(i));
    const [snapshot] = await query<{ version: number }>(`select version from "${store.schema}".snapshots`);
    expect(snapshot!.version).toBe(10);
    // With the events the snapshot covers gone, a load that read them would go wrong.
    await query(`delete from "${store.schema}".events where version <= 10`);
    expect(await counters.load("c-1")).toEqual({ state: { total: 78, count: 12, tags: [] }, version: 12 });
  });

  it("never trusts a snapshot made under another definition, and replaces it", async () => {
    const store = await newStore();
    const v0 = store.repository(snapshottingCounter(2, 0));
    for (let i = 1; i <= 4; i++) await v0.update("c-1", () => add(i));
    await query(`update "${store.schema}".snapshots set state = '{"total": -1, "count": -1, "tags": []}'`);
    // The same definition trusts its own snapshot (so the corruption shows) ...
    expect((await v0.load("c-1")).state.total).toBe(-1);
    // ... another snapshotVersion ignores it and folds every event.
    const v1 = store.repository(snapshottingCounter(2, 1));
    expect(await v1.load("c-1")).toEqual({ state: { total: 10, count: 4, tags: [] }, version: 4 });
    await v1.update("c-1", () => add(5));
    const [row] = await query<{ version: number; total: number }>(
      `select version, (state->>'total')::int as total from "${store.schema}".snapshots`,
    );
    expect(row).toEqual({ version: 5, total: 15 });
  });

  it("works inside a transaction with other writes", async () => {
    const store = await newStore();
    await store.transaction(async (tx) => {
      await tx.repository(Order).create("o-1", () => Order.events.OrderCreated({ customerId: "c", total: 3 }));
      await tx.repository(snapshottingCounter(1)).update("c-1", () => add(2));
    });
    expect(await store.repository(Order).load("o-1")).toMatchObject({ version: 1 });
    await expect(
      store.transaction(async (tx) => {
        await tx.repository(Order).update("o-1", () => Order.events.OrderShipped({ trackingCode: "T" }));
        throw new Error("undo");
      }),
    ).rejects.toThrow("undo");
    expect(await store.repository(Order).load("o-1")).toMatchObject({ version: 1, state: { status: "created" } });
  });

  it("does not fold a retried command's events twice when they are stored already", async () => {
    const store = await newStore();
    const counters = store.repository(snapshottingCounter(1));
    const deposit = { ...add(10), id: randomUUID() };
    await counters.update("c-1", () => deposit);
    await store.append("counter", "c-1", [add(5)]);
    // The client retries its command: the event with that id is stored at version 1, not again.
    const retry = await counters.update("c-1", () => deposit);
    expect(retry).toMatchObject({ state: { total: 15 }, version: 2 });
    expect(retry.events.map((event) => event.version)).toEqual([1]);
    const [snapshot] = await query<{ version: number; total: number }>(
      `select version, (state->>'total')::int as total from "${store.schema}".snapshots`,
    );
    expect(snapshot).toEqual({ version: 2, total: 15 });
    expect(await counters.load("c-1")).toMatchObject({ state: { total: 15 }, version: 2 });
    expect(await store.repository(Counter).load("c-1")).toMatchObject({ state: { total: 15 }, version: 2 });
  });
});
