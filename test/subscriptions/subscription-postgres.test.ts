import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { sql } from "kysely";
import pg from "pg";
import { afterEach, expect, it } from "vitest";
import { connect, type NewEvent, type Store } from "../../src/index.js";
import { describePostgres, postgresUrl } from "../support/backends.js";
import { eventually, holdOpen, readSettled, sleep } from "../support/eventually.js";
import { QUIET, recordingLogger } from "../support/quiet-logger.js";

const event = (type: string): NewEvent => ({ type, data: { type } });
describePostgres("subscriptions across connections and processes", ({ newStore, newSchema, query }) => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
  });

  it("is held back by an open transaction in another database of the same server too (the horizon is cluster-wide)", async () => {
    const store = await newStore();
    const other = new URL(postgresUrl());
    other.pathname = "/postgres";
    const client = new pg.Client({ connectionString: other.toString() });
    await client.connect();
    try {
      await client.query("begin");
      await client.query("select pg_current_xact_id()");
      await store.append("order", "o-1", [event("Waiting")]);
      expect(await store.read()).toEqual([]);
      await client.query("commit");
      expect((await readSettled(store)).map((e) => e.type)).toEqual(["Waiting"]);
    } finally {
      await client.end();
    }
  });

  it("waits for a transaction held open, then handles its event before the later one", async () => {
    const store = await newStore();
    const seen: string[] = [];
    const sub = store.subscribe({ name: "waiting", handler: (e) => void seen.push(e.type) });
    const a = await holdOpen(store, (tx) => tx.append("order", "a", [event("A")]));
    await store.append("order", "b", [event("B")]);
    await sleep(300);
    expect(seen).toEqual([]);
    await a.release();
    await sub.caughtUp();
    expect(seen).toEqual(["A", "B"]);
  });

  it("shows which open transaction holds events back, and warns past a threshold", async () => {
    const logger = recordingLogger();
    const { warnings } = logger;
    const store = await newStore({ logger });
    const seen: string[] = [];
    const sub = store.subscribe({ name: "held", heldBackWarningMs: 300, maxSleepMs: 100, handler: (e) => void seen.push(e.type) });
    await sub.caughtUp();
    const open = await holdOpen(store, async (tx) => {
      await tx.append("other", "x", [event("Open")]);
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx.db);
      return rows[0]!.pid;
    });
    const pid = open.value;
    await store.append("order", "o-1", [event("Waiting")]);
    const [status] = await eventually(async () => (await sub.status())[0]!.heldBackBy !== null, 5000, "the status to show the blocker").then(() => sub.status());
    expect(status!.heldBackBy!.pid).toBe(pid);
    expect(status!.heldBackBy!.since).toBeInstanceOf(Date);
    await eventually(async () => warnings.some((w) => w.includes(`backend pid ${pid}`)), 10_000, "the warning");
    expect(seen).toEqual([]);
    await open.release();
    await sub.caughtUp();
    expect(seen).toEqual(["Open", "Waiting"]);
    expect((await sub.status())[0]!.heldBackBy).toBeNull();
  });

  it("runs one worker of a name at a time; another takes over when it stops", async () => {
    const schema = newSchema();
    const stores = await Promise.all([0, 1].map(() => connect({ connectionString: postgresUrl(), schema, logger: QUIET })));
    try {
      const handledBy: string[][] = [[], []];
      const subs = stores.map((store, i) =>
        store.subscribe({ name: "shared", leaseMs: 2000, handler: async (e) => void handledBy[i]!.push(e.aggregateId) }),
      );
      for (let i = 0; i < 30; i++) await stores[i % 2]!.append("order", `o-${i}`, [event("A")]);
      await subs[0]!.caughtUp();
      const active = handledBy[0]!.length > 0 ? 0 : 1;
      expect(handledBy[1 - active]).toEqual([]);
      expect(handledBy[active]).toHaveLength(30);
      const [status] = await stores[0]!.subscriptionStatus("shared");
      expect(status!.owner).toBe(subs[active]!.owner);
      await subs[active]!.stop();
      await stores[active]!.append("order", "after", [event("B")]);
      await subs[1 - active]!.caughtUp();
      expect(handledBy[1 - active]).toEqual(["after"]);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it("recovers when its connections and its LISTEN connection are terminated", async () => {
    const application = `meowmx-${Math.random().toString(36).slice(2)}`;
    const schema = newSchema();
    const store = await connect({ connectionString: `${postgresUrl()}?application_name=${application}`, schema, logger: QUIET });
    const writer = await newStore({ schema });
    try {
      const seen = new Set<string>();
      const sub = store.subscribe({ name: "survivor", maxSleepMs: 60_000, leaseMs: 60_000, handler: (e) => void seen.add(e.aggregateId) });
      await sub.caughtUp();
      const listeners = () =>
        query<{ pid: number }>(`select pid from pg_stat_activity where application_name = $1 and query like 'listen %'`, [application]);
      await eventually(async () => (await listeners()).length === 1, 5000, "the LISTEN connection");
      const [before] = await listeners();
      await query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1`, [application]);
      for (let i = 0; i < 20; i++) await writer.append("order", `o-${i}`, [event("A")]);
      await eventually(async () => seen.size === 20, 20_000, "every event after the connections were cut");
      await eventually(async () => (await listeners()).some((row) => row.pid !== before!.pid), 10_000, "a new LISTEN connection");
      // Woken through the new LISTEN connection: the worker's idle sleep is far longer than this wait.
      await sleep(1500);
      await writer.append("order", "late", [event("A")]);
      await eventually(async () => seen.has("late"), 1000, "a wake-up through the new LISTEN connection");
    } finally {
      await store.close();
    }
  });

  it("polls without a LISTEN connection when told not to listen", async () => {
    const application = `meowmx-${Math.random().toString(36).slice(2)}`;
    const schema = newSchema();
    const store = await connect({ connectionString: `${postgresUrl()}?application_name=${application}`, schema, listen: false, logger: QUIET });
    const writer = await newStore({ schema });
    try {
      const seen: string[] = [];
      const sub = store.subscribe({ name: "poller", maxSleepMs: 200, handler: (e) => void seen.push(e.aggregateId) });
      await sub.caughtUp();
      await writer.append("order", "o-1", [event("A")]);
      await eventually(async () => seen.includes("o-1"), 5000, "the event, by polling");
      const listening = await query(`select pid from pg_stat_activity where application_name = $1 and query like 'listen %'`, [application]);
      expect(listening).toEqual([]);
    } finally {
      await store.close();
    }
  });

  for (const mode of ["handler", "handleBatch"] as const) {
    it(`parks an event whose ${mode} ends the process, after maxAttempts (2) crashes of it alone, and handles the rest once`, async () => {
      const store: Store = await newStore();
      await query(`create table "${store.schema}".handled (seq bigserial primary key, stream text not null, version int not null, worker int not null)`);
      for (let n = 0; n < 30; n++) await store.append("order", `s-${n % 5}`, [event("E")]);
      await store.append("order", "crashing", [event("Crash")]);
      for (let n = 30; n < 60; n++) await store.append("order", `s-${n % 5}`, [event("E")]);
      const spawnWorker = () => {
        const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "worker-process.ts"), postgresUrl(), store.schema, "300", mode], {
          stdio: ["ignore", "pipe", "inherit"],
        });
        children.push(child);
        return new Promise<ChildProcess>((resolve) => child.stdout!.once("data", () => resolve(child)));
      };
      const exitCodes: Array<number | null> = [];
      let worker = await spawnWorker();
      const handled = async () => (await query<{ rows: number; distinct: number }>(
        `select count(*)::int as rows, count(distinct (stream, version))::int as distinct from "${store.schema}".handled`,
      ))[0]!;
      await eventually(async () => {
        if (worker.exitCode !== null) {
          exitCodes.push(worker.exitCode);
          worker = await spawnWorker();
        }
        return (await handled()).rows === 60 && (await store.parkedEvents("read-model")).length === 1;
      }, 90_000, "every event handled and the crashing one parked");
      await sleep(300);
      expect(await handled()).toEqual({ rows: 60, distinct: 60 });
      const [parked] = await store.parkedEvents("read-model");
      const [crashing] = await store.load("order", "crashing");
      expect(parked).toMatchObject({ position: crashing!.position, attempts: 2 });
      expect(parked!.error).toMatch(/ended the process 2 times/);
      // One crash of a batch of 20 (the next 20 events are then taken one at a time), two of the event alone.
      expect(exitCodes).toEqual([70, 70, 70]);
      worker.kill("SIGTERM");
    }, 120_000);

  it(`builds a read model exactly once with ${mode} from 3 worker processes while 8 writers append, poison events are parked and the active worker is killed twice`, async () => {
    const store: Store = await newStore();
    await query(`create table "${store.schema}".handled (seq bigserial primary key, stream text not null, version int not null, worker int not null)`);
    const spawnWorker = () => {
      const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "worker-process.ts"), postgresUrl(), store.schema, "1000", mode], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      children.push(child);
      return new Promise<ChildProcess>((resolve) => child.stdout!.once("data", () => resolve(child)));
    };
    const workers = await Promise.all([spawnWorker(), spawnWorker(), spawnWorker()]);

    const total = 5000;
    let written = 0;
    let poisons = 0;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      let n = 0;
      while (written < total) {
        const count = Math.min(1 + (n % 3), total - written);
        written += count;
        const stream = `s-${w}-${n++ % 25}`;
        // Now and then a poison event in the middle of an append: it is parked, the rest handled.
        const events = Array.from({ length: count }, (_, i) => event(n % 97 === 0 && i === count - 1 ? "Poison" : "E"));
        if (events.at(-1)!.type === "Poison") poisons++;
        if (n % 4 === 0) {
          // Some transactions stay open a while, so later ones commit first.
          await store.transaction(async (tx) => {
            await tx.append("order", stream, events);
            await sleep(Math.random() * 20);
          });
        } else {
          await store.append("order", stream, events);
        }
      }
    });

    const killActive = async () => {
      const [status] = await store.subscriptionStatus("read-model");
      const pid = Number(status?.owner?.split(":")[1]);
      const victim = workers.find((child) => child.pid === pid);
      if (victim === undefined) return false;
      victim.kill("SIGKILL");
      workers.splice(workers.indexOf(victim), 1, await spawnWorker());
      return true;
    };
    let kills = 0;
    const killer = (async () => {
      while (kills < 2) {
        await sleep(700);
        const [{ n }] = (await query<{ n: number }>(`select count(*)::int as n from "${store.schema}".handled`)) as [{ n: number }];
        if (n > 0 && n < total && (await killActive())) kills++;
        if (n >= total) break;
      }
    })();
    await Promise.all(writers);
    await killer;

    const countRows = async () =>
      (await query<{ rows: number; distinct: number }>(
        `select count(*)::int as rows, count(distinct (stream, version))::int as distinct from "${store.schema}".handled`,
      ))[0]!;
    await eventually(async () => (await countRows()).rows >= total - poisons, 90_000, "the read model to hold every event");
    await eventually(async () => (await store.parkedEvents("read-model")).length >= poisons, 30_000, "every poison event to be parked");
    await sleep(500);
    expect(poisons).toBeGreaterThan(0);
    expect(await countRows()).toEqual({ rows: total - poisons, distinct: total - poisons });
    const parked = await store.parkedEvents("read-model");
    const poisonPositions = (await readSettled(store, { limit: 10_000 })).filter((e) => e.type === "Poison").map((e) => e.position);
    expect(parked.map((p) => p.position).sort()).toEqual(poisonPositions.sort());
    expect(kills).toBe(2);
    const outOfOrder = await query(
      `select stream from (select stream, version, lag(version) over (partition by stream order by seq) as previous from "${store.schema}".handled) t
       where version <= previous`,
    );
    expect(outOfOrder).toEqual([]);
    const workersUsed = await query<{ n: number }>(`select count(distinct worker)::int as n from "${store.schema}".handled`);
    expect(workersUsed[0]!.n).toBeGreaterThanOrEqual(2);
  }, 180_000);
  }
});
