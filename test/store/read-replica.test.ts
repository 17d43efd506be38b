import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Logger, type NewEvent, type RecordedEvent, type Store, withEventMetadata } from "../../src/index.js";
import { CustomerTotals, Order } from "../support/aggregates.js";
import { enabledBackends } from "../support/backends.js";
import { eventually, holdOpen, sleep } from "../support/eventually.js";
import { QUIET, recordingLogger } from "../support/quiet-logger.js";
import { serverBinaries, startThrowawayCluster, type ThrowawayCluster } from "../support/throwaway-cluster.js";

const event = (type: string): NewEvent => ({ type, data: { type } });
const typesOf = (events: ReadonlyArray<RecordedEvent>) => events.map((e) => e.type);

const onPostgres = enabledBackends().includes("postgres");
const binaries = await serverBinaries();
if (onPostgres && binaries === undefined) console.warn("read replica tests skipped: no PostgreSQL server binaries (initdb, pg_basebackup) to make a primary and a standby with");

// A primary and a hot standby of this file's own: replay is paused, the standby stopped and started.
describe.runIf(onPostgres && binaries !== undefined)("a read replica: a hot standby of a throwaway PostgreSQL", () => {
  let primary: ThrowawayCluster;
  let standby: ThrowawayCluster;
  const stores: Store[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    const started = await startThrowawayCluster();
    if (started === undefined) throw new Error("no PostgreSQL server binaries to start a throwaway cluster with");
    primary = started;
    standby = await primary.standby();
  }, 120_000);
  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await Promise.all(stores.map((store) => store.close()));
    await standby?.destroy();
    await primary?.destroy();
  });

  /** A store on the primary reading from the standby, once the standby has its tables. */
  async function newStore(schema: string, logger: Logger = QUIET): Promise<Store> {
    const store = await connect({ connectionString: primary.url, schema, readReplica: { connectionString: standby.url }, logger });
    stores.push(store);
    await replayed();
    return store;
  }

  /** Waits until the standby has replayed everything the primary has written so far. */
  async function replayed(): Promise<void> {
    const lsn = (await primary.psql("select pg_current_wal_lsn()")).trim();
    await eventually(async () => (await standby.psql(`select pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn`)).trim() === "t", 30_000, "the standby to replay");
  }

  const pauseReplay = () => standby.psql("select pg_wal_replay_pause()");
  const resumeReplay = () => standby.psql("select pg_wal_replay_resume()");

  it("reads the log from the replica, and appends, loads, repositories and checkpoints on the primary", async () => {
    const store = await newStore("routing");
    await store.append("order", "o-1", [Order.events.OrderCreated({ customerId: "c-1", total: 5 })]);
    await replayed();
    await pauseReplay();
    try {
      await withEventMetadata({ correlationId: "request-1" }, () => store.append("order", "o-1", [Order.events.OrderShipped({ trackingCode: "t-1" })]));
      // The primary has both; the paused replica only the first.
      expect(typesOf(await store.load("order", "o-1"))).toEqual(["OrderCreated", "OrderShipped"]);
      expect((await store.repository(Order).load("o-1")).version).toBe(2);
      expect(typesOf(await store.read())).toEqual(["OrderCreated"]);
      expect(await store.correlated("request-1")).toEqual([]);
      const all: RecordedEvent[] = [];
      for await (const e of store.readAll()) all.push(e);
      expect(typesOf(all)).toEqual(["OrderCreated"]);
      // A transaction reads on the primary.
      expect(typesOf(await store.transaction((tx) => tx.read()))).toEqual(["OrderCreated", "OrderShipped"]);
      // A subscription reads its batches from the replica and keeps its checkpoint on the primary.
      const seen: string[] = [];
      const sub = store.subscribe({ name: "routing", handler: (e) => void seen.push(e.type) });
      await eventually(async () => seen.length === 1, 10_000, "the replica's event");
      const [status] = await store.subscriptionStatus("routing");
      expect(status).toMatchObject({ lag: 1, replica: { reachable: true, replayPaused: true } });
      expect(status!.replica!.replayLagBytes).toBeGreaterThan(0);
      await sleep(300);
      expect(seen).toEqual(["OrderCreated"]);
      await resumeReplay();
      await sub.caughtUp();
      expect(seen).toEqual(["OrderCreated", "OrderShipped"]);
      expect(typesOf(await store.correlated("request-1"))).toEqual(["OrderShipped"]);
      await replayed();
      const [after] = await store.subscriptionStatus("routing");
      expect(after).toMatchObject({ lag: 0, replica: { reachable: true, replayLagBytes: 0, replayPaused: false } });
      await sub.stop();
    } finally {
      await resumeReplay();
    }
  }, 60_000);

  it("rebuilds a projection from a lagging replica's pages and the primary's rest", async () => {
    const store = await newStore("rebuild");
    for (let n = 0; n < 5; n++) await store.append("order", `o-${n}`, [Order.events.OrderCreated({ customerId: "c-1", total: 1 })]);
    await replayed();
    await pauseReplay();
    try {
      for (let n = 5; n < 8; n++) await store.append("order", `o-${n}`, [Order.events.OrderCreated({ customerId: "c-1", total: 1 })]);
      const totals = store.projection(CustomerTotals);
      await totals.rebuild({ batchSize: 2 });
      // The replica had 5; the swap folds what it lacked on the primary, in the swap's transaction.
      expect(await totals.get("c-1")).toEqual({ orders: 8, total: 8, refunded: 0 });
    } finally {
      await resumeReplay();
    }
  }, 60_000);

  it("answers from the primary a read of tables the standby has not replayed yet, and stays with the standby", async () => {
    const logger = recordingLogger();
    await pauseReplay();
    try {
      // Created on the primary while replay is paused: the standby has no such schema yet.
      const store = await connect({ connectionString: primary.url, schema: "unreplayed", readReplica: { connectionString: standby.url }, logger });
      stores.push(store);
      await store.append("order", "o-1", [event("A")]);
      expect(typesOf(await store.read())).toEqual(["A"]);
      await resumeReplay();
      await replayed();
      await pauseReplay();
      await store.append("order", "o-1", [event("B")]);
      // Read from the standby again, which has the table now but not the new event.
      expect(typesOf(await store.read())).toEqual(["A"]);
      expect(logger.warnings.filter((w) => /read replica/.test(w))).toEqual([]);
    } finally {
      await resumeReplay();
    }
  }, 60_000);

  it("holds readers of the standby behind a transaction still open on the primary, as on the primary", async () => {
    const store = await newStore("held");
    const slow = await holdOpen(store, (tx) => tx.append("order", "slow", [event("Slow")]));
    await store.append("order", "fast", [event("Fast")]);
    // The standby has replayed the later transaction's commit, and still shows nothing: the earlier
    // one is open on the primary, and its event would come first.
    await replayed();
    expect((await standby.psql(`select count(*) from held.events where aggregate_id = 'fast'`)).trim()).toBe("1");
    expect(await store.read()).toEqual([]);
    await pauseReplay();
    try {
      await slow.release();
      // Committed on the primary, not yet replayed: the reader still waits.
      expect(await store.read()).toEqual([]);
    } finally {
      await resumeReplay();
    }
    await eventually(async () => (await store.read()).length === 2, 10_000, "both events on the standby");
    expect(typesOf(await store.read())).toEqual(["Slow", "Fast"]);
  }, 60_000);

  it("handles every event once and in order from the standby, while writers hold transactions open and replay pauses", async () => {
    const store = await newStore("paused");
    const handled: RecordedEvent[] = [];
    const sub = store.subscribe({ name: "paused", batchSize: 25, maxSleepMs: 200, handler: (e) => void handled.push(e) });
    let writing = true;
    let written = 0;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let n = 0; writing; n++) {
        const stream = `w${w}-${n % 5}`;
        if (n % 3 === 0) {
          // Open a while, so that later transactions commit first.
          await store.transaction(async (tx) => {
            await tx.append("order", stream, [event("E")]);
            await sleep(Math.random() * 30);
          });
        } else {
          await store.append("order", stream, [event("E"), event("E")]);
        }
        written += n % 3 === 0 ? 1 : 2;
        await sleep(2);
      }
    });
    const stalls: Array<[number, number]> = [];
    for (let round = 0; round < 4; round++) {
      await sleep(300);
      await pauseReplay();
      // What the replica had when it paused is handled (until 300 ms pass without a new event); then
      // nothing more while it stays paused.
      let atPause = -1;
      for (let look = 0; look < 20 && atPause !== handled.length; look++) {
        atPause = handled.length;
        await sleep(300);
      }
      await sleep(600);
      stalls.push([atPause, handled.length]);
      await resumeReplay();
    }
    writing = false;
    await Promise.all(writers);
    await sub.caughtUp();
    await sub.stop();
    for (const [before, after] of stalls) expect(after).toBe(before);
    expect(new Set(stalls.map(([count]) => count)).size).toBe(stalls.length);
    expect(handled).toHaveLength(written);
    expect(new Set(handled.map((e) => e.id)).size).toBe(written);
    // In the log's order, and each stream by version.
    const log: RecordedEvent[] = [];
    for await (const e of store.readAll()) log.push(e);
    expect(handled.map((e) => e.id)).toEqual(log.map((e) => e.id));
    const versions = new Map<string, number>();
    for (const e of handled) {
      expect(e.version).toBe((versions.get(e.aggregateId) ?? 0) + 1);
      versions.set(e.aggregateId, e.version);
    }
  }, 120_000);

  it("builds a read model with two partitions across two worker processes that read from the standby", async () => {
    const store = await newStore("workers");
    await primary.psql(`create table workers.handled (seq bigserial primary key, stream text not null, version int not null, worker int not null)`);
    await replayed();
    const spawnWorker = () => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", join(import.meta.dirname, "../subscriptions/worker-process.ts"), primary.url, "workers", "1000", "handler", standby.url, "2"],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      children.push(child);
      return new Promise<ChildProcess>((resolve) => child.stdout!.once("data", () => resolve(child)));
    };
    const workers = await Promise.all([spawnWorker(), spawnWorker()]);
    const total = 600;
    for (let n = 0; n < total - 3; n += 3) await store.append("order", `s-${n % 40}`, [event("E"), event("E"), event("E")]);
    const handled = async () => (await primary.psql(`select count(*) || ' ' || count(distinct (stream, version)) from workers.handled`)).trim();
    await eventually(async () => (await handled()) === `${total - 3} ${total - 3}`, 60_000, "every event handled once");
    // The workers read from the standby: what it has not replayed, they do not handle.
    await pauseReplay();
    try {
      await store.append("order", "last", [event("E"), event("E"), event("E")]);
      await sleep(1000);
      expect(await handled()).toBe(`${total - 3} ${total - 3}`);
    } finally {
      await resumeReplay();
    }
    await eventually(async () => (await handled()) === `${total} ${total}`, 30_000, "the last events handled once");
    // Each stream's versions were written in order.
    const disorder = await primary.psql(
      `select count(*) from (select version, lag(version) over (partition by stream order by seq) as previous from workers.handled) v where previous is not null and version <> previous + 1`,
    );
    expect(disorder.trim()).toBe("0");
    for (const worker of workers) worker.kill("SIGTERM");
  }, 120_000);

  it("reads from the primary while the standby is down, says so once, and reads from the standby again once it is back", async () => {
    const logger = recordingLogger();
    const { warnings } = logger;
    const store = await newStore("fallback", logger);
    await store.append("order", "o-1", [event("Before")]);
    const seen: string[] = [];
    const sub = store.subscribe({ name: "fallback", handler: (e) => void seen.push(e.type) });
    await standby.stop();
    try {
      await store.append("order", "o-1", [event("While")]);
      for (let n = 0; n < 5; n++) expect(typesOf(await store.read())).toEqual(["Before", "While"]);
      expect(warnings.filter((w) => /read replica does not answer/.test(w))).toHaveLength(1);
      await sub.caughtUp();
      expect(seen).toEqual(["Before", "While"]);
    } finally {
      await standby.start();
    }
    await replayed();
    await pauseReplay();
    try {
      await store.append("order", "o-1", [event("After")]);
      // Back on the standby, whose replay is paused: the new event is not there yet.
      await eventually(async () => (await store.read()).length === 2, 20_000, "reads from the standby again");
      expect(warnings.filter((w) => /read replica answers again/.test(w))).toHaveLength(1);
    } finally {
      await resumeReplay();
    }
    await eventually(async () => (await store.read()).length === 3, 10_000, "the standby to catch up");
    await sub.caughtUp();
    expect(seen).toEqual(["Before", "While", "After"]);
    await sub.stop();
  }, 90_000);

  it("refuses a replica for the embedded database, or one given twice", async () => {
    await expect(connect({ dataDir: "memory://", readReplica: { connectionString: standby.url } })).rejects.toThrow(/needs PostgreSQL/);
    await expect(connect({ connectionString: primary.url, schema: "refused", readReplica: {} as never })).rejects.toThrow(/connectionString or a pool/);
  });
});
