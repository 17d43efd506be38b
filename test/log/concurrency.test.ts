import { expect, it } from "vitest";
import { ConcurrencyError, type NewEvent, type Store, type TransactionSession } from "../../src/index.js";
import { describePostgres } from "../support/backends.js";
import { readSettled, settled } from "../support/eventually.js";

const event = (type: string): NewEvent => ({ type, data: { type } });

/**
 * Starts a transaction that runs `work` and then stays open until `finish` is called; `finish(error)`
 * ends it by throwing (a rollback). Resolves once `work` is done, so the transaction holds its writes.
 */
async function openTransaction(
  store: Store,
  work: (tx: TransactionSession) => Promise<unknown>,
): Promise<{ finish: (error?: Error) => void; ended: Promise<unknown> }> {
  let finish!: (error?: Error) => void;
  const finished = new Promise<Error | undefined>((resolve) => (finish = resolve));
  let worked!: () => void;
  const workDone = new Promise<void>((resolve) => (worked = resolve));
  const ended = store.transaction(async (tx) => {
    await work(tx);
    worked();
    const error = await finished;
    if (error !== undefined) throw error;
  });
  await Promise.race([workDone, ended]);
  return { finish, ended };
}

describePostgres("event log under concurrency", ({ newStore }) => {
  it("lets exactly one of 20 parallel appends with the same expected version win", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [event("Created")], { expectedVersion: 0 });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => store.append("order", "o-1", [event(`Writer${i}`), event(`Writer${i}b`)], { expectedVersion: 1 })),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(19);
    for (const error of lost) {
      expect(error).toBeInstanceOf(ConcurrencyError);
      expect(error).toMatchObject({ expectedVersion: 1, actualVersion: 3 });
    }
    const stream = await store.load("order", "o-1");
    expect(stream.map((e) => e.version)).toEqual([1, 2, 3]);
    expect(stream[1]!.type.replace(/b$/, "")).toBe(stream[2]!.type.replace(/b$/, ""));
  });

  it("lets exactly one of 20 parallel appends to a stream expected not to exist win, inside transactions too", async () => {
    const store = await newStore();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? store.append("order", "o-new", [event(`Writer${i}`), event(`Writer${i}b`)], { expectedVersion: 0 })
          : store.transaction((tx) => tx.append("order", "o-new", [event(`Writer${i}`), event(`Writer${i}b`)], { expectedVersion: 0 })),
      ),
    );
    const lost = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(lost).toHaveLength(19);
    for (const error of lost) expect(error).toMatchObject({ name: "ConcurrencyError", expectedVersion: 0, actualVersion: 2 });
    const stream = await store.load("order", "o-new");
    expect(stream.map((e) => e.version)).toEqual([1, 2]);
    expect(stream[1]!.type).toBe(`${stream[0]!.type}b`);
  });

  it('stores all of 20 parallel appends with "any", at versions 1..20 without gap or repeat', async () => {
    const store = await newStore();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.append("order", "o-1", [event(`W${i}`)])));
    const versions = results.map((r) => r.version).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const stream = await store.load("order", "o-1");
    expect(stream.map((e) => e.version)).toEqual(versions);
    expect(new Set(stream.map((e) => e.type)).size).toBe(20);
  });

  it('stores parallel "any" appends made inside transactions, each stream in transaction order', async () => {
    const store = await newStore();
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        store.transaction(
          async (tx) => {
            await tx.append("order", "o-1", [event(`W${i}`)]);
            await tx.append("audit", "a-1", [event(`A${i}`)]);
          },
          { maxAttempts: 50 },
        ),
      ),
    );
    for (const stream of ["o-1", "a-1"]) {
      const read = (await readSettled(store)).filter((e) => e.aggregateId === stream).map((e) => e.version);
      expect(read).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    }
    expect((await store.load("order", "o-1")).map((e) => e.version)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(await store.load("audit", "a-1")).toHaveLength(12);
  });

  it("never lets a reader pass an event whose transaction commits after a later one", async () => {
    const store = await newStore();
    const [before] = (await store.append("order", "o-0", [event("Before")])).events;
    expect((await readSettled(store)).map((e) => e.type)).toEqual(["Before"]);
    const a = await openTransaction(store, (tx) => tx.append("order", "o-A", [event("A")]));
    await store.append("order", "o-B", [event("B")]);
    // A is open: its event is invisible, and B (committed, but after A began) is held back.
    expect(await store.load("order", "o-A")).toEqual([]);
    expect(await store.read({ after: before!.position })).toEqual([]);
    a.finish();
    await a.ended;
    await settled(store);
    const after = await store.read({ after: before!.position });
    expect(after.map((e) => e.type)).toEqual(["A", "B"]);
    expect(after[0]!.position < after[1]!.position).toBe(true);
  });

  it("refuses an append from a transaction that began before a later append to the stream committed", async () => {
    const store = await newStore();
    const notes = `${store.schema}.notes`;
    await store.db.schema.createTable(notes).addColumn("n", "integer").execute();
    let runs = 0;
    let refused: unknown;
    await store.transaction(
      async (tx) => {
        runs++;
        // The transaction gets its id by writing first; then another one appends to the stream and commits.
        await tx.db.insertInto(notes).values({ n: runs }).execute();
        if (runs === 1) await store.append("order", "o-1", [event("Between")]);
        try {
          await tx.append("order", "o-1", [event("Mine")]);
        } catch (error) {
          refused ??= error;
          throw error;
        }
      },
      { maxAttempts: 3 },
    );
    expect(runs).toBe(2);
    expect(refused).toBeInstanceOf(ConcurrencyError);
    expect(refused).toMatchObject({ needsNewTransaction: true, expectedVersion: "any", actualVersion: 1 });
    expect((await readSettled(store)).map((e) => [e.type, e.version])).toEqual([
      ["Between", 1],
      ["Mine", 2],
    ]);
  });

  it("turns a deadlock between two transactions' appends into a ConcurrencyError that a rerun resolves", async () => {
    const store = await newStore();
    let bothFirst!: () => void;
    let firstDone = 0;
    const first = new Promise<void>((resolve) => (bothFirst = resolve));
    const errors: unknown[] = [];
    const crosswise = (one: string, other: string) =>
      store.transaction(
        async (tx) => {
          await tx.append("account", one, [event("First")]);
          if (++firstDone === 2) bothFirst();
          await first;
          try {
            await tx.append("account", other, [event("Second")]);
          } catch (error) {
            errors.push(error);
            throw error;
          }
        },
        { maxAttempts: 3 },
      );
    await Promise.all([crosswise("a", "b"), crosswise("b", "a")]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ConcurrencyError);
    expect(errors[0]).toMatchObject({ needsNewTransaction: true });
    expect((errors[0] as Error).message).toMatch(/deadlock/);
    expect(await store.load("account", "a")).toHaveLength(2);
    expect(await store.load("account", "b")).toHaveLength(2);
  });

  it("keeps a rolled-back transaction's events from every reader", async () => {
    const store = await newStore();
    const doomed = await openTransaction(store, (tx) => tx.append("order", "o-1", [event("Doomed")]));
    await store.append("order", "o-2", [event("Kept")]);
    doomed.finish(new Error("roll back"));
    await expect(doomed.ended).rejects.toThrow("roll back");
    expect((await readSettled(store)).map((e) => e.type)).toEqual(["Kept"]);
  });
});
