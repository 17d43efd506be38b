/** What every workload of the bench shares: the server, the payload, the contenders' stores, and how runs are measured. */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { sql } from "kysely";
import { z } from "zod";
import { getPostgreSQLEventStore, type PostgresEventStore } from "@event-driven-io/emmett-postgresql";
import { type ConnectConfig, connect, defineAggregate, type Store } from "../src/index.js";

export const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const REPETITIONS = Number(process.env.BENCH_REPETITIONS ?? 3);
export const CONNECTIONS = 8;
export const payload = { customerId: "customer-0001", sku: "SKU-12345-ABCDE", quantity: 3, price: 129.99, note: "x".repeat(150) };

export const Item = defineAggregate({
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

export interface Row {
  workload: string;
  backend?: "PostgreSQL" | "PGlite";
  unit: string;
  meowmx: Measure;
  emmett?: Measure;
  raw?: Measure;
  /** meowmx itself in other settings, by name, to compare with. */
  variants?: Record<string, Measure>;
  target?: string;
  /** Whether the target was met, where the run can tell. */
  met?: boolean;
}
export interface Measure {
  median: number;
  min: number;
  max: number;
}

export const schemaName = () => `bench_${randomBytes(4).toString("hex")}`;

/** Whether the workloads now run on embedded PGlite: meowmx alone, since the others need a server. */
export const mode = { embedded: false };

/** Runs `work` with a meowmx store on a fresh schema, through a pool of `connections` (on PostgreSQL). */
export async function withStore<T>(work: (store: Store) => Promise<T>, options: Pick<ConnectConfig, "telemetry"> = {}, connections = CONNECTIONS): Promise<T> {
  if (mode.embedded) {
    const store = await connect({ ...options, dataDir: "memory://", schema: schemaName() });
    try {
      return await work(store);
    } finally {
      await store.close();
    }
  }
  const pool = new pg.Pool({ connectionString: url, max: connections });
  const store = await connect({ ...options, pool, schema: schemaName() });
  try {
    return await work(store);
  } finally {
    await store.db.schema.dropSchema(store.schema).cascade().execute();
    await store.close();
    await pool.end();
  }
}

/** Emmett keeps its tables in the public schema: each run gets a database of its own. */
export async function withEmmett<T>(work: (store: PostgresEventStore, connectionString: string) => Promise<T>, connections?: number): Promise<T> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const database = schemaName();
  await admin.query(`create database ${database}`);
  const target = new URL(url);
  target.pathname = `/${database}`;
  // Its own pool by default (10 connections); a pool of `connections` when a workload says how many.
  const pool = connections === undefined ? undefined : new pg.Pool({ connectionString: target.toString(), max: connections });
  const store = getPostgreSQLEventStore(target.toString(), pool === undefined ? {} : { connectionOptions: { pooled: true, pool } });
  try {
    await store.schema.migrate();
    return await work(store, target.toString());
  } finally {
    await store.close();
    await pool?.end();
    await dropWhenIdle(admin, database);
    await admin.end();
  }
}

/**
 * Gathers the planner's statistics after a bulk load, as autovacuum would within a minute; measured
 * right after the load, readers would otherwise run on a freshly filled table the planner has never
 * looked at (it then sorts a whole category for every page).
 */
export async function analyzed(target: Store | string): Promise<void> {
  if (typeof target !== "string") {
    await sql`analyze ${sql.id(target.schema, "events")}`.execute(target.db);
    return;
  }
  const client = new pg.Client({ connectionString: target });
  await client.connect();
  await client.query("analyze");
  await client.end();
}

/** Runs `work` with an Emmett store, or with none on embedded PGlite. */
export function withEmmettUnlessEmbedded<T>(work: (store: PostgresEventStore | undefined) => Promise<T>): Promise<T> {
  return mode.embedded ? work(undefined) : withEmmett(work);
}

/** Drops a database once the connections of the store that used it have gone (they close lazily). */
export async function dropWhenIdle(admin: pg.Client, database: string): Promise<void> {
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

export async function withRawTable<T>(work: (pool: pg.Pool, table: string) => Promise<T>, connections = CONNECTIONS): Promise<T> {
  const pool = new pg.Pool({ connectionString: url, max: connections });
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
export async function concurrently(count: number, workers: number, job: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next < count) await job(next++);
  }));
  return (performance.now() - started) / 1000;
}

/** meowmx alone: a warm-up, then the repetitions (see {@link sideBySide} for the options). */
export async function repeat(run: () => Promise<number>, options?: { repetitions?: number; inTurns?: boolean }): Promise<Measure> {
  return (await sideBySide({ meowmx: run }, options)).meowmx;
}

/** The contenders that run on PostgreSQL only; on embedded PGlite, meowmx runs alone (its variants too). */
const NEED_A_SERVER = new Set(["emmett", "raw"]);

/**
 * Measures several contenders on one workload: a warm-up of each, then the repetitions. Long runs
 * take turns (meowmx, Emmett, raw, meowmx, ...), so that the machine drifting during the run
 * (checkpoints, disk caches) weighs on all of them alike rather than on whichever ran last. Short
 * ones (`inTurns: false`) run each contender's repetitions together, so that none pays for the
 * garbage the other left on the heap.
 */
export async function sideBySide<K extends string>(
  runs: Record<"meowmx", () => Promise<number>> & Partial<Record<K, () => Promise<number>>>,
  { repetitions = REPETITIONS, inTurns = true } = {},
): Promise<Record<"meowmx", Measure> & Partial<Record<K, Measure>>> {
  const names = Object.keys(runs).filter((name) => !mode.embedded || !NEED_A_SERVER.has(name)) as Array<K | "meowmx">;
  const values = new Map<K | "meowmx", number[]>(names.map((name) => [name, []]));
  const measure = async (name: K | "meowmx", times: number) => {
    for (let i = 0; i < times; i++) values.get(name)!.push(await runs[name]!());
  };
  if (inTurns) {
    for (const name of names) await runs[name]!(); // warm-up
    for (let i = 0; i < repetitions; i++) for (const name of names) await measure(name, 1);
  } else {
    for (const name of names) {
      globalThis.gc?.(); // from a clean heap, then a warm-up
      await runs[name]!();
      await measure(name, repetitions);
    }
  }
  return Object.fromEntries(
    names.map((name) => {
      const sorted = values.get(name)!.sort((a, b) => a - b);
      return [name, { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted.at(-1)! }];
    }),
  ) as Record<"meowmx", Measure> & Partial<Record<K, Measure>>;
}

/** A median, or NaN for a contender that did not run (so that no target counts as met). */
export const median = (measure: Measure | undefined) => measure?.median ?? NaN;

/** W1's appends through one store, to new streams `<prefix>-<i>`: how fast they go as events per second. */
export const oneEventAppends = (n: number, prefix = "s", appenders = CONNECTIONS) => async (store: Store) =>
  n / (await concurrently(n, appenders, (i) => store.append("item", `${prefix}-${i}`, [{ type: "Added", data: payload }], { expectedVersion: 0 })));

/** How long `load` takes, in milliseconds; it must load `events` events. */
export async function timedLoad(events: number, load: () => Promise<number>): Promise<number> {
  const started = performance.now();
  const loaded = await load();
  if (loaded !== events) throw new Error(`loaded ${loaded} events, expected ${events}`);
  return performance.now() - started;
}
