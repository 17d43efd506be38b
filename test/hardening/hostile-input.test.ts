import { expect, it } from "vitest";
import { InvalidEventError, MAX_JSON_DEPTH } from "../../src/index.js";
import { describeEachBackend } from "../support/backends.js";
import { readSettled } from "../support/eventually.js";

const ODD_NAMES = [
  "'; drop table events; --",
  '" or 1=1 --',
  "back\\slash",
  "tab\there",
  "new\nline",
  "émoji 🐈‍⬛ and 漢字",
  "$1",
  "%s%n",
  "x".repeat(200),
  " leading and trailing ",
];

describeEachBackend("hostile and odd input", ({ newStore }) => {
  it("stores odd aggregate types, ids and event types as given, and reads them back the same", async () => {
    const store = await newStore();
    for (const name of ODD_NAMES) {
      await store.append(name, name, [{ type: name, data: { name } }], { expectedVersion: 0 });
      const [event] = await store.load(name, name);
      expect(event).toMatchObject({ aggregateType: name, aggregateId: name, type: name, data: { name } });
      expect((await readSettled(store, { aggregateTypes: [name] })).map((e) => e.type)).toEqual([name]);
    }
    const sub = store.subscribe({ name: "'; drop table subscriptions; --", handler: () => {} });
    await sub.caughtUp();
    expect((await sub.status())[0]!.name).toBe("'; drop table subscriptions; --");
    await sub.stop();
  });

  it("keeps numbers at the edges of what JSON holds", async () => {
    const store = await newStore();
    const numbers = [Number.MAX_VALUE, Number.MIN_VALUE, -Number.MAX_VALUE, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, 1e-300, 0.1 + 0.2, -0, 123456789.123456789];
    await store.append("numbers", "n", [{ type: "Edges", data: { numbers } }]);
    const [event] = await store.load("numbers", "n");
    // JSON has no negative zero: it comes back as 0, as JSON.parse(JSON.stringify(-0)) does.
    expect((event!.data as { numbers: number[] }).numbers).toEqual(JSON.parse(JSON.stringify(numbers)));
  });

  it("takes large documents, deep ones up to the limit, and huge batches", async () => {
    const store = await newStore();
    const big = "x".repeat(5 * 1024 * 1024);
    await store.append("doc", "big", [{ type: "Big", data: { big } }]);
    expect(((await store.load("doc", "big"))[0]!.data as { big: string }).big.length).toBe(big.length);

    let deep: unknown = "bottom";
    for (let i = 0; i < MAX_JSON_DEPTH; i++) deep = [deep]; // as deep as allowed
    await store.append("doc", "deep", [{ type: "Deep", data: deep as never }]);
    expect(JSON.stringify((await store.load("doc", "deep"))[0]!.data)).toBe(JSON.stringify(deep));
    await expect(store.append("doc", "deeper", [{ type: "Deep", data: [deep] as never }])).rejects.toBeInstanceOf(InvalidEventError);

    const batch = Array.from({ length: 10_000 }, (_, i) => ({ type: "Many", data: { i } }));
    const { version, events } = await store.append("doc", "many", batch, { expectedVersion: 0 });
    expect(version).toBe(10_000);
    expect(events.at(-1)!.data).toEqual({ i: 9_999 });
    expect(await store.load("doc", "many", { fromVersion: 9_999 })).toHaveLength(2);
  });
});
