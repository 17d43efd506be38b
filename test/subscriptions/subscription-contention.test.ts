import { sql } from "kysely";
import pg from "pg";
import { expect, it } from "vitest";
import { z } from "zod";
import { ConcurrencyError, connect, defineAggregate, defineProjection, type NewEvent } from "../../src/index.js";
import { describePostgres, postgresUrl } from "../support/backends.js";
import { eventually, holdOpen, readSettled, sleep } from "../support/eventually.js";
import { QUIET } from "../support/quiet-logger.js";

const event = (type: string, data: Record<string, unknown> = {}): NewEvent => ({ type, data: data as never });

describePostgres("subscriptions and appends under contention", ({ newStore, newSchema, query }) => {
  it("reruns a batch that concurrent writers of the same stream roll back, without counting an attempt", async () => {
    const store = await newStore();
    for (let i = 0; i < 200; i++) await store.append("order", `o-${i % 20}`, [event("Placed", { i })]);
    let writing = true;
    const writers = Array.from({ length: 4 }, async () => {
      while (writing) await store.append("ledger", "main", [event("Written")]);
    });
    const sub = store.subscribe({
      name: "ledger-poster",
      aggregateTypes: ["order"],
      maxAttempts: 2,
      handler: async (e, tx) => {
        await tx.append("ledger", "main", [event("Posted", { position: e.position })]);
      },
    });
    try {
      await sub.caughtUp();
    } finally {
      writing = false;
      await Promise.all(writers);
    }
    const posted = (await store.load("ledger", "main")).filter((e) => e.type === "Posted");
    expect(posted).toHaveLength(200);
    expect(new Set(posted.map((e) => (e.data as { position: string }).position)).size).toBe(200);
    expect(await store.parkedEvents("ledger-poster")).toEqual([]);
  });

  it("appends with expectedVersion any to an inline-projected stream from 20 writers at once, every one landing", async () => {
    const Tally = defineProjection({
      name: "tally",
      from: [defineAggregate({ type: "tally", events: { Counted: z.object({}) }, initialState: {}, evolve: { Counted: () => undefined } })],
      key: (e) => e.aggregateId,
      initialState: { count: 0 },
      evolve: { tally: { Counted: (draft) => void (draft.count += 1) } },
    });
    const store = await newStore({ inlineProjections: [Tally] });
    const outcomes = { ok: 0, failed: 0 };
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        Array.from({ length: 20 }, () =>
          store.append("tally", "t-1", [event("Counted")], { expectedVersion: "any" }).then(
            () => void outcomes.ok++,
            () => void outcomes.failed++,
          ),
        ),
      );
    }
    expect(outcomes).toEqual({ ok: 200, failed: 0 });
    expect(await store.projection(Tally).get("t-1")).toEqual({ count: 200 });
  });

  it("replays a parked event once when two replays run at the same time", async () => {
    const store = await newStore();
    await store.db.schema.createTable(`${store.schema}.effects`).addColumn("position", "text").execute();
    await store.append("order", "o-1", [event("Poison")]);
    const sub = store.subscribe({ name: "fragile", onError: "park", maxAttempts: 1, handler: () => Promise.reject(new Error("not yet")) });
    await sub.caughtUp();
    await sub.stop();
    expect(await store.parkedEvents("fragile")).toHaveLength(1);
    const replay = () =>
      store.replayParked("fragile", async (e, tx) => {
        await tx.db.insertInto(`${store.schema}.effects`).values({ position: e.position }).execute();
        await sleep(100);
      });
    const counts = await Promise.all([replay(), replay()]);
    expect(counts.sort()).toEqual([0, 1]);
    expect(await query(`select * from "${store.schema}".effects`)).toHaveLength(1);
    expect(await store.parkedEvents("fragile")).toEqual([]);
  });

  it("handles an event held back by an open transaction soon after it ends, however long the worker slept", async () => {
    const store = await newStore();
    const handled: number[] = [];
    const sub = store.subscribe({ name: "patient", maxSleepMs: 10_000, leaseMs: 60_000, handler: () => void handled.push(Date.now()) });
    await sub.caughtUp();
    // Idle for a while: the worker's polls have backed off to seconds.
    await sleep(3500);
    const blocker = await holdOpen(store, (tx) => sql`select pg_current_xact_id()`.execute(tx.db));
    await store.append("order", "o-1", [event("Waiting")]);
    await sleep(800);
    expect(handled).toEqual([]);
    await blocker.release();
    const ended = Date.now();
    await eventually(async () => handled.length === 1, 10_000, "the held-back event");
    expect(handled[0]! - ended).toBeLessThan(1000);
  });

  it("keeps its LISTEN connection out of the store's pool", async () => {
    const store = await newStore({ poolSize: 1, connectionTimeoutMs: 2000 });
    const sub = store.subscribe({ name: "listening", handler: () => undefined });
    await sub.caughtUp();
    await eventually(
      async () => (await query(`select 1 from pg_stat_activity where query like 'listen "meowmx_${store.schema}"%'`)).length === 1,
      5000,
      "the LISTEN connection",
    );
    await expect(store.append("order", "o-1", [event("A")])).resolves.toMatchObject({ version: 1 });
    await sub.caughtUp();
  });

  it("survives a connection of the caller's own pool ended by the server in the middle of a transaction", async () => {
    const pool = new pg.Pool({ connectionString: postgresUrl(), max: 2 });
    const store = await connect({ pool, schema: newSchema(), logger: QUIET });
    try {
      const failure = await store
        .transaction(async (tx) => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx.db);
          await query("select pg_terminate_backend($1)", [rows[0]!.pid]);
          await sleep(100);
          await tx.append("order", "o-1", [event("Lost")]);
        })
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(Error);
      await expect(store.append("order", "o-2", [event("Kept")])).resolves.toMatchObject({ version: 1 });
      expect((await readSettled(store)).map((e) => e.type)).toEqual(["Kept"]);
    } finally {
      await store.close();
      await pool.end();
    }
  });

  it("asks for a new transaction when a repeatable-read transaction loses an append race", async () => {
    const store = await newStore();
    await store.append("order", "o-1", [event("A")]);
    const attempt = (first: boolean) =>
      store.transaction(async (tx) => {
        await sql`set transaction isolation level repeatable read`.execute(tx.db);
        await tx.load("order", "o-1");
        // Another writer appends after this transaction's snapshot was taken.
        if (first) await store.append("order", "o-1", [event("B")]);
        await tx.append("order", "o-1", [event("C")], { expectedVersion: "any" });
      });
    const error = await attempt(true).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect(error).toMatchObject({ needsNewTransaction: true });
    await attempt(false);
    expect((await store.load("order", "o-1")).map((e) => e.type)).toEqual(["A", "B", "C"]);
  });
});
