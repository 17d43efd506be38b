/**
 * `npm run bench`: meowmx beside Emmett's PostgreSQL event store and raw INSERTs on the same
 * PostgreSQL, each workload on a fresh schema or database, with a warm-up and several repetitions;
 * prints medians, spreads and ratios, then meowmx alone on embedded PGlite for information, and
 * writes bench/results/latest.json. DATABASE_URL picks the server (default the local one).
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import pg from "pg";
import { z } from "zod";
import { CommandHandler, STREAM_DOES_NOT_EXIST } from "@event-driven-io/emmett";
import { postgreSQLEventStoreConsumer } from "@event-driven-io/emmett-postgresql";
import { connect, defineAggregate, defineProjection, type RecordedEvent, type Store } from "../src/index.js";
import {
  analyzed,
  CONNECTIONS,
  concurrently,
  Item,
  type Measure,
  median,
  mode,
  oneEventAppends,
  payload,
  REPETITIONS,
  repeat,
  type Row,
  sideBySide,
  timedLoad,
  url,
  withEmmett,
  withEmmettUnlessEmbedded,
  withRawTable,
  withStore,
} from "./harness.js";
import { ratiosChart } from "./chart.js";
import { w9 } from "./growth.js";

/** One-event appends to new streams from `appenders` at once, each contender with as many connections. */
function oneEventAppendsSideBySide(appenders: number) {
  const n = 3000;
  // Runs are short and the machine's noise is not: three times the repetitions (W2 too).
  return sideBySide({
    meowmx: () => withStore(oneEventAppends(n, "s", appenders), {}, appenders),
    emmett: () =>
      withEmmett(
        async (store) =>
          n / (await concurrently(n, appenders, (i) => store.appendToStream(`item-s-${i}`, [{ type: "Added", data: payload }], { expectedStreamVersion: STREAM_DOES_NOT_EXIST }))),
        appenders,
      ),
    raw: () =>
      withRawTable(
        async (pool, table) =>
          n / (await concurrently(n, appenders, (i) => pool.query(`insert into ${table} (stream, version, type, data) values ($1, 1, 'Added', $2)`, [`s-${i}`, payload]))),
        appenders,
      ),
  }, { repetitions: 3 * REPETITIONS });
}

async function w1(): Promise<Row> {
  const { meowmx, emmett, raw } = await oneEventAppendsSideBySide(CONNECTIONS);
  return {
    workload: "W1 one-event appends to new streams, 8 connections",
    unit: "events/s",
    meowmx,
    emmett,
    raw,
    target: ">= 3x Emmett, >= 1.0x raw",
    met: meowmx.median >= 3 * median(emmett) && meowmx.median >= median(raw),
  };
}

/** W1 with 64 appenders at once, where many appends wait for the same commits. */
async function w1Crowd(): Promise<Row> {
  const { meowmx, emmett, raw } = await oneEventAppendsSideBySide(64);
  return { workload: "W1c one-event appends to new streams, 64 appenders and connections", unit: "events/s", meowmx, emmett, raw };
}

/**
 * What observability costs an append that asks for none: W1 with `@opentelemetry/api` loaded and no
 * SDK registered (the default when the API is installed), against `telemetry: false`, and against
 * that without the partial index on correlation ids.
 */
async function w1Observability(): Promise<Row> {
  const n = 3000;
  const { meowmx, off, unindexed } = await sideBySide(
    {
      meowmx: () => withStore(oneEventAppends(n)),
      off: () => withStore(oneEventAppends(n), { telemetry: false }),
      unindexed: () =>
        withStore(async (store) => {
          await store.db.schema.withSchema(store.schema).dropIndex("events_correlation_idx").execute();
          return oneEventAppends(n)(store);
        }, { telemetry: false }),
    },
    { repetitions: 3 * REPETITIONS },
  );
  return {
    workload: "W1o W1 with @opentelemetry/api loaded and no SDK",
    unit: "events/s",
    meowmx,
    variants: { "telemetry: false": off!, "telemetry: false, no correlation index": unindexed! },
    target: ">= 0.97x telemetry: false",
    met: meowmx.median >= 0.97 * off!.median,
  };
}

/** W1 with an OpenTelemetry SDK registered that records every span and drops it, against `telemetry: false`. */
async function w1WithSdk(): Promise<Row> {
  const { context, trace } = await import("@opentelemetry/api");
  const { AsyncLocalStorageContextManager } = await import("@opentelemetry/context-async-hooks");
  const { BasicTracerProvider, SimpleSpanProcessor } = await import("@opentelemetry/sdk-trace-base");
  // Registered for this workload only.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor({ export: (_, done) => done({ code: 0 }), shutdown: async () => {} })] }));
  const n = 3000;
  const { meowmx, off } = await sideBySide(
    { meowmx: () => withStore(oneEventAppends(n)), off: () => withStore(oneEventAppends(n), { telemetry: false }) },
    { repetitions: 3 * REPETITIONS },
  ).finally(() => {
    trace.disable();
    context.disable();
  });
  return { workload: "W1s W1 with an OpenTelemetry SDK and a no-op exporter", unit: "events/s", meowmx, variants: { "telemetry: false": off! } };
}

async function w2(): Promise<Row> {
  const appends = 300;
  const batch = Array.from({ length: 100 }, () => ({ type: "Added", data: payload }));
  const { meowmx, emmett, raw } = await sideBySide({
    meowmx: () =>
      withStore(async (store) => (appends * 100) / (await concurrently(appends, CONNECTIONS, (i) => store.append("item", `s-${i}`, batch, { expectedVersion: 0 })))),
    emmett: () =>
      withEmmett(async (store) =>
        (appends * 100) /
        (await concurrently(appends, CONNECTIONS, (i) => store.appendToStream(`item-s-${i}`, batch, { expectedStreamVersion: STREAM_DOES_NOT_EXIST }))),
      ),
    raw: () =>
      withRawTable(async (pool, table) =>
        (appends * 100) /
        (await concurrently(appends, CONNECTIONS, (i) =>
          pool.query(`insert into ${table} (stream, version, type, data) select $1, v, 'Added', $2 from generate_series(1, 100) v`, [`s-${i}`, payload]),
        )),
      ),
  }, { repetitions: 3 * REPETITIONS });
  return {
    workload: "W2 100-event appends, 8 connections",
    unit: "events/s",
    meowmx,
    emmett,
    raw,
    target: ">= 3x Emmett, >= 0.5x raw",
    met: meowmx.median >= 3 * median(emmett) && meowmx.median >= 0.5 * median(raw),
  };
}

/** Item as a later release defines it: Added's quantity became a count, with one step for the stored shape. */
const ItemEvolved = defineAggregate({
  type: "item",
  events: { Added: z.object({ customerId: z.string(), sku: z.string(), count: z.number(), price: z.number(), note: z.string() }) },
  initialState: { count: 0, total: 0 },
  evolve: {
    Added: (draft, data) => {
      draft.count += 1;
      draft.total += data.count * data.price;
    },
  },
  upcast: { Added: [{ from: Item.schemas.Added, up: ({ quantity, ...rest }) => ({ ...rest, count: quantity }) }] },
});

/**
 * What lifting costs a load: a stream stored by Item (schema version 1) loaded through ItemEvolved,
 * which lifts every event by one step, beside W3 as it is (Item over its own events), and a stream
 * ItemEvolved wrote itself (nothing to lift: within 5% of W3 is the target).
 */
async function w3Upcast(events: number): Promise<Row> {
  const timed = (load: () => Promise<number>) => timedLoad(events, load);
  const evolvedPayload = (({ quantity, ...rest }) => ({ ...rest, count: quantity }))(payload);
  const { meowmx, current, lifted } = await withStore(async (store) => {
    for (let written = 0; written < events; written += 100) {
      await store.repository(Item).update("old", () => Array.from({ length: 100 }, () => Item.events.Added(payload)));
      await store.repository(ItemEvolved).update("new", () => Array.from({ length: 100 }, () => ItemEvolved.events.Added(evolvedPayload)));
    }
    return sideBySide(
      {
        meowmx: () => timed(async () => (await store.repository(Item).load("old")).version),
        current: () => timed(async () => (await store.repository(ItemEvolved).load("new")).version),
        lifted: () => timed(async () => (await store.repository(ItemEvolved).load("old")).version),
      },
      { repetitions: 7 * REPETITIONS, inTurns: false },
    );
  });
  return {
    workload: `W3u load and fold a ${events.toLocaleString("en")}-event stream: W3 as it is, and through a definition with one upcast step`,
    unit: "ms",
    meowmx,
    variants: { "with upcasters, nothing to lift": current!, "every event lifted one step": lifted! },
    target: "nothing to lift within 5% of W3",
    met: current!.median <= 1.05 * meowmx.median,
  };
}

async function w3(events: number, snapshotEvery: number | undefined): Promise<Row> {
  const aggregate = snapshotEvery === undefined ? Item : defineAggregate({ type: "item", events: Item.schemas, initialState: Item.initialState, evolve: Item.reducers, snapshotEvery });
  type Added = { type: "Added"; data: typeof payload };
  const evolve = (state: { count: number; total: number }, event: Added) => ({
    count: state.count + 1,
    total: state.total + event.data.quantity * event.data.price,
  });
  const timed = (load: () => Promise<number>) => timedLoad(events, load);
  // Loads are short: more repetitions steady the medians.
  const { meowmx, emmett } = await withStore((store) =>
    withEmmettUnlessEmbedded(async (emmettStore) => {
      const items = store.repository(aggregate);
      for (let written = 0; written < events; written += 100) {
        await items.update("hot", () => Array.from({ length: 100 }, () => Item.events.Added(payload)));
        await emmettStore?.appendToStream("item-hot", Array.from({ length: 100 }, () => ({ type: "Added", data: payload })));
      }
      return sideBySide(
        {
          meowmx: () => timed(async () => (await items.load("hot")).version),
          emmett: () =>
            timed(async () => {
              const { state } = await emmettStore!.aggregateStream<{ count: number; total: number }, Added>("item-hot", {
                evolve,
                initialState: () => ({ count: 0, total: 0 }),
              });
              return state.count;
            }),
        },
        { repetitions: 7 * REPETITIONS, inTurns: false },
      );
    }),
  );
  const ratio = snapshotEvery === undefined ? 0.5 : 0.1;
  return {
    workload: `W3 load and fold a ${events.toLocaleString("en")}-event stream${snapshotEvery === undefined ? "" : `, snapshot every ${snapshotEvery}`}`,
    unit: "ms",
    meowmx,
    emmett,
    target: `<= ${ratio}x Emmett's time`,
    met: meowmx.median <= ratio * median(emmett),
  };
}

/**
 * meowmx catching up over `events` events with a subscription that writes them into a read model
 * table: one row per event through `handler`, or one multi-row insert per batch through `handleBatch`.
 */
function meowmxCatchUp(events: number, perBatch: boolean): Promise<Measure> {
  const batch = Array.from({ length: 1000 }, () => ({ type: "Added", data: payload }));
  return withStore(async (store) => {
    const table = `${store.schema}.read_model`;
    await store.db.schema.createTable(table).addColumn("id", "text").addColumn("version", "integer").execute();
    for (let written = 0; written < events; written += 1000) await store.append("item", `s-${written}`, batch);
    await analyzed(store);
    const rows = (handled: RecordedEvent[]) => handled.map((event) => ({ id: event.aggregateId, version: event.version }));
    let run = 0;
    return repeat(async () => {
      const started = performance.now();
      const name = `catch-up-${run++}`;
      const sub = perBatch
        ? store.subscribe({ name, batchSize: 500, handleBatch: async (handled, tx) => void (await tx.db.insertInto(table).values(rows(handled)).execute()) })
        : store.subscribe({ name, batchSize: 500, handler: async (event, tx) => void (await tx.db.insertInto(table).values(rows([event])).execute()) });
      await sub.caughtUp();
      const elapsed = (performance.now() - started) / 1000;
      await sub.stop();
      return events / elapsed;
    });
  });
}

/** Emmett's consumer as W5 measured it, for W5b: the same work, one row per event. */
let emmettConsumer: Measure | undefined;

/**
 * W5 with one call per batch: a multi-row insert per batch through `handleBatch`. Emmett 0.42's
 * consumer has no working batch handler (`eachBatch` is in its types, but its processor only ever
 * calls `eachMessage`), so the comparison is with its consumer as W5 measured it in this run.
 */
async function w5Batch(events: number): Promise<Row> {
  const meowmx = await meowmxCatchUp(events, true);
  return {
    workload: `W5b subscription catch-up over ${events.toLocaleString("en")} events, one multi-row insert per batch (handleBatch; Emmett: its consumer as in W5)`,
    unit: "events/s",
    meowmx,
    ...(mode.embedded || emmettConsumer === undefined ? {} : { emmett: emmettConsumer }),
    target: ">= 5x Emmett's consumer",
    met: meowmx.median >= 5 * median(emmettConsumer),
  };
}

async function w5(events: number): Promise<Row> {
  const batch = Array.from({ length: 1000 }, () => ({ type: "Added", data: payload }));
  const meowmx = await meowmxCatchUp(events, false);
  // Emmett's consumer handles each batch in one transaction too, storing its checkpoint per message.
  const emmett = mode.embedded ? undefined : await withEmmett(async (store, connectionString) => {
    const admin = new pg.Client({ connectionString });
    await admin.connect();
    await admin.query("create table read_model (id text, version integer)");
    await admin.end();
    for (let written = 0; written < events; written += 1000) await store.appendToStream(`item-s-${written}`, batch);
    await analyzed(connectionString);
    let run = 0;
    return repeat(async () => {
      let handled = 0;
      const consumer = postgreSQLEventStoreConsumer({ connectionString, pulling: { batchSize: 500 }, stopWhen: { noMessagesLeft: true } });
      consumer.reactor({
        processorId: `catch-up-${run++}`,
        startFrom: "BEGINNING",
        eachMessage: async (message, context) => {
          await context.connection.client.query("insert into read_model (id, version) values ($1, $2)", [
            message.metadata.streamName,
            Number(message.metadata.streamPosition),
          ]);
          handled++;
        },
      });
      const started = performance.now();
      await consumer.start();
      const elapsed = (performance.now() - started) / 1000;
      await consumer.close();
      if (handled !== events) throw new Error(`Emmett's consumer handled ${handled} events, expected ${events}`);
      return events / elapsed;
    });
  });
  emmettConsumer = emmett;
  return {
    workload: `W5 subscription catch-up over ${events.toLocaleString("en")} events, one row per event through tx`,
    unit: "events/s",
    meowmx,
    emmett,
    target: ">= 5x Emmett's consumer",
    met: meowmx.median >= 5 * median(emmett),
  };
}

const LATENCY_RATE = 200;
const LATENCY_SECONDS = 5;

/** Appends one event per stream `l-<i>` at a steady {@link LATENCY_RATE}, noting when each append returned. */
async function steadyAppends(append: (stream: string) => Promise<unknown>, committed: Map<string, number>): Promise<void> {
  const started = performance.now();
  for (let i = 0; i < LATENCY_RATE * LATENCY_SECONDS; i++) {
    const wait = started + (i * 1000) / LATENCY_RATE - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    await append(`l-${i}`);
    committed.set(`l-${i}`, performance.now());
  }
}

/** p50 as the median, p1 and p99 as the spread. */
function percentiles(latencies: number[]): Measure {
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { median: at(0.5), min: at(0.01), max: at(0.99) };
}

/**
 * Commit-to-handler latency at a steady rate: the writer is another store, so the subscriber hears
 * of commits only through LISTEN (or, with `listen: false`, by polling). Emmett's consumer, which
 * polls, runs the same workload beside the LISTEN run.
 */
async function w6(listen: boolean): Promise<Row> {
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
      await steadyAppends((stream) => writer.append("item", stream, [{ type: "Added", data: payload }]), committed);
      await sub.caughtUp();
    } finally {
      await subscriber.close();
    }
  });
  const emmett = listen ? await emmettLatency() : undefined;
  const meowmx = percentiles(latencies);
  return {
    workload: `W6 commit-to-handler latency at ${LATENCY_RATE} appends/s, ${listen ? "LISTEN" : "polling alone"} (p50; min-max is p1-p99)`,
    unit: "ms",
    meowmx,
    emmett,
    target: listen ? "p50 <= 5 ms, p99 <= 50 ms" : undefined,
    met: listen ? meowmx.median <= 5 && meowmx.max <= 50 : undefined,
  };
}

/** W6 for Emmett: its consumer, polling every 50 ms as by default. */
async function emmettLatency(): Promise<Measure> {
  const latencies: number[] = [];
  await withEmmett(async (store, connectionString) => {
    const committed = new Map<string, number>();
    const consumer = postgreSQLEventStoreConsumer({ connectionString });
    consumer.reactor({
      processorId: "latency",
      startFrom: "BEGINNING",
      eachMessage: (message) => {
        const at = committed.get(message.metadata.streamName.slice("item-".length));
        if (at !== undefined) latencies.push(performance.now() - at);
      },
    });
    const running = consumer.start();
    await steadyAppends((stream) => store.appendToStream(`item-${stream}`, [{ type: "Added", data: payload }]), committed);
    const deadline = performance.now() + 30_000;
    while (latencies.length < committed.size && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await consumer.close();
    await running;
  });
  return percentiles(latencies);
}

const CustomerTotals = defineProjection({
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

/** Appends `events` Added events, 1,000 per stream, the nth for customer `c-<n % customers>`. */
async function appendForCustomers(store: Store, events: number, customers: number): Promise<void> {
  await concurrently(events / 1000, CONNECTIONS, (stream) =>
    store.append("item", `s-${stream}`, Array.from({ length: 1000 }, (_, i) => Item.events.Added({ ...payload, customerId: `c-${(stream * 1000 + i) % customers}` }))),
  );
  await analyzed(store);
}

async function w8(events: number): Promise<Row> {
  const meowmx = await withStore(async (store) => {
    await appendForCustomers(store, events, 1000);
    const totals = store.projection(CustomerTotals);
    return repeat(async () => {
      const started = performance.now();
      const result = await totals.rebuild();
      if (result.events !== events || result.keys !== 1000) throw new Error(`rebuilt ${result.events} events into ${result.keys} keys`);
      return events / ((performance.now() - started) / 1000);
    });
  });
  return {
    workload: `W8 projection rebuild over ${events.toLocaleString("en")} events into 1,000 keys`,
    unit: "events/s",
    meowmx,
    target: ">= 50,000 events/s",
    met: meowmx.median >= 50_000,
  };
}

/** Memory: a rebuild into as many keys as events folds a batch at a time, never every state at once. */
async function w8Keys(keys: number): Promise<Row> {
  const { growth, rate } = await withStore(async (store) => {
    await appendForCustomers(store, keys, keys);
    globalThis.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampling = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const started = performance.now();
    const result = await store.projection(CustomerTotals).rebuild();
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampling);
    if (result.events !== keys || result.keys !== keys) throw new Error(`rebuilt ${result.events} events into ${result.keys} keys`);
    return { growth: (Math.max(peak, process.memoryUsage().rss) - before) / 1024 / 1024, rate: keys / seconds };
  });
  return {
    workload: `W8b RSS growth while a projection is rebuilt into ${keys.toLocaleString("en")} keys (one event each; ${rate.toFixed(0)} events/s)`,
    unit: "MB",
    meowmx: { median: growth, min: growth, max: growth },
    target: "< 200 MB",
    met: growth < 200,
  };
}

/** 8 concurrent commands at a time on one stream, each adding an event after reading the state. */
async function w4(commands: number): Promise<Row> {
  const failures = { meowmx: 0, emmett: 0 };
  const { meowmx, emmett } = await sideBySide({
    meowmx: () =>
      withStore(async (store) => {
        const items = store.repository(Item);
        const id = `hot-${randomBytes(4).toString("hex")}`;
        const seconds = await concurrently(commands, 8, () =>
          items.update(id, (state) => Item.events.Added({ ...payload, quantity: state.count + 1 }), { maxAttempts: 100 }).catch(() => failures.meowmx++),
        );
        return commands / seconds;
      }),
    emmett: () =>
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
  });
  return {
    workload: `W4 ${commands} commands, 8 at a time on one stream, with retries (failed: meowmx ${failures.meowmx}, Emmett ${failures.emmett})`,
    unit: "commands/s",
    meowmx,
    emmett,
    target: ">= 3x Emmett, no command fails",
    met: meowmx.median >= 3 * median(emmett) && failures.meowmx === 0,
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

await mkdir(new URL("./results/", import.meta.url), { recursive: true });
const rows: Row[] = [];
// BENCH_ONLY=W3,W8 runs some workloads only; BENCH_PGLITE=0 skips the PGlite runs.
const only = process.env.BENCH_ONLY?.split(",");
const workloads: Array<[string, () => Promise<Row | Row[]>]> = [
  ["W1", w1],
  ["W1c", w1Crowd],
  ["W2", w2],
  ["W3", () => w3(1000, undefined)],
  ["W3", () => w3(10_000, undefined)],
  ["W3", () => w3(10_000, 100)],
  ["W3u", () => w3Upcast(1000)],
  ["W3u", () => w3Upcast(10_000)],
  ["W4", () => w4(400)],
  ["W5", () => w5(100_000)],
  ["W5b", () => w5Batch(100_000)],
  ["W6", () => w6(true)],
  ["W6", () => w6(false)],
  ["W7", () => w7(1_000_000)],
  ["W8", () => w8(100_000)],
  ["W8b", () => w8Keys(1_000_000)],
  ["W1o", w1Observability],
  ["W1s", w1WithSdk],
  ["W9", w9],
];
// W6 needs a writer in another process, which an embedded database cannot have.
const onPglite = process.env.BENCH_PGLITE === "0" ? [] : workloads.filter(([id]) => !["W6", "W1c", "W1o", "W1s", "W8b", "W9"].includes(id));
for (const [backend, list] of [["PostgreSQL", workloads], ["PGlite", onPglite]] as const) {
  mode.embedded = backend === "PGlite";
  const chosen = list.filter(([id]) => only === undefined || only.includes(id));
  if (chosen.length > 0) console.log(`\n${backend}${mode.embedded ? " (embedded, in memory; meowmx alone, for information)" : ""}:`);
  for (const [, workload] of chosen) {
    for (const measured of [await workload()].flat()) {
      const row: Row = mode.embedded ? { workload: measured.workload, unit: measured.unit, meowmx: measured.meowmx, backend } : { ...measured, backend };
      rows.push(row);
      const parts = [`meowmx ${format(row.meowmx, row.unit)} ${row.unit}`];
      if (row.emmett) parts.push(`Emmett ${format(row.emmett, row.unit)} (meowmx/Emmett ${(row.meowmx.median / row.emmett.median).toFixed(2)})`);
      if (row.raw) parts.push(`raw ${format(row.raw, row.unit)} (meowmx/raw ${(row.meowmx.median / row.raw.median).toFixed(2)})`);
      for (const [name, measure] of Object.entries(row.variants ?? {})) {
        parts.push(`${name} ${format(measure, row.unit)} (ratio ${(row.meowmx.median / measure.median).toFixed(3)})`);
      }
      const verdict = row.target === undefined ? "" : `  [target ${row.target}: ${row.met ? "met" : "MISSED"}]`;
      console.log(`${row.workload}: ${parts.join(", ")}${verdict}`);
    }
  }
}
await writeFile(new URL("./results/latest.json", import.meta.url), `${JSON.stringify({ at: new Date().toISOString(), repetitions: REPETITIONS, rows }, null, 2)}\n`);
const postgresRows = rows.filter((row) => row.backend === "PostgreSQL");
if (postgresRows.some((row) => row.emmett !== undefined || row.raw !== undefined)) {
  await writeFile(new URL("./results/latest.svg", import.meta.url), ratiosChart(`npm run bench, ${new Date().toISOString().slice(0, 10)}: meowmx beside Emmett and raw INSERTs (PostgreSQL)`, postgresRows));
}
console.log("written to bench/results/latest.json (median and min–max of the repetitions) and, with Emmett or raw beside meowmx, latest.svg");
