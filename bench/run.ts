/**
 * `npm run bench`: meowmx against raw INSERTs on the same PostgreSQL, each workload on a fresh
 * schema, with a warm-up and several repetitions; prints medians, spreads and ratios, and writes
 * bench/results/latest.json. DATABASE_URL picks the server (default the local one).
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import pg from "pg";
import { z } from "zod";
import { CommandHandler, STREAM_DOES_NOT_EXIST } from "@event-driven-io/emmett";
import { getPostgreSQLEventStore, type PostgresEventStore } from "@event-driven-io/emmett-postgresql";
import { connect, defineAggregate, defineProjection, type Store } from "../src/index.js";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REPETITIONS = Number(process.env.BENCH_REPETITIONS ?? 3);
const CONNECTIONS = 8;
const payload = { customerId: "customer-0001", sku: "SKU-12345-ABCDE", quantity: 3, price: 129.99, note: "x".repeat(150) };

const Item = defineAggregate({
  type: "item",
  events: { Added: z.object({ customerId: z.string(), sku: z.string(), quantity: z.number(), price: z.number(), note: z.string() }) },
  initialState: { count: 0, total: 0 },
  evolve: {
    Added: (draft, data) => {
      draft.count += 1;
      draft.total += data.quantity * data.price;
    },
  },
});

interface Row {
  workload: string;
  unit: string;
  meowmx: Measure;
  emmett?: Measure;
  raw?: Measure;
  target?: string;
  /** Whether the target was met, where the run can tell. */
  met?: boolean;
}
interface Measure {
  median: number;
  min: number;
  max: number;
}

const schemaName = () => `bench_${randomBytes(4).toString("hex")}`;

async function withStore<T>(work: (store: Store) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: url, max: CONNECTIONS });
  const store = await connect({ pool, schema: schemaName() });
  try {
    return await work(store);
  } finally {
    await store.db.schema.dropSchema(store.schema).cascade().execute();
    await store.close();
    await pool.end();
  }
}

/** Emmett keeps its tables in the public schema: each run gets a database of its own. */
async function withEmmett<T>(work: (store: PostgresEventStore) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const database = schemaName();
  await admin.query(`create database ${database}`);
  const target = new URL(url);
  target.pathname = `/${database}`;
  const store = getPostgreSQLEventStore(target.toString());
  try {
    await store.schema.migrate();
    return await work(store);
  } finally {
    await store.close();
    await dropWhenIdle(admin, database);
    await admin.end();
  }
}

/** Drops a database once the connections of the store that used it have gone (they close lazily). */
async function dropWhenIdle(admin: pg.Client, database: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.query(`drop database ${database}`);
      return;
    } catch (error) {
      if (attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function withRawTable<T>(work: (pool: pg.Pool, table: string) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: url, max: CONNECTIONS });
  const table = schemaName();
  await pool.query(`create table ${table} (id bigserial primary key, stream text not null, version int not null, type text not null, data jsonb not null, unique (stream, version))`);
  try {
    return await work(pool, table);
  } finally {
    await pool.query(`drop table ${table}`);
    await pool.end();
  }
}

/** Runs `count` jobs over `workers` concurrent loops; resolves to the elapsed seconds. */
async function concurrently(count: number, workers: number, job: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next < count) await job(next++);
  }));
  return (performance.now() - started) / 1000;
}

async function repeat(run: () => Promise<number>): Promise<Measure> {
  await run(); // warm-up
  const values: number[] = [];
  for (let i = 0; i < REPETITIONS; i++) values.push(await run());
  values.sort((a, b) => a - b);
  return { median: values[Math.floor(values.length / 2)]!, min: values[0]!, max: values.at(-1)! };
}

async function w1(): Promise<Row> {
  const n = 3000;
  const meowmx = await repeat(() =>
    withStore(async (store) => n / (await concurrently(n, CONNECTIONS, (i) => store.append("item", `s-${i}`, [{ type: "Added", data: payload }], { expectedVersion: 0 })))),
  );
  const raw = await repeat(() =>
    withRawTable(async (pool, table) =>
      n / (await concurrently(n, CONNECTIONS, (i) => pool.query(`insert into ${table} (stream, version, type, data) values ($1, 1, 'Added', $2)`, [`s-${i}`, payload]))),
    ),
  );
  const emmett = await repeat(() =>
    withEmmett(async (store) =>
      n / (await concurrently(n, CONNECTIONS, (i) => store.appendToStream(`item-s-${i}`, [{ type: "Added", data: payload }], { expectedStreamVersion: STREAM_DOES_NOT_EXIST }))),
    ),
  );
  return {
    workload: "W1 one-event appends to new streams, 8 connections",
    unit: "events/s",
    meowmx,
    emmett,
    raw,
    target: ">= 2x Emmett, >= 0.7x raw",
    met: meowmx.median >= 2 * emmett.median && meowmx.median >= 0.7 * raw.median,
  };
}

async function w2(): Promise<Row> {
  const appends = 300;
  const batch = Array.from({ length: 100 }, () => ({ type: "Added", data: payload }));
  const meowmx = await repeat(() =>
    withStore(async (store) => (appends * 100) / (await concurrently(appends, CONNECTIONS, (i) => store.append("item", `s-${i}`, batch, { expectedVersion: 0 })))),
  );
  const raw = await repeat(() =>
    withRawTable(async (pool, table) =>
      (appends * 100) /
      (await concurrently(appends, CONNECTIONS, (i) =>
        pool.query(`insert into ${table} (stream, version, type, data) select $1, v, 'Added', $2 from generate_series(1, 100) v`, [`s-${i}`, payload]),
      )),
    ),
  );
  const emmett = await repeat(() =>
    withEmmett(async (store) =>
      (appends * 100) /
      (await concurrently(appends, CONNECTIONS, (i) => store.appendToStream(`item-s-${i}`, batch, { expectedStreamVersion: STREAM_DOES_NOT_EXIST }))),
    ),
  );
  return {
    workload: "W2 100-event appends, 8 connections",
    unit: "events/s",
    meowmx,
    emmett,
    raw,
    target: ">= 3x Emmett, >= 0.5x raw",
    met: meowmx.median >= 3 * emmett.median && meowmx.median >= 0.5 * raw.median,
  };
}

async function w3(events: number, snapshotEvery: number | undefined): Promise<Row> {
  const aggregate = snapshotEvery === undefined ? Item : defineAggregate({ type: "item", events: Item.schemas, initialState: Item.initialState, evolve: Item.reducers, snapshotEvery });
  const meowmx = await withStore(async (store) => {
    const items = store.repository(aggregate);
    for (let written = 0; written < events; written += 100) {
      await items.update("hot", () => Array.from({ length: 100 }, () => Item.events.Added(payload)));
    }
    return repeat(async () => {
      const started = performance.now();
      const { version } = await items.load("hot");
      if (version !== events) throw new Error(`loaded ${version} events, expected ${events}`);
      return performance.now() - started;
    });
  });
  const emmett = await withEmmett(async (store) => {
    for (let written = 0; written < events; written += 100) {
      await store.appendToStream("item-hot", Array.from({ length: 100 }, () => ({ type: "Added", data: payload })));
    }
    type Added = { type: "Added"; data: typeof payload };
    const evolve = (state: { count: number; total: number }, event: Added) => ({
      count: state.count + 1,
      total: state.total + event.data.quantity * event.data.price,
    });
    return repeat(async () => {
      const started = performance.now();
      const { state } = await store.aggregateStream<{ count: number; total: number }, Added>("item-hot", {
        evolve,
        initialState: () => ({ count: 0, total: 0 }),
      });
      if (state.count !== events) throw new Error(`Emmett folded ${state.count} events, expected ${events}`);
      return performance.now() - started;
    });
  });
  const ratio = snapshotEvery === undefined ? 0.5 : 0.1;
  return {
    workload: `W3 load and fold a ${events.toLocaleString("en")}-event stream${snapshotEvery === undefined ? "" : `, snapshot every ${snapshotEvery}`}`,
    unit: "ms",
    meowmx,
    emmett,
    target: `<= ${ratio}x Emmett's time`,
    met: meowmx.median <= ratio * emmett.median,
  };
}

async function w5(events: number): Promise<Row> {
  const meowmx = await withStore(async (store) => {
    await store.db.schema.createTable(`${store.schema}.read_model`).addColumn("id", "text").addColumn("version", "integer").execute();
    for (let written = 0; written < events; written += 1000) {
      await store.append("item", `s-${written}`, Array.from({ length: 1000 }, () => ({ type: "Added", data: payload })));
    }
    let run = 0;
    return repeat(async () => {
      const started = performance.now();
      const sub = store.subscribe({
        name: `catch-up-${run++}`,
        batchSize: 500,
        handler: async (event, tx) => {
          await tx.db.insertInto(`${store.schema}.read_model`).values({ id: event.aggregateId, version: event.version }).execute();
        },
      });
      await sub.caughtUp();
      const elapsed = (performance.now() - started) / 1000;
      await sub.stop();
      return events / elapsed;
    });
  });
  return { workload: `W5 subscription catch-up over ${events.toLocaleString("en")} events, one row per event through tx`, unit: "events/s", meowmx };
}

/**
 * Commit-to-handler latency at a steady rate: the writer is another store, so the subscriber hears
 * of commits only through LISTEN (or, with `listen: false`, by polling).
 */
async function w6(listen: boolean): Promise<Row> {
  const rate = 200;
  const seconds = 5;
  const latencies: number[] = [];
  await withStore(async (writer) => {
    const subscriber = await connect({ connectionString: url, schema: writer.schema, listen });
    try {
      const committed = new Map<string, number>();
      const sub = subscriber.subscribe({
        name: "latency",
        handler: (event) => {
          const at = committed.get(event.aggregateId);
          if (at !== undefined) latencies.push(performance.now() - at);
        },
      });
      await sub.caughtUp();
      const started = performance.now();
      for (let i = 0; i < rate * seconds; i++) {
        const due = started + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        await writer.append("item", `l-${i}`, [{ type: "Added", data: payload }]);
        committed.set(`l-${i}`, performance.now());
      }
      await sub.caughtUp();
    } finally {
      await subscriber.close();
    }
  });
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return {
    workload: `W6 commit-to-handler latency at ${rate} appends/s, ${listen ? "LISTEN" : "polling alone"} (p50; min-max is p1-p99)`,
    unit: "ms",
    meowmx: { median: at(0.5), min: at(0.01), max: at(0.99) },
    target: listen ? "p50 <= 5 ms, p99 <= 50 ms" : undefined,
    met: listen ? at(0.5) <= 5 && at(0.99) <= 50 : undefined,
  };
}

async function w8(events: number): Promise<Row> {
  const Totals = defineProjection({
    name: "customer-totals",
    from: [Item],
    key: (event) => event.data.customerId,
    initialState: { items: 0, total: 0 },
    evolve: {
      item: {
        Added: (draft, data) => {
          draft.items += data.quantity;
          draft.total += data.quantity * data.price;
        },
      },
    },
  });
  const meowmx = await withStore(async (store) => {
    for (let written = 0; written < events; written += 1000) {
      const batch = Array.from({ length: 1000 }, (_, i) => Item.events.Added({ ...payload, customerId: `c-${(written + i) % 1000}` }));
      await store.append("item", `s-${written}`, batch);
    }
    const totals = store.projection(Totals);
    return repeat(async () => {
      const started = performance.now();
      const result = await totals.rebuild();
      if (result.events !== events || result.keys !== 1000) throw new Error(`rebuilt ${result.events} events into ${result.keys} keys`);
      return events / ((performance.now() - started) / 1000);
    });
  });
  return { workload: `W8 projection rebuild over ${events.toLocaleString("en")} events into 1,000 keys`, unit: "events/s", meowmx };
}

/** 8 concurrent commands at a time on one stream, each adding an event after reading the state. */
async function w4(commands: number): Promise<Row> {
  const failures = { meowmx: 0, emmett: 0 };
  const meowmx = await repeat(() =>
    withStore(async (store) => {
      const items = store.repository(Item);
      const id = `hot-${randomBytes(4).toString("hex")}`;
      const seconds = await concurrently(commands, 8, () =>
        items.update(id, (state) => Item.events.Added({ ...payload, quantity: state.count + 1 }), { maxAttempts: 100 }).catch(() => failures.meowmx++),
      );
      return commands / seconds;
    }),
  );
  const emmett = await repeat(() =>
    withEmmett(async (store) => {
      const handle = CommandHandler({
        evolve: (state: { count: number }) => ({ count: state.count + 1 }),
        initialState: () => ({ count: 0 }),
        retry: { onVersionConflict: 100 },
      });
      const id = `item-hot-${randomBytes(4).toString("hex")}`;
      const seconds = await concurrently(commands, 8, () =>
        handle(store, id, (state) => ({ type: "Added", data: { ...payload, quantity: state.count + 1 } })).catch(() => failures.emmett++),
      );
      return commands / seconds;
    }),
  );
  return {
    workload: `W4 ${commands} commands, 8 at a time on one stream, with retries (failed: meowmx ${failures.meowmx}, Emmett ${failures.emmett})`,
    unit: "commands/s",
    meowmx,
    emmett,
    target: ">= 3x Emmett, no command fails",
    met: meowmx.median >= 3 * emmett.median && failures.meowmx === 0,
  };
}

/** Memory: `readAll` over a large log must stream it, not hold it. */
async function w7(events: number): Promise<Row> {
  const growth = await withStore(async (store) => {
    const batch = Array.from({ length: 1000 }, () => ({ type: "Added", data: payload }));
    await concurrently(events / 1000, CONNECTIONS, (i) => store.append("item", `m-${i}`, batch));
    globalThis.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    let read = 0;
    for await (const _event of store.readAll({ pageSize: 1000 })) {
      if (++read % 10_000 === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
    if (read !== events) throw new Error(`read ${read} events, expected ${events}`);
    return (peak - before) / 1024 / 1024;
  });
  return {
    workload: `W7 RSS growth while readAll streams ${events.toLocaleString("en")} events`,
    unit: "MB",
    meowmx: { median: growth, min: growth, max: growth },
    target: "< 100 MB",
    met: growth < 100,
  };
}

const format = (m: Measure | undefined, unit: string) =>
  m === undefined ? "" : `${m.median.toFixed(unit === "ms" ? 2 : 0)} (${m.min.toFixed(unit === "ms" ? 2 : 0)}–${m.max.toFixed(unit === "ms" ? 2 : 0)})`;

const rows: Row[] = [];
// BENCH_ONLY=W3,W8 runs some workloads only.
const only = process.env.BENCH_ONLY?.split(",");
const workloads: Array<[string, () => Promise<Row>]> = [
  ["W1", w1],
  ["W2", w2],
  ["W3", () => w3(1000, undefined)],
  ["W3", () => w3(10_000, undefined)],
  ["W3", () => w3(10_000, 100)],
  ["W4", () => w4(400)],
  ["W5", () => w5(20_000)],
  ["W6", () => w6(true)],
  ["W6", () => w6(false)],
  ["W7", () => w7(1_000_000)],
  ["W8", () => w8(100_000)],
];
for (const [id, workload] of workloads) {
  if (only !== undefined && !only.includes(id)) continue;
  const row = await workload();
  rows.push(row);
  const parts = [`meowmx ${format(row.meowmx, row.unit)} ${row.unit}`];
  if (row.emmett) parts.push(`Emmett ${format(row.emmett, row.unit)} (meowmx/Emmett ${(row.meowmx.median / row.emmett.median).toFixed(2)})`);
  if (row.raw) parts.push(`raw ${format(row.raw, row.unit)} (meowmx/raw ${(row.meowmx.median / row.raw.median).toFixed(2)})`);
  const verdict = row.target === undefined ? "" : `  [target ${row.target}: ${row.met ? "met" : "MISSED"}]`;
  console.log(`${row.workload}: ${parts.join(", ")}${verdict}`);
}
await mkdir(new URL("./results/", import.meta.url), { recursive: true });
await writeFile(new URL("./results/latest.json", import.meta.url), `${JSON.stringify({ at: new Date().toISOString(), repetitions: REPETITIONS, rows }, null, 2)}\n`);
console.log("written to bench/results/latest.json (median and min–max of the repetitions)");
