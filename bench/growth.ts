/**
 * W9: the log as it grows. One log is filled (server-side, `generate_series`, streams of 10 events
 * of W1's payload, half a million per transaction) to each size of BENCH_GROWTH (default 1,000,000
 * and 10,000,000), then vacuumed and analyzed as autovacuum would; at the empty log and at each size
 * it measures W1's appends, W3's load of a 1,000-event stream, a read of a 100-event page after the
 * middle of the log, a subscription catching up over 20,000 events from there, and the bytes each
 * event takes. Draws bench/results/growth.svg.
 */
import { writeFile } from "node:fs/promises";
import { sql } from "kysely";
import pg from "pg";
import { connect, type Store } from "../src/index.js";
import { positionOf } from "../src/log/position.js";
import { panelsChart } from "./chart.js";
import { analyzed, CONNECTIONS, Item, type Measure, oneEventAppends, payload, REPETITIONS, repeat, type Row, schemaName, timedLoad, url } from "./harness.js";

const SIZES = (process.env.BENCH_GROWTH ?? "1000000,10000000").split(",").map(Number);
const FILL_CHUNK = 500_000;
const EVENTS_PER_FILLED_STREAM = 10;
const CATCH_UP_EVENTS = 20_000;
const PAGE = 100;

/** What W9 measures at one size of the log. */
interface Stage {
  readonly events: number;
  readonly appends: Measure;
  readonly load: Measure;
  readonly page: Measure;
  readonly catchUp: Measure;
  readonly bytes: { readonly total: number; readonly table: number; readonly indexes: number };
}

/** Fills one log to each size in turn and measures it there; rows for the largest size against the empty log. */
export async function w9(): Promise<Row[]> {
  const pool = new pg.Pool({ connectionString: url, max: CONNECTIONS });
  const store = await connect({ pool, schema: schemaName() });
  try {
    const stages = [await measure(store, 0)];
    let filled = 0;
    for (const size of SIZES) {
      filled = await fill(store, filled, size);
      stages.push(await measure(store, stages.length));
    }
    await writeFile(new URL("./results/growth.svg", import.meta.url), chart(stages));
    return rowsOf(stages);
  } finally {
    await store.db.schema.dropSchema(store.schema).cascade().execute();
    await store.close();
    await pool.end();
  }
}

/** Adds filler events until the log holds `size`; resolves to how many filler events there are. */
async function fill(store: Store, filled: number, size: number): Promise<number> {
  const events = sql.id(store.schema, "events");
  let count = await countOf(store);
  while (count < size) {
    const chunk = Math.min(FILL_CHUNK, size - count);
    await sql`
      insert into ${events} (aggregate_type, aggregate_id, version, type, data, event_id)
      select 'item', 'fill-' || ((n - 1) / ${EVENTS_PER_FILLED_STREAM}), ((n - 1) % ${EVENTS_PER_FILLED_STREAM}) + 1, 'Added', ${JSON.stringify(payload)}::jsonb, gen_random_uuid()
      from generate_series(${filled + 1}::bigint, ${filled + chunk}::bigint) n`.execute(store.db);
    filled += chunk;
    count += chunk;
  }
  // As autovacuum would (the visibility map); the measures analyze the table once their own events are in.
  await sql`vacuum ${events}`.execute(store.db);
  return filled;
}

const countOf = async (store: Store) =>
  Number((await sql<{ count: string }>`select count(*) as count from ${sql.id(store.schema, "events")}`.execute(store.db)).rows[0]!.count);

/** W9's measures on the log as it is; `stage` keeps each stage's streams apart. */
async function measure(store: Store, stage: number): Promise<Stage> {
  const events = await countOf(store);
  let run = 0;
  const appends = await repeat(() => oneEventAppends(3000, `w1-${stage}-${run++}`)(store), { repetitions: 3 * REPETITIONS });

  const items = store.repository(Item);
  const hot = `hot-${stage}`;
  for (let written = 0; written < 1000; written += 100) await items.update(hot, () => Array.from({ length: 100 }, () => Item.events.Added(payload)));
  const load = await repeat(() => timedLoad(1000, async () => (await items.load(hot)).version), { repetitions: 7 * REPETITIONS, inTurns: false });

  // What the log holds now, W1's and W3's events included (on the "empty" log, only those), with
  // the planner's statistics as autovacuum would have gathered them.
  const present = await countOf(store);
  await analyzed(store);
  const middle = await middleOf(store, present);
  const page = await repeat(
    async () => {
      const started = performance.now();
      const read = await store.read({ aggregateTypes: ["item"], after: middle, limit: PAGE });
      if (read.length !== PAGE) throw new Error(`read ${read.length} events`);
      return performance.now() - started;
    },
    { repetitions: 7 * REPETITIONS, inTurns: false },
  );

  let subscription = 0;
  const catchUp = await repeat(async () => {
    // The events after the middle one.
    const target = Math.min(CATCH_UP_EVENTS, present - Math.floor(present / 2) - 1);
    let handled = 0;
    let done!: () => void;
    const reached = new Promise<void>((resolve) => (done = resolve));
    const started = performance.now();
    const sub = store.subscribe({
      name: `catch-up-${stage}-${subscription++}`,
      aggregateTypes: ["item"],
      startFrom: middle,
      batchSize: 500,
      handleBatch: (batch) => {
        handled += batch.length;
        if (handled >= target) done();
      },
    });
    await reached;
    const elapsed = (performance.now() - started) / 1000;
    await sub.stop();
    return handled / elapsed;
  });

  const table = `"${store.schema}".events`;
  const { rows } = await sql<{ total: string; table: string; indexes: string }>`
    select pg_total_relation_size(${table}::regclass) as total, pg_table_size(${table}::regclass) as table, pg_indexes_size(${table}::regclass) as indexes`.execute(
    store.db,
  );
  const perEvent = (bytes: string) => Number(bytes) / present;
  return { events, appends, load, page, catchUp, bytes: { total: perEvent(rows[0]!.total), table: perEvent(rows[0]!.table), indexes: perEvent(rows[0]!.indexes) } };
}

/** The position of the event in the middle of the log, in commit order. */
async function middleOf(store: Store, events: number): Promise<string> {
  const { rows } = await sql<{ tx: string; seq: string }>`
    select transaction_id::text as tx, sequence::text as seq from ${sql.id(store.schema, "events")}
    order by transaction_id, sequence offset ${Math.floor(events / 2)} limit 1`.execute(store.db);
  return positionOf(rows[0]!.tx, rows[0]!.seq);
}

const sizeLabel = (events: number) => (events === 0 ? "empty" : events < 1000 ? String(events) : events < 1e6 ? `${Math.round(events / 1e3)}k` : `${(events / 1e6).toFixed(1).replace(/\.0$/, "")}M`);
const single = (value: number): Measure => ({ median: value, min: value, max: value });

function chart(stages: ReadonlyArray<Stage>): string {
  return panelsChart(
    "W9: the log as it grows (median, min–max), PostgreSQL",
    stages.map((stage) => (stage.events === 0 ? "empty log" : `${sizeLabel(stage.events)} events`)),
    [
      { title: "W1 one-event appends", unit: "events/s (higher is better)", values: stages.map((stage) => stage.appends) },
      { title: "W3 load 1,000 events", unit: "ms (lower is better)", values: stages.map((stage) => stage.load) },
      { title: "read 100 after the middle", unit: "ms (lower is better)", values: stages.map((stage) => stage.page) },
      { title: "catch-up from the middle", unit: "events/s (higher is better)", values: stages.map((stage) => stage.catchUp) },
      { title: "size per event", unit: "bytes, table + indexes", values: stages.map((stage) => single(stage.bytes.total)) },
    ],
  );
}

/** One row per measure: at the largest size, beside each smaller one (the ratio is largest over smaller). */
function rowsOf(stages: ReadonlyArray<Stage>): Row[] {
  const last = stages.at(-1)!;
  const size = sizeLabel(last.events);
  const beside = (pick: (stage: Stage) => Measure) =>
    Object.fromEntries(stages.slice(0, -1).map((stage) => [stage.events === 0 ? "empty log" : `at ${sizeLabel(stage.events)}`, pick(stage)]));
  const empty = stages[0]!;
  return [
    {
      workload: `W9 one-event appends to new streams, 8 connections, on a log of ${size} events`,
      unit: "events/s",
      meowmx: last.appends,
      variants: beside((stage) => stage.appends),
      target: "within 20% of the empty log",
      met: last.appends.median >= 0.8 * empty.appends.median,
    },
    {
      workload: `W9 load and fold a 1,000-event stream, on a log of ${size} events`,
      unit: "ms",
      meowmx: last.load,
      variants: beside((stage) => stage.load),
      target: "within 20% of the empty log",
      met: last.load.median <= 1.2 * empty.load.median,
    },
    { workload: `W9 read ${PAGE} events of a category after the middle of a log of ${size} events`, unit: "ms", meowmx: last.page, variants: beside((stage) => stage.page) },
    {
      workload: `W9 subscription catch-up over ${CATCH_UP_EVENTS.toLocaleString("en")} events from the middle of a log of ${size} events`,
      unit: "events/s",
      meowmx: last.catchUp,
      variants: beside((stage) => stage.catchUp),
    },
    {
      workload: `W9 bytes per event at ${size} events (table ${Math.round(last.bytes.table)}, indexes ${Math.round(last.bytes.indexes)})`,
      unit: "bytes",
      meowmx: single(last.bytes.total),
      variants: beside((stage) => single(stage.bytes.total)),
    },
  ];
}
