import type { Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { definitionsByType } from "../aggregates/check-events.js";
import { causationTree } from "../log/causation-tree.js";
import { StreamCatalog } from "../log/stream-catalog.js";
import { InvalidArgumentError } from "../errors.js";
import type { Projection } from "../projections/define-projection.js";
import { ProjectionStates } from "../tables/projection-states.js";
import { ProjectionVersions } from "../tables/projection-versions.js";
import type { Store } from "../store/store.js";
import { eventHandlerOf } from "../subscriptions/subscription-config.js";
import type { ExplorerOptions } from "./options.js";
import type { LagHistory } from "./lag-history.js";

/** What the routes read and change. */
export interface RouteContext {
  readonly store: Store;
  readonly options: ExplorerOptions;
  /** The write token, when writes are allowed. */
  readonly token: string | undefined;
  readonly history: LagHistory;
  /** Aborted when the explorer closes: ends the live streams. */
  readonly closing: AbortSignal;
}

/** A rebuild started from the page: how far it got, and how it ended. */
interface RebuildRun {
  readonly total: number;
  events: number;
  state: "running" | "done" | "failed";
  result?: { events: number; keys: number };
  error?: string;
}

const PAGE_LIMIT = { default: 50, max: 500 };

/** The JSON API the page reads (and, with writes allowed, changes the store through). */
export function mountRoutes(app: Hono, { store, options, token, history, closing }: RouteContext): void {
  const catalog = new StreamCatalog(store.schema);
  const states = new ProjectionStates(store.schema);
  const versions = new ProjectionVersions(store.schema);
  const aggregates = definitionsByType(options.aggregates ?? []);
  const projections = new Map((options.projections ?? []).map((projection) => [projection.name, projection]));
  const subscriptions = new Map((options.subscriptions ?? []).map((subscription) => [subscription.name, subscription]));
  const rebuilds = new Map<string, RebuildRun>();

  app.get("/api/session", (c) =>
    c.json({
      backend: store.backendKind,
      schema: store.schema,
      allowWrites: token !== undefined,
      token: token ?? null,
      aggregates: [...aggregates.keys()],
    }),
  );

  app.get("/api/categories", async (c) => c.json(await catalog.categories(store.db)));

  app.get("/api/streams", async (c) => {
    const type = required(c, "type");
    return c.json(await catalog.streams(store.db, type, { search: c.req.query("search"), limit: limit(c), offset: whole(c, "offset", 0) }));
  });

  app.get("/api/stream", async (c) => {
    const type = required(c, "type");
    const id = required(c, "id");
    const [last] = await store.load(type, id, { direction: "backward", limit: 1 });
    const events = await store.load(type, id, { fromVersion: whole(c, "from", 1), limit: limit(c) });
    return c.json({ aggregateType: type, aggregateId: id, version: last?.version ?? 0, hasDefinition: aggregates.has(type), events });
  });

  app.get("/api/state", async (c) => {
    const type = required(c, "type");
    const aggregate = aggregates.get(type);
    if (aggregate === undefined) return c.json({ error: `no aggregate of type ${type} in the config file` }, 404);
    const version = whole(c, "version", 1);
    const events = await store.revealPersonalData(await store.load(type, required(c, "id"), { toVersion: version }));
    try {
      const parsed = events.map((event) => aggregate.parseEvent(event)).filter((event) => event !== undefined);
      return c.json({ version: events.at(-1)?.version ?? 0, state: aggregate.fold(parsed) });
    } catch (error) {
      return c.json({ error: `the events do not fold: ${error instanceof Error ? error.message : String(error)}` }, 422);
    }
  });

  app.get("/api/events", async (c) => {
    const type = c.req.query("type") || undefined;
    const events = await store.read({ direction: "backward", before: c.req.query("before") || undefined, limit: limit(c), aggregateTypes: type === undefined ? undefined : [type] });
    return c.json(events);
  });

  app.get("/api/live", (c) => {
    const type = c.req.query("type") || undefined;
    const after = c.req.query("after") || undefined;
    return streamSSE(c, async (stream) => {
      const stop = new AbortController();
      const abort = () => stop.abort();
      stream.onAbort(abort);
      closing.addEventListener("abort", abort);
      try {
        const events = store.follow({ after, aggregateTypes: type === undefined ? undefined : [type], signal: stop.signal, maxSleepMs: 1000 });
        for await (const event of events) await stream.writeSSE({ data: JSON.stringify(event), id: event.position });
      } finally {
        closing.removeEventListener("abort", abort);
      }
    });
  });

  app.get("/api/subscriptions", async (c) => {
    const rows = await store.subscriptionStatus();
    return c.json({ rows, history: history.snapshot(), replayable: [...subscriptions.keys()] });
  });

  app.get("/api/parked", async (c) => c.json(await store.parkedEvents(required(c, "name"))));

  app.post("/api/replay-parked", async (c) => {
    const name = required(c, "name");
    const subscription = subscriptions.get(name);
    if (subscription === undefined) return c.json({ error: `no subscription named ${name} in the config file: its handler is needed to replay` }, 404);
    return c.json({ replayed: await store.replayParked(name, eventHandlerOf(subscription)) });
  });

  app.get("/api/projections", async (c) => {
    const byName = <R extends { name: string }>(rows: R[]) => new Map(rows.map((row) => [row.name, row]));
    const [stored, recorded] = await Promise.all([states.summaries(store.db).then(byName), versions.all(store.db).then(byName)]);
    const names = new Set([...projections.keys(), ...stored.keys(), ...recorded.keys()]);
    return c.json(
      [...names].sort().map((name) => ({
        name,
        defined: projections.has(name),
        definedVersion: projections.get(name)?.version ?? null,
        builtVersion: recorded.get(name)?.version ?? null,
        rebuiltAt: recorded.get(name)?.rebuiltAt ?? null,
        keys: stored.get(name)?.keys ?? 0,
        lastChange: stored.get(name)?.lastChange ?? null,
        rebuild: rebuilds.get(name) ?? null,
      })),
    );
  });

  app.get("/api/projection-states", async (c) => c.json(await states.page(store.db, required(c, "name"), c.req.query("after") ?? "", limit(c))));

  app.post("/api/rebuild", async (c) => {
    const name = required(c, "name");
    const projection = projections.get(name);
    if (projection === undefined) return c.json({ error: `no projection named ${name} in the config file` }, 404);
    if (rebuilds.get(name)?.state === "running") return c.json({ error: `${name} is being rebuilt` }, 409);
    const run = startRebuild(store, projection, await catalog.countEvents(store.db, projection.aggregateTypes));
    rebuilds.set(name, run);
    return c.json(run, 202);
  });

  app.get("/api/trace", async (c) => c.json(causationTree(await store.correlated(required(c, "correlationId")))));
}

function startRebuild(store: Store, projection: Projection<any, any>, total: number): RebuildRun {
  const run: RebuildRun = { total, events: 0, state: "running" };
  store
    .projection(projection)
    .rebuild({ onProgress: (progress) => (run.events = progress.events) })
    .then(
      (result) => Object.assign(run, { state: "done", events: result.events, result: { events: result.events, keys: result.keys } }),
      (error: unknown) => Object.assign(run, { state: "failed", error: error instanceof Error ? error.message : String(error) }),
    );
  return run;
}

function required(c: Context, name: string): string {
  const value = c.req.query(name);
  if (value === undefined || value === "") throw new InvalidArgumentError(`the query parameter ${name} is required`);
  return value;
}

function whole(c: Context, name: string, fallback: number): number {
  const text = c.req.query(name);
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw new InvalidArgumentError(`the query parameter ${name} must be a whole number, got ${text}`);
  return value;
}

function limit(c: Context): number {
  const value = whole(c, "limit", PAGE_LIMIT.default);
  if (value < 1 || value > PAGE_LIMIT.max) throw new InvalidArgumentError(`limit must be between 1 and ${PAGE_LIMIT.max}, got ${value}`);
  return value;
}
