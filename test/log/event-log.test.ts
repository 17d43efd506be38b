import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { expect, it } from "vitest";
import {
  ConcurrencyError,
  InvalidArgumentError,
  InvalidEventError,
  isConcurrencyError,
  type NewEvent,
} from "../../src/index.js";
import { describeEachBackend } from "../support/backends.js";
import { readSettled } from "../support/eventually.js";

const event = (type: string, data: unknown = {}): NewEvent => ({ type, data: data as never });

describeEachBackend("event log", ({ newStore, query }) => {
  it("appends with an expected version and loads the stream back in order", async () => {
    const store = await newStore();
    const first = await store.append("order", "o-1", [event("Created", { total: 5 }), event("Paid")], { expectedVersion: 0 });
    expect(first.version).toBe(2);
    expect(first.events.map((e) => [e.version, e.type])).toEqual([
      [1, "Created"],
      [2, "Paid"],
    ]);
    const second = await store.append("order", "o-1", [event("Shipped", { code: "X" })], { expectedVersion: 2 });
    expect(second.version).toBe(3);
    const loaded = await store.load("order", "o-1");
    expect(loaded.map((e) => [e.version, e.type, e.data])).toEqual([
      [1, "Created", { total: 5 }],
      [2, "Paid", {}],
      [3, "Shipped", { code: "X" }],
    ]);
    expect(loaded[0]).toMatchObject({ aggregateType: "order", aggregateId: "o-1", metadata: {} });
    expect(loaded[0]!.id).toBe(first.events[0]!.id);
    expect(loaded[2]!.position).toBe(second.events[0]!.position);
    expect(loaded[0]!.createdAt).toBeInstanceOf(Date);
  });

  it("stores metadata as given", async () => {
    const store = await newStore();
    const metadata = { correlationId: "c-1", causationId: "k-9", nested: { list: [1, "two", null] } };
    await store.append("order", "o-1", [{ type: "Created", data: {}, metadata }]);
    expect((await store.load("order", "o-1"))[0]!.metadata).toEqual(metadata);
  });

  it("refuses a stale expected version, with both versions, and writes nothing", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [event("Created")], { expectedVersion: 0 });
    const error = await store
      .append("order", "o-1", [event("Paid"), event("Shipped")], { expectedVersion: 0 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect(error).toMatchObject({ aggregateType: "order", aggregateId: "o-1", expectedVersion: 0, actualVersion: 1, code: "CONCURRENCY" });
    const ahead = await store.append("order", "o-1", [event("Paid")], { expectedVersion: 5 }).catch((e: unknown) => e);
    expect(ahead).toMatchObject({ expectedVersion: 5, actualVersion: 1 });
    expect((await store.load("order", "o-1")).map((e) => e.type)).toEqual(["Created"]);
  });

  it('appends at the end with expectedVersion "any" (the default)', async () => {
    const store = await newStore();
    await store.append("order", "o-1", [event("A")]);
    const result = await store.append("order", "o-1", [event("B"), event("C")], { expectedVersion: "any" });
    expect(result.events.map((e) => e.version)).toEqual([2, 3]);
  });

  it('appends with expectedVersion "exists" only to a stream that has events', async () => {
    const store = await newStore();
    const error = await store.append("order", "o-1", [event("Paid")], { expectedVersion: "exists" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect(error).toMatchObject({ expectedVersion: "exists", actualVersion: 0 });
    expect((error as Error).message).toMatch(/does not exist/);
    await expect(store.append("order", "o-1", [], { expectedVersion: "exists" })).rejects.toBeInstanceOf(ConcurrencyError);
    expect(await store.load("order", "o-1")).toEqual([]);
    await store.append("order", "o-1", [event("Created")], { expectedVersion: 0 });
    expect((await store.append("order", "o-1", [event("Paid")], { expectedVersion: "exists" })).version).toBe(2);
    expect((await store.append("order", "o-1", [], { expectedVersion: "exists" })).version).toBe(2);
  });

  it("reads backward from the newest event, before a cursor, and tells the head position", async () => {
    const store = await newStore();
    expect(await store.headPosition()).toBeUndefined();
    await store.append("order", "o-1", [event("A"), event("B")]);
    await store.append("invoice", "i-1", [event("I")]);
    await store.append("order", "o-2", [event("C")]);
    const forward = await readSettled(store);
    expect(await store.headPosition()).toBe(forward.at(-1)!.position);
    const backward = await store.read({ direction: "backward" });
    expect(backward.map((e) => e.type)).toEqual(["C", "I", "B", "A"]);
    expect((await store.read({ direction: "backward", before: forward[3]!.position, limit: 2 })).map((e) => e.type)).toEqual(["I", "B"]);
    expect((await store.read({ direction: "backward", aggregateTypes: ["order"], limit: 2 })).map((e) => e.type)).toEqual(["C", "B"]);
    expect((await store.read({ after: forward[0]!.position, before: forward[3]!.position })).map((e) => e.type)).toEqual(["B", "I"]);
    await expect(store.read({ direction: "sideways" as never })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("with no events writes nothing and returns the current version after checking it", async () => {
    const store = await newStore();
    expect(await store.append("order", "o-1", [], { expectedVersion: 0 })).toEqual({ version: 0, events: [] });
    await store.append("order", "o-1", [event("A")]);
    expect(await store.append("order", "o-1", [])).toEqual({ version: 1, events: [] });
    await expect(store.append("order", "o-1", [], { expectedVersion: 0 })).rejects.toBeInstanceOf(ConcurrencyError);
    expect(await readSettled(store)).toHaveLength(1);
  });

  it("does not store an event twice when its id is appended again", async () => {
    const store = await newStore();
    const ids = [randomUUID(), randomUUID()];
    const batch = [{ ...event("A"), id: ids[0] }, { ...event("B"), id: ids[1] }];
    const first = await store.append("order", "o-1", batch, { expectedVersion: 0 });
    const retried = await store.append("order", "o-1", batch, { expectedVersion: 0 });
    const again = await store.append("order", "o-1", batch, { expectedVersion: "any" });
    expect(retried.version).toBe(2);
    expect(retried.events.map((e) => e.id)).toEqual(ids);
    expect(again.events.map((e) => e.position)).toEqual(first.events.map((e) => e.position));
    expect(await store.load("order", "o-1")).toHaveLength(2);
    // The same id in another stream is another event.
    await store.append("order", "o-2", batch);
    expect(await readSettled(store)).toHaveLength(4);
    // Part of a batch already stored is not a retry: refused, nothing written.
    const mixed = [{ ...event("A"), id: ids[0] }, { ...event("C"), id: randomUUID() }];
    await expect(store.append("order", "o-1", mixed)).rejects.toBeInstanceOf(InvalidEventError);
    expect(await store.load("order", "o-1")).toHaveLength(2);
  });

  it("loads slices of a stream: from, to, limit, backward", async () => {
    const store = await newStore();
    await store.append("order", "o-1", Array.from({ length: 10 }, (_, i) => event(`E${i + 1}`)));
    const versions = async (options: Parameters<typeof store.load>[2]) =>
      (await store.load("order", "o-1", options)).map((e) => e.version);
    expect(await versions({ fromVersion: 4 })).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(await versions({ toVersion: 3 })).toEqual([1, 2, 3]);
    expect(await versions({ fromVersion: 3, toVersion: 6, limit: 2 })).toEqual([3, 4]);
    expect(await versions({ direction: "backward", limit: 3 })).toEqual([10, 9, 8]);
    expect(await versions({ direction: "backward", toVersion: 2 })).toEqual([2, 1]);
    expect(await store.load("order", "missing")).toEqual([]);
    await expect(store.load("order", "o-1", { limit: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("reads everything or some categories in commit order, after a cursor, in pages", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [event("O1"), event("O2")]);
    await store.append("invoice", "i-1", [event("I1")]);
    await store.append("order", "o-2", [event("O3")]);
    await store.append("shipment", "s-1", [event("S1")]);
    expect((await readSettled(store)).map((e) => e.type)).toEqual(["O1", "O2", "I1", "O3", "S1"]);
    expect((await readSettled(store, { aggregateTypes: ["order"] })).map((e) => e.type)).toEqual(["O1", "O2", "O3"]);
    expect((await readSettled(store, { aggregateTypes: ["order", "shipment"] })).map((e) => e.type)).toEqual(["O1", "O2", "O3", "S1"]);
    expect(await readSettled(store, { aggregateTypes: [] })).toEqual([]);
    const page = await readSettled(store, { limit: 2 });
    expect(page.map((e) => e.type)).toEqual(["O1", "O2"]);
    expect((await readSettled(store, { after: page[1]!.position })).map((e) => e.type)).toEqual(["I1", "O3", "S1"]);
    const positions = (await readSettled(store)).map((e) => e.position);
    expect([...positions].sort()).toEqual(positions);
    const all: string[] = [];
    for await (const e of store.readAll({ pageSize: 2 })) all.push(e.type);
    expect(all).toEqual(["O1", "O2", "I1", "O3", "S1"]);
    const orders: string[] = [];
    for await (const e of store.readAll({ aggregateTypes: ["order"], after: page[0]!.position, pageSize: 1 })) orders.push(e.type);
    expect(orders).toEqual(["O2", "O3"]);
    await expect(readSettled(store, { after: "not-a-position" })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("orders positions as numbers, not as text, however many digits they have", async () => {
    const store = await newStore();
    for (let i = 0; i < 12; i++) await store.append("order", "o-1", [event(`E${i + 1}`)]);
    await store.append("order", "o-2", Array.from({ length: 12 }, (_, i) => event(`F${i + 1}`)));
    const read = await readSettled(store);
    expect(read.filter((e) => e.aggregateId === "o-1").map((e) => e.version)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(read.filter((e) => e.aggregateId === "o-2").map((e) => e.version)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const paged: number[] = [];
    for await (const e of store.readAll({ aggregateTypes: ["order"], pageSize: 5 })) if (e.aggregateId === "o-2") paged.push(e.version);
    expect(paged).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it("reads the partitions of the streams, which together hold every event once", async () => {
    const store = await newStore();
    for (let s = 0; s < 20; s++) await store.append("order", `o-${s}`, [event("A"), event("B")]);
    const parts = await Promise.all([0, 1, 2].map((index) => readSettled(store, { partition: { index, count: 3 } })));
    expect(parts.flat().map((e) => e.id).sort()).toEqual((await readSettled(store)).map((e) => e.id).sort());
    for (const part of parts) {
      expect(part.length).toBeGreaterThan(0);
      for (const e of part) expect(part.filter((other) => other.aggregateId === e.aggregateId)).toHaveLength(2);
    }
    await expect(readSettled(store, { partition: { index: 3, count: 3 } })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("refuses data that is not JSON, and writes nothing", async () => {
    const store = await newStore();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const bad: unknown[] = [
      undefined,
      { a: undefined },
      [1, undefined],
      Number.NaN,
      { n: Number.POSITIVE_INFINITY },
      Number.NEGATIVE_INFINITY,
      10n,
      () => 1,
      Symbol("s"),
      cyclic,
      new Date(),
      new Map(),
      "nul \u0000 inside",
      { "key\u0000": 1 },
      "lone \ud800 surrogate",
    ];
    for (const data of bad) {
      const error = await store.append("order", "o-1", [{ type: "Bad", data: data as never }]).catch((e: unknown) => e);
      expect(error, String(data)).toBeInstanceOf(InvalidEventError);
      expect((error as InvalidEventError).code).toBe("INVALID_EVENT");
    }
    const deep = JSON.parse(`${"[".repeat(2000)}${"]".repeat(2000)}`);
    await expect(store.append("order", "o-1", [event("Deep", deep)])).rejects.toThrow(/deeper than/);
    // One bad event refuses the whole batch.
    await expect(store.append("order", "o-1", [event("Good"), event("Bad", Number.NaN)])).rejects.toThrow(/event 1 \(Bad\) data is NaN/);
    expect(await readSettled(store)).toEqual([]);
  });

  it("refuses bad types, ids, metadata and expected versions, and writes nothing", async () => {
    const store = await newStore();
    await expect(store.append("", "o-1", [event("A")])).rejects.toBeInstanceOf(InvalidEventError);
    await expect(store.append("order", "", [event("A")])).rejects.toBeInstanceOf(InvalidEventError);
    await expect(store.append("order", 42 as unknown as string, [event("A")])).rejects.toBeInstanceOf(InvalidEventError);
    await expect(store.append("order", "o-1", [event("")])).rejects.toBeInstanceOf(InvalidEventError);
    await expect(store.append("order", "o-1", [event("x".repeat(201))])).rejects.toThrow(/at most 200/);
    await expect(store.append("x".repeat(201), "o-1", [event("A")])).rejects.toBeInstanceOf(InvalidEventError);
    await expect(store.append("order", "o-1", [{ type: "A", data: 1, id: "nope" }])).rejects.toBeInstanceOf(InvalidEventError);
    await expect(store.append("order", "o-1", [{ type: "A", data: 1, metadata: [] as never }])).rejects.toBeInstanceOf(InvalidEventError);
    await expect(store.append("order", "o-1", [{ type: "A" } as NewEvent])).rejects.toThrow(/has no data/);
    for (const expectedVersion of [-1, 1.5, Number.NaN, "2" as never]) {
      await expect(store.append("order", "o-1", [event("A")], { expectedVersion })).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    expect(await readSettled(store)).toEqual([]);
  });

  it("checks ids against a uuid aggregate id type", async () => {
    const store = await newStore({ aggregateIdType: "uuid" });
    const id = randomUUID();
    await store.append("order", id, [event("A")]);
    expect((await store.load("order", id.toUpperCase()))[0]!.aggregateId).toBe(id);
    await expect(store.append("order", "not-a-uuid", [event("A")])).rejects.toBeInstanceOf(InvalidEventError);
    await expect(store.load("order", "not-a-uuid")).rejects.toBeInstanceOf(InvalidEventError);
    expect(await readSettled(store)).toHaveLength(1);
  });

  it("lets PostgreSQL check ids against other aggregate id types", async () => {
    const store = await newStore({ aggregateIdType: "varchar(8)" });
    await store.append("order", "12345678", [event("A")]);
    const error = await store.append("order", "123456789", [event("A")]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidEventError);
    expect((error as Error).message).toMatch(/character varying\(8\)/);
    const numeric = await newStore({ aggregateIdType: "bigint" });
    await numeric.append("account", "9007199254740993", [event("A")]);
    expect((await numeric.load("account", "9007199254740993"))[0]!.aggregateId).toBe("9007199254740993");
    await expect(numeric.append("account", "12abc", [event("A")])).rejects.toBeInstanceOf(InvalidEventError);
  });

  it("stores any JSON value and reads it back equal", async () => {
    const store = await newStore();
    const text = fc.string({ unit: "binary" }).filter((s) => !s.includes("\u0000"));
    const json = fc.jsonValue({ maxDepth: 4, stringUnit: "binary" }).filter((value) => {
      try {
        return !JSON.stringify(value).includes("\\u0000");
      } catch {
        return false;
      }
    });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(json, text, async (data, type) => {
        const id = `p-${n++}`;
        await store.append("json", id, [{ type: type === "" ? "t" : type, data: data as never }]);
        const [stored] = await store.load("json", id);
        // jsonb keeps numbers exactly but has no negative zero; JSON does the same round trip.
        expect(stored!.data).toEqual(JSON.parse(JSON.stringify(data)));
        expect(stored!.type).toBe(type === "" ? "t" : type);
      }),
      { numRuns: 150 },
    );
  });

  it("commits or rolls back a transaction's appends and the user's own writes together", async () => {
    const store = await newStore();
    await store.db.schema.createTable(`${store.schema}.notes`).addColumn("text", "text").execute();
    const notes = () => store.db.selectFrom(`${store.schema}.notes`).select("text").execute();
    await store.transaction(async (tx) => {
      await tx.append("order", "o-1", [event("A")], { expectedVersion: 0 });
      await tx.append("invoice", "i-1", [event("B")], { expectedVersion: 0 });
      await tx.db.insertInto(`${store.schema}.notes`).values({ text: "kept" }).execute();
    });
    expect((await readSettled(store)).map((e) => e.type)).toEqual(["A", "B"]);
    await expect(
      store.transaction(async (tx) => {
        await tx.append("order", "o-1", [event("C")], { expectedVersion: 1 });
        await tx.db.insertInto(`${store.schema}.notes`).values({ text: "lost" }).execute();
        await tx.append("invoice", "i-1", [event("D")], { expectedVersion: 0 });
      }),
    ).rejects.toBeInstanceOf(ConcurrencyError);
    expect((await readSettled(store)).map((e) => e.type)).toEqual(["A", "B"]);
    expect(await notes()).toEqual([{ text: "kept" }]);
    await expect(
      store.transaction(async (tx) => {
        await tx.append("order", "o-1", [event("E")], { expectedVersion: 1 });
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect(await readSettled(store)).toHaveLength(2);
  });

  it('appends with "any" inside a transaction and reads its own writes', async () => {
    const store = await newStore();
    await store.append("order", "o-1", [event("A")]);
    const seen = await store.transaction(async (tx) => {
      await tx.append("order", "o-1", [event("B")]);
      await tx.append("order", "o-1", [event("C")], { expectedVersion: 2 });
      return (await tx.load("order", "o-1")).map((e) => e.type);
    });
    expect(seen).toEqual(["A", "B", "C"]);
  });

  it("runs a transaction again on a ConcurrencyError when maxAttempts allows", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [event("First")]);
    let runs = 0;
    const result = await store.transaction(
      async (tx) => {
        runs++;
        await tx.append("invoice", "i-1", [event("Written then rolled back")]);
        // The first run acts on a version that is out of date, as if another writer had won.
        const version = runs === 1 ? 0 : (await tx.load("order", "o-1")).length;
        await tx.append("order", "o-1", [event("Mine")], { expectedVersion: version });
        return version;
      },
      { maxAttempts: 3 },
    );
    expect(runs).toBe(2);
    expect(result).toBe(1);
    expect((await readSettled(store)).map((e) => e.type)).toEqual(["First", "Written then rolled back", "Mine"]);
    let failing = 0;
    const error = await store
      .transaction(
        async (tx) => {
          failing++;
          await tx.append("order", "o-1", [event("X")], { expectedVersion: 0 });
        },
        { maxAttempts: 2 },
      )
      .catch((e: unknown) => e);
    expect(isConcurrencyError(error)).toBe(true);
    expect(failing).toBe(2);
    await expect(store.transaction(async () => 1, { maxAttempts: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
