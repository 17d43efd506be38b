import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NewEvent, type Store } from "../../src/index.js";
import { enabledBackends } from "../support/backends.js";
import { eventually, holdOpen, sleep } from "../support/eventually.js";
import { QUIET } from "../support/quiet-logger.js";
import { startThrowawayCluster, type ThrowawayCluster } from "../support/throwaway-cluster.js";

const event = (type: string): NewEvent => ({ type, data: { type } });
/**
 * The acknowledged events missing from their streams. Streams are loaded one by one: `read` would
 * hold back events behind any transaction still open, such as a worker's batch.
 */
async function lostOf(store: Store, acknowledged: ReadonlyArray<string>): Promise<string[]> {
  const stored = new Set<string>();
  for (let w = 0; w < 4; w++) {
    for (let s = 0; s < 20; s++) for (const e of await store.load("order", `w${w}-${s}`)) stored.add(e.id);
  }
  return acknowledged.filter((id) => !stored.has(id));
}

/** Writers that append until stopped, keeping the ids of what was acknowledged and the errors of what was not. */
function startWriters(store: Store, count: number) {
  const acknowledged: string[] = [];
  const errors: unknown[] = [];
  let running = true;
  const loops = Array.from({ length: count }, async (_, w) => {
    for (let n = 0; running; n++) {
      try {
        const { events } = await store.append("order", `w${w}-${n % 20}`, [event(`E${n}`)]);
        acknowledged.push(events[0]!.id);
      } catch (error) {
        errors.push(error);
        await sleep(20);
      }
    }
  });
  return {
    acknowledged,
    errors,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

// The cluster is this file's own; it runs where the PostgreSQL half of the suite runs.
describe.runIf(enabledBackends().includes("postgres"))("faults of a throwaway PostgreSQL", () => {
  let cluster: ThrowawayCluster;
  beforeAll(async () => {
    const started = await startThrowawayCluster();
    if (started === undefined) throw new Error("no PostgreSQL server binaries to start a throwaway cluster with");
    cluster = started;
  }, 60_000);
  afterAll(async () => {
    await cluster?.destroy();
  });

  it("loses nothing acknowledged when the server restarts under appends and a subscription", async () => {
    const store = await connect({ connectionString: cluster.url, schema: "restart", connectionTimeoutMs: 5000, logger: QUIET });
    const handled = new Set<string>();
    const sub = store.subscribe({ name: "survivor", maxSleepMs: 60_000, leaseMs: 60_000, handler: (e) => void handled.add(e.id) });
    try {
      const writers = startWriters(store, 4);
      await sleep(500);
      await cluster.restart();
      await sleep(1000);
      await writers.stop();
      expect(writers.acknowledged.length).toBeGreaterThan(0);
      for (const error of writers.errors) expect((error as Error).message).not.toBe("");
      const messages = [...new Set(writers.errors.map((error) => (error as Error).message))];
      console.info(`restart: ${writers.acknowledged.length} appends acknowledged, ${writers.errors.length} refused (${messages.join("; ")})`);
      expect(await lostOf(store, writers.acknowledged)).toEqual([]);
      await eventually(async () => writers.acknowledged.every((id) => handled.has(id)), 30_000, "the subscription to handle every acknowledged event");
      // The LISTEN connection came back: a new event wakes the idle worker long before its 60 s sleep.
      await sleep(1500);
      const { events } = await store.append("order", "late", [event("Late")]);
      await eventually(async () => handled.has(events[0]!.id), 3000, "a wake-up after the restart");
    } finally {
      await sub.stop();
      await store.close();
    }
  }, 90_000);

  it("recovers from connections terminated at random", async () => {
    const store = await connect({ connectionString: `${cluster.url}?application_name=victim`, schema: "terminate", logger: QUIET });
    const handled = new Set<string>();
    const sub = store.subscribe({ name: "survivor", maxSleepMs: 200, handler: (e) => void handled.add(e.id) });
    try {
      const writers = startWriters(store, 4);
      for (let i = 0; i < 10; i++) {
        await sleep(100);
        await cluster.psql(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'victim' order by random() limit 2`);
      }
      await writers.stop();
      expect(await lostOf(store, writers.acknowledged)).toEqual([]);
      await eventually(async () => writers.acknowledged.every((id) => handled.has(id)), 30_000, "every acknowledged event handled");
    } finally {
      await sub.stop();
      await store.close();
    }
  }, 90_000);

  it("makes callers of an exhausted pool wait, then fail with a clear error instead of hanging", async () => {
    const store = await connect({ connectionString: cluster.url, schema: "exhausted", poolSize: 1, connectionTimeoutMs: 300, logger: QUIET });
    try {
      const holder = await holdOpen(store, (tx) => tx.append("order", "o-1", [event("A")]));
      const started = Date.now();
      await expect(store.append("order", "o-2", [event("B")])).rejects.toThrow(/timeout/i);
      expect(Date.now() - started).toBeLessThan(5000);
      await holder.release();
      await store.append("order", "o-2", [event("B")]);
      expect((await store.read()).map((e) => e.type)).toEqual(["A", "B"]);
    } finally {
      await store.close();
    }
  });

  it("survives statement_timeout: the statement fails, the store and the subscription go on", async () => {
    const store = await connect({ connectionString: `${cluster.url}?options=-c%20statement_timeout%3D200`, schema: "timeouts", logger: QUIET });
    try {
      const { sql } = await import("kysely");
      await expect(sql`select pg_sleep(1)`.execute(store.db)).rejects.toThrow(/statement timeout/);
      await store.append("order", "o-1", [event("Slow"), event("Fast")]);
      const handled: string[] = [];
      const sub = store.subscribe({
        name: "slow-handler",
        onError: "park",
        maxAttempts: 2,
        retryDelayMs: 1,
        handler: async (e, tx) => {
          if (e.type === "Slow") await sql`select pg_sleep(1)`.execute(tx.db);
          handled.push(e.type);
        },
      });
      await sub.caughtUp();
      expect(handled).toEqual(["Fast"]);
      expect((await sub.parked())[0]!.error).toMatch(/statement timeout/);
      await sub.stop();
    } finally {
      await store.close();
    }
  });

  it("survives idle_in_transaction_session_timeout: the transaction fails whole, workers retry", async () => {
    const store = await connect({ connectionString: `${cluster.url}?options=-c%20idle_in_transaction_session_timeout%3D200`, schema: "idle", logger: QUIET });
    try {
      await expect(
        store.transaction(async (tx) => {
          await tx.append("order", "o-1", [event("Lost")]);
          await sleep(600);
          await tx.append("order", "o-2", [event("Lost too")]);
        }),
      ).rejects.toThrow();
      expect(await store.read()).toEqual([]);
      await store.append("order", "o-3", [event("Kept")]);
      let first = true;
      const handled: string[] = [];
      const sub = store.subscribe({
        name: "dawdler",
        retryDelayMs: 1,
        handler: async (e, tx) => {
          await tx.db.selectNoFrom((eb) => eb.lit(1).as("one")).execute();
          if (first) {
            first = false;
            await sleep(600); // the server ends this session meanwhile
          }
          handled.push(e.type);
        },
      });
      await sub.caughtUp();
      expect(handled.at(-1)).toBe("Kept");
      await sub.stop();
    } finally {
      await store.close();
    }
  });
});
