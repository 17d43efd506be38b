import { sql } from "kysely";
import { expect, it } from "vitest";
import { InvalidArgumentError, type NewEvent, type RecordedEvent, type Store, SubscriptionError } from "../../src/index.js";
import { describeEachBackend } from "../support/backends.js";
import { readSettled } from "../support/eventually.js";

const event = (type: string, data: Record<string, unknown> = {}): NewEvent => ({ type, data: data as never });

/** A read model table in the store's schema: one row per handled event, in the order handled. */
async function readModel(store: Store) {
  const table = `${store.schema}.handled`;
  await store.db.schema
    .createTable(table)
    .addColumn("seq", "bigserial", (c) => c.primaryKey())
    .addColumn("stream", "text", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addUniqueConstraint("handled_once", ["stream", "version"])
    .execute();
  return {
    table,
    rows: async () =>
      (await store.db.selectFrom(table).select(["stream", "version", "type"]).orderBy("seq").execute()) as Array<{
        stream: string;
        version: number;
        type: string;
      }>,
    insert: (db: Store["db"], e: RecordedEvent) =>
      db.insertInto(table).values({ stream: `${e.aggregateType}/${e.aggregateId}`, version: e.version, type: e.type }).execute(),
  };
}

describeEachBackend("subscriptions", ({ newStore }) => {
  it("hands every event of its categories to the handler, in commit order, through tx, once", async () => {
    const store = await newStore();
    const model = await readModel(store);
    await store.append("order", "o-1", [event("O1"), event("O2")]);
    await store.append("invoice", "i-1", [event("I1")]);
    const sub = store.subscribe({ name: "orders", aggregateTypes: ["order"], batchSize: 2, handler: (e, tx) => model.insert(tx.db, e).then(() => undefined) });
    await store.append("order", "o-2", [event("O3")]);
    await sub.caughtUp();
    expect((await model.rows()).map((r) => r.type)).toEqual(["O1", "O2", "O3"]);
    await sub.stop();
    // The checkpoint is durable: a new worker of the same name starts where the last one stopped.
    await store.append("order", "o-1", [event("O4")]);
    const again = store.subscribe({ name: "orders", aggregateTypes: ["order"], handler: (e, tx) => model.insert(tx.db, e).then(() => undefined) });
    await again.caughtUp();
    expect((await model.rows()).map((r) => r.type)).toEqual(["O1", "O2", "O3", "O4"]);
    const [status] = await again.status();
    expect(status).toMatchObject({ name: "orders", partition: 0, partitions: 1, lag: 0, parked: 0, lastError: null });
    expect(status!.owner).toBe(again.owner);
    expect(status!.position).toBe((await readSettled(store, { aggregateTypes: ["order"] })).at(-1)!.position);
  });

  it("rolls back a failing batch, so what the handler wrote is not written twice, and retries it", async () => {
    const store = await newStore();
    const model = await readModel(store);
    await store.append("order", "o-1", [event("A"), event("B"), event("C")]);
    let failures = 0;
    const sub = store.subscribe({
      name: "flaky",
      retryDelayMs: 1,
      handler: async (e, tx) => {
        await model.insert(tx.db, e);
        if (e.type === "B" && failures++ < 2) throw new Error("flaky");
      },
    });
    await sub.caughtUp();
    expect((await model.rows()).map((r) => r.type)).toEqual(["A", "B", "C"]);
    expect(failures).toBe(3);
    expect((await sub.status())[0]!.lastError).toBeNull();
    await sub.stop();
  });

  it("parks a poison event after maxAttempts and moves on; replays it once fixed", async () => {
    const store = await newStore();
    const model = await readModel(store);
    await store.append("order", "o-1", [event("A"), event("Poison"), event("C")]);
    let fixed = false;
    const sub = store.subscribe({
      name: "parking",
      onError: "park",
      maxAttempts: 3,
      retryDelayMs: 1,
      handler: async (e, tx) => {
        if (e.type === "Poison" && !fixed) throw new Error("cannot digest");
        await model.insert(tx.db, e);
      },
    });
    await sub.caughtUp();
    expect((await model.rows()).map((r) => r.type)).toEqual(["A", "C"]);
    const parked = await sub.parked();
    const poison = (await store.load("order", "o-1"))[1]!;
    expect(parked).toMatchObject([{ subscription: "parking", position: poison.position, attempts: 3 }]);
    expect(parked[0]!.error).toMatch(/cannot digest/);
    expect((await store.subscriptionStatus("parking"))[0]).toMatchObject({ parked: 1, lag: 0 });
    fixed = true;
    expect(await sub.replayParked()).toBe(1);
    expect((await model.rows()).map((r) => r.type)).toEqual(["A", "C", "Poison"]);
    expect(await store.parkedEvents("parking")).toEqual([]);
    await sub.stop();
  });

  it('with parkScope "stream", parks the later events of a stream behind its parked event and replays them in order', async () => {
    const store = await newStore();
    await store.append("order", "s", [event("A")]);
    await store.append("order", "t", [event("A")]);
    await store.append("order", "s", [event("Poison"), event("B")]);
    await store.append("order", "t", [event("B")]);
    await store.append("order", "s", [event("C")]);
    let fixed = false;
    const handled: string[] = [];
    const subscribe = (name: string, parkScope: "event" | "stream") =>
      store.subscribe({
        name,
        parkScope,
        onError: "park",
        maxAttempts: 1,
        // One event per batch: a failing batch reruns no other event, so the list below is exact.
        batchSize: 1,
        handler: (e) => {
          if (e.type === "Poison" && !fixed) throw new Error("cannot digest");
          if (name === "by-stream") handled.push(`${e.aggregateId}:${e.type}`);
        },
      });
    const byStream = subscribe("by-stream", "stream");
    const byEvent = subscribe("by-event", "event");
    await Promise.all([byStream.caughtUp(), byEvent.caughtUp()]);
    expect(handled).toEqual(["s:A", "t:A", "t:B"]);
    const types = async (name: string) => {
      const events = new Map((await readSettled(store)).map((e) => [e.position, `${e.aggregateId}:${e.type}`]));
      return (await store.parkedEvents(name)).map((parked) => `${events.get(parked.position)} ${parked.attempts}`);
    };
    expect(await types("by-stream")).toEqual(["s:Poison 1", "s:B 0", "s:C 0"]);
    expect((await store.parkedEvents("by-stream"))[1]!.error).toMatch(/parked behind .*, a parked event of its stream/);
    // By default only the failing event is put aside.
    expect(await types("by-event")).toEqual(["s:Poison 1"]);

    // What comes while the stream has a parked event is parked too; a replay handles all, in order.
    await store.append("order", "s", [event("D")]);
    await byStream.caughtUp();
    expect(await types("by-stream")).toEqual(["s:Poison 1", "s:B 0", "s:C 0", "s:D 0"]);
    fixed = true;
    expect(await byStream.replayParked()).toBe(4);
    expect(await store.parkedEvents("by-stream")).toEqual([]);
    await store.append("order", "s", [event("E")]);
    await byStream.caughtUp();
    expect(handled).toEqual(["s:A", "t:A", "t:B", "s:Poison", "s:B", "s:C", "s:D", "s:E"]);
    await Promise.all([byStream.stop(), byEvent.stop()]);
    expect(() => store.subscribe({ name: "bad", parkScope: "all" as never, handler: () => undefined })).toThrow(/parkScope must be "event" or "stream"/);
  });

  it('stops with a SubscriptionError naming the event when onError is "stop"', async () => {
    const store = await newStore();
    await store.append("order", "o-1", [event("A"), event("Poison")]);
    const handled: string[] = [];
    const sub = store.subscribe({
      name: "stopping",
      maxAttempts: 2,
      retryDelayMs: 1,
      handler: (e) => {
        if (e.type === "Poison") throw new Error("cannot digest");
        handled.push(e.type);
      },
    });
    const error = await sub.caughtUp().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SubscriptionError);
    const poison = (await store.load("order", "o-1"))[1]!;
    expect(error).toMatchObject({ subscription: "stopping", position: poison.position, code: "SUBSCRIPTION" });
    expect((error as Error).message).toMatch(/order\/o-1@2 \(attempt 2 of 2\): Error: cannot digest/);
    // Delivery is at least once: A ran in the batch that failed (rolled back), then alone (committed).
    expect(handled).toEqual(["A", "A"]);
    const [status] = await store.subscriptionStatus("stopping");
    expect(status!.lastError).toMatch(/cannot digest/);
    expect(status!.lag).toBe(1);
    await sub.stop();
  });

  it("finds the event whose handler swallowed a database error, parks it, and handles every other event once", async () => {
    const store = await newStore();
    const model = await readModel(store);
    await store.append("order", "o-1", ["A", "B", "Swallower", "D", "E"].map((type) => event(type)));
    const sub = store.subscribe({
      name: "swallowing",
      onError: "park",
      maxAttempts: 2,
      retryDelayMs: 1,
      handler: async (e, tx) => {
        if (e.type === "Swallower") await sql`select 1 / 0`.execute(tx.db).catch(() => undefined);
        else await model.insert(tx.db, e);
      },
    });
    await sub.caughtUp();
    expect((await model.rows()).map((r) => r.type)).toEqual(["A", "B", "D", "E"]);
    const swallower = (await store.load("order", "o-1"))[2]!;
    const parked = await sub.parked();
    expect(parked).toMatchObject([{ position: swallower.position, attempts: 2 }]);
    expect(parked[0]!.error).toMatch(/caught a database error/);
    expect((await sub.status())[0]).toMatchObject({ lag: 0, parked: 1 });
    await sub.stop();
  });

  it("refuses another partition count without leaving anything behind, so the right one still starts", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [event("A")]);
    const right = store.subscribe({ name: "split", partitions: 2, handler: () => undefined });
    await right.caughtUp();
    await right.stop();
    const wrong = store.subscribe({ name: "split", partitions: 4, handler: () => undefined });
    await expect(wrong.caughtUp()).rejects.toThrow(/runs with 2 partitions; it cannot also run with 4/);
    expect(await store.subscriptionStatus("split")).toHaveLength(2);
    const again = store.subscribe({ name: "split", partitions: 2, handler: () => undefined });
    await again.caughtUp();
    await again.stop();
  });

  it("refuses to read new categories from a position that has passed their history", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [event("A")]);
    await store.append("invoice", "i-1", [event("I")]);
    const orders = store.subscribe({ name: "narrow", aggregateTypes: ["order"], handler: () => undefined });
    await orders.caughtUp();
    await orders.stop();
    for (const aggregateTypes of [["order", "invoice"], undefined]) {
      const wider = store.subscribe({ name: "narrow", aggregateTypes, handler: () => undefined });
      await expect(wider.caughtUp()).rejects.toThrow(/cannot also read .*pass over the history/);
    }
    const narrower = store.subscribe({ name: "narrow", aggregateTypes: [], handler: () => undefined });
    await narrower.caughtUp();
    await narrower.stop();
  });

  it("starts a new checkpoint at the beginning, the end, or after a position, and hands only the event types asked for", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [event("Created"), event("Paid")]);
    const [, paid] = await readSettled(store);
    const seen = (name: string) => ({ name, types: [] as string[] });
    const runs = [
      { ...seen("from-start"), startFrom: "beginning" as const },
      { ...seen("from-end"), startFrom: "end" as const },
      { ...seen("from-position"), startFrom: paid!.position },
      { ...seen("only-shipped"), eventTypes: ["Shipped"] },
    ];
    const subs = runs.map(({ types, ...config }) => store.subscribe({ ...config, handler: (e) => void types.push(e.type) }));
    await Promise.all(subs.map((sub) => sub.caughtUp()));
    await store.append("order", "o-1", [event("Shipped")]);
    await Promise.all(subs.map((sub) => sub.caughtUp()));
    expect(Object.fromEntries(runs.map((run) => [run.name, run.types]))).toEqual({
      "from-start": ["Created", "Paid", "Shipped"],
      "from-end": ["Shipped"],
      "from-position": ["Shipped"],
      "only-shipped": ["Shipped"],
    });
    expect((await store.subscriptionStatus("only-shipped"))[0]!.lag).toBe(0);
    await Promise.all(subs.map((sub) => sub.stop()));
    // An existing checkpoint wins over startFrom.
    const again: string[] = [];
    const restarted = store.subscribe({ name: "from-start", startFrom: "end", handler: (e) => void again.push(e.type) });
    await store.append("order", "o-1", [event("Delivered")]);
    await restarted.caughtUp();
    expect(again).toEqual(["Delivered"]);
    await restarted.stop();
    expect(() => store.subscribe({ name: "bad", startFrom: "yesterday", handler: () => undefined })).toThrow(InvalidArgumentError);
  });

  it("resets a checkpoint to the beginning, the end or a position, and gives up waiting after timeoutMs", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [event("A"), event("B"), event("C")]);
    const [, b] = await readSettled(store);
    const seen: string[] = [];
    let gate: Promise<void> | undefined;
    let open = () => {};
    const sub = store.subscribe({
      name: "replayable",
      handler: async (e) => {
        await gate;
        seen.push(e.type);
      },
    });
    await sub.caughtUp();
    await store.resetSubscription("replayable", "beginning");
    await sub.caughtUp();
    await store.resetSubscription("replayable", b!.position);
    await sub.caughtUp();
    expect(seen).toEqual(["A", "B", "C", "A", "B", "C", "C"]);
    await store.resetSubscription("replayable", "end");
    expect((await store.subscriptionStatus("replayable"))[0]).toMatchObject({ lag: 0 });
    await expect(store.resetSubscription("nobody", "end")).rejects.toThrow(/no subscription named nobody/);
    gate = new Promise((resolve) => (open = resolve));
    await store.append("order", "o-1", [event("D")]);
    const started = Date.now();
    const error = await sub.caughtUp({ timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SubscriptionError);
    expect((error as Error).message).toMatch(/not caught up after 300 ms/);
    expect(Date.now() - started).toBeLessThan(3000);
    open();
    await sub.caughtUp();
    expect(seen.at(-1)).toBe("D");
    await sub.stop();
  });

  it("splits streams over partitions, each stream in order", async () => {
    const store = await newStore();
    const model = await readModel(store);
    for (let round = 0; round < 5; round++) {
      for (let s = 0; s < 8; s++) await store.append("order", `o-${s}`, [event(`E${round}`)]);
    }
    const sub = store.subscribe({ name: "split", partitions: 3, batchSize: 4, handler: (e, tx) => model.insert(tx.db, e).then(() => undefined) });
    await sub.caughtUp();
    const rows = await model.rows();
    expect(rows).toHaveLength(40);
    for (let s = 0; s < 8; s++) {
      expect(rows.filter((r) => r.stream === `order/o-${s}`).map((r) => r.version)).toEqual([1, 2, 3, 4, 5]);
    }
    const status = await sub.status();
    expect(status.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(status.filter((p) => p.position !== "").length).toBeGreaterThan(1);
    await sub.stop();
    expect(() => store.subscribe({ name: "split", partitions: 2, handler: () => {} })).not.toThrow();
  });

  it("wakes at once when events commit, however long it has been idle", async () => {
    const store = await newStore();
    let resolve!: (at: number) => void;
    const handled = new Promise<number>((r) => (resolve = r));
    const sub = store.subscribe({ name: "waker", maxSleepMs: 60_000, leaseMs: 60_000, handler: () => resolve(performance.now()) });
    await sub.caughtUp();
    await new Promise((r) => setTimeout(r, 1500)); // long enough for the idle backoff to reach seconds
    const appended = performance.now();
    await store.append("order", "o-1", [event("A")]);
    expect((await handled) - appended).toBeLessThan(1000);
    await sub.stop();
  });

  it("follows the log live: what is there, then each event as it commits, until aborted", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [event("Before")]);
    const stop = new AbortController();
    const seen: string[] = [];
    const following = (async () => {
      for await (const e of store.follow({ aggregateTypes: ["order"], signal: stop.signal, maxSleepMs: 60_000 })) {
        seen.push(e.type);
        if (seen.length === 3) stop.abort();
      }
    })();
    await store.append("invoice", "i-1", [event("Ignored")]);
    await store.append("order", "o-1", [event("After1")]);
    await store.append("order", "o-2", [event("After2")]);
    await following;
    expect(seen).toEqual(["Before", "After1", "After2"]);
  });

  it("lets handlers append and use repositories through tx", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [event("Placed", { total: 3 })]);
    const sub = store.subscribe({
      name: "policy",
      aggregateTypes: ["order"],
      handler: async (e, tx) => {
        await tx.append("invoice", e.aggregateId, [event("Invoiced", { total: (e.data as { total: number }).total })], { expectedVersion: 0 });
      },
    });
    await sub.caughtUp();
    expect((await store.load("invoice", "o-1")).map((e) => e.data)).toEqual([{ total: 3 }]);
    await store.close();
  });
});
