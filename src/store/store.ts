import { ConcurrencyError, InvalidArgumentError } from "../errors.js";
import type { AggregateIdType, Backend } from "../database/backend.js";
import type { Commits } from "../notifications/commits.js";
import { poolScope, type Scope } from "../scope/scope.js";
import { EventLog, type EventLogConfig } from "../log/event-log.js";
import { readInPages } from "../log/read-pages.js";
import type { ReadReplica } from "../database/read-replica.js";
import type { Logger } from "../logger.js";
import { migrate, migrationSql } from "../migrations/migrate.js";
import type { MigrationTarget } from "../migrations/migrations.js";
import { assertMaxAttempts, withRetries } from "../retry.js";
import { Checkpoints } from "../tables/checkpoints.js";
import { ParkedEvents } from "../tables/parked-events.js";
import type { ParkedEvent, SubscriptionStatus } from "../tables/subscription-status.js";
import { replayParked } from "../subscriptions/parked-replay.js";
import { Subscription } from "../subscriptions/subscription.js";
import type { SubscriptionConfig } from "../subscriptions/subscription-config.js";
import { Session } from "./session.js";
import type { ReadAllOptions, ReadOptions, RecordedEvent } from "../log/events.js";
import { WakeSignal } from "../notifications/wake-signal.js";
import { decodePosition } from "../log/position.js";
import type { Projection } from "../projections/define-projection.js";
import { inlineProjectionsHook } from "../projections/inline-projections.js";
import type { PersonalData } from "../personal-data/personal-data.js";
import type { Telemetry } from "../telemetry/telemetry.js";
import { checkEvents, definitionsByType, type EventCheckProgress, type EventCheckReport } from "../aggregates/check-events.js";
import type { Aggregate, AnyAggregate } from "../aggregates/define-aggregate.js";
import { ProjectionRunner } from "../projections/projection-runner.js";
import { ProjectionStates } from "../tables/projection-states.js";
import { RebuildTables } from "../tables/rebuild-tables.js";
import { ProjectionVersions } from "../tables/projection-versions.js";
import { assertLogFromThisCluster } from "../migrations/restored-log.js";

// How soon `follow` reads the replica again after the primary announced a commit it did not show,
// doubling up to the most.
const REPLAY_POLL_FIRST_MS = 10;
const REPLAY_POLL_MAX_MS = 320;

/** Options of `store.transaction`. */
export interface TransactionOptions {
  /** How many times the function runs when it keeps failing with a ConcurrencyError; default 1. */
  readonly maxAttempts?: number;
}

/** A session bound to one database transaction: what `store.transaction` passes to its function. */
export type TransactionSession = Session;

/** What a store is made of; built by `connect`. */
export interface StoreParts {
  readonly backend: Backend;
  /** What `migrate()` creates. */
  readonly target: MigrationTarget;
  /** The aggregate id type of the tables as they are. */
  readonly aggregateIdType: AggregateIdType;
  /** Announces this store's commits and wakes its workers on everyone's. */
  readonly commits: Commits;
  /** Projections folded inside every append's transaction. */
  readonly inlineProjections: ReadonlyArray<Projection<any, any>>;
  readonly logger: Logger;
  /** Where spans and metrics go. */
  readonly telemetry: Telemetry;
  /** The streaming replica that takes the reads the contract gives it; undefined: all on the primary. */
  readonly replica?: ReadReplica;
  /** Seals and opens personal data, with the store's encryptionKey. */
  readonly personalData: PersonalData;
  /** Whether small appends are sent in groups while others are in flight. */
  readonly coalesceAppends: boolean;
}

/**
 * An event store: the event log on one database, transactions over it, and the workers it runs.
 * Made by {@link connect}.
 */
export class Store extends Session {
  private readonly subscriptions = new Set<Subscription<TransactionSession>>();
  private readonly projections = new Map<string, ProjectionRunner<any, TransactionSession>>();
  private closed = false;
  private readonly stopObservingLag: () => void;

  constructor(private readonly parts: StoreParts) {
    super(scopeOf(parts));
    this.stopObservingLag = parts.telemetry.observeLag(() => this.subscriptionStatus());
  }

  /** Reads a page of committed events in global commit order (from the read replica, when there is one). */
  override read(options?: ReadOptions): Promise<RecordedEvent[]> {
    return this.scope.onReplica((log) => log.read(options));
  }

  /** Every committed event in commit order, fetched page by page in bounded memory (from the read replica, when there is one). */
  override readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent> {
    return readInPages((page) => this.read(page), options);
  }

  /** Every event of this correlation, in commit order (from the read replica, when there is one). */
  override correlated(correlationId: string): Promise<RecordedEvent[]> {
    return this.scope.onReplica((log) => log.correlated(correlationId));
  }

  /**
   * Starts a named, durable worker over the log. Its handler gets each event and a transaction that
   * also moves the checkpoint: what it writes through `tx` happens exactly once. Any number of
   * processes may run the same name; one handles it at a time.
   *
   * @example
   * ```ts
   * import { connect } from "meowmx";
   * const store = await connect();
   * const sub = store.subscribe({
   *   name: "order-read-model",
   *   aggregateTypes: ["order"],
   *   handler: async (event, tx) => {
   *     await tx.db.insertInto("orders").values({ id: event.aggregateId, status: event.type }).execute();
   *   },
   * });
   * await sub.caughtUp();
   * await sub.stop();
   * ```
   */
  subscribe<const As extends ReadonlyArray<AnyAggregate> = []>(config: SubscriptionConfig<TransactionSession, As>): Subscription<TransactionSession> {
    if (this.closed) throw new InvalidArgumentError("the store is closed");
    let stopWaking = () => {};
    const subscription: Subscription<TransactionSession> = new Subscription(config as SubscriptionConfig<TransactionSession, ReadonlyArray<AnyAggregate>>, this.scope, () => {
      this.subscriptions.delete(subscription);
      stopWaking();
    });
    this.subscriptions.add(subscription);
    stopWaking = this.parts.commits.onCommit(() => subscription.wake());
    return subscription;
  }

  /**
   * Every committed event after `after`, in commit order, and then each new one as it commits, until
   * `signal` aborts: a live tail of the log that keeps no checkpoint.
   *
   * @example
   * ```ts
   * import { connect } from "meowmx";
   * const store = await connect();
   * const stop = new AbortController();
   * for await (const event of store.follow({ aggregateTypes: ["order"], signal: stop.signal })) {
   *   console.log(event.type);
   * }
   * ```
   */
  async *follow(options: ReadAllOptions & { signal?: AbortSignal; maxSleepMs?: number } = {}): AsyncGenerator<RecordedEvent, void, undefined> {
    const signal = new WakeSignal();
    const wake = () => signal.wake();
    const stopWaking = this.parts.commits.onCommit(wake);
    options.signal?.addEventListener("abort", wake);
    let after = options.after;
    // After a commit announced by the primary that the replica has not shown yet: how soon to look
    // again, doubling up to REPLAY_POLL_MAX_MS; undefined once that has passed, or without a replica.
    let replayPoll: number | undefined;
    try {
      while (!options.signal?.aborted && !this.closed) {
        const page = await this.read({ aggregateTypes: options.aggregateTypes, after, limit: options.pageSize });
        for (const event of page) {
          if (options.signal?.aborted) return;
          yield event;
          after = event.position;
        }
        if (page.length > 0) continue;
        const idle = options.maxSleepMs ?? 1000;
        const woken = await signal.sleep(Math.min(replayPoll ?? idle, idle));
        if (woken && this.parts.replica !== undefined) replayPoll = REPLAY_POLL_FIRST_MS;
        else replayPoll = replayPoll !== undefined && replayPoll < REPLAY_POLL_MAX_MS ? replayPoll * 2 : undefined;
      }
    } finally {
      stopWaking();
      options.signal?.removeEventListener("abort", wake);
    }
  }

  /**
   * A projection in this store: `start()` runs it as a subscription (unless it is inline), `get(key)`
   * reads a state, `rebuild()` builds it again from the first event.
   *
   * @example
   * ```ts
   * import { connect } from "meowmx";
   * import { CustomerTotals } from "./customer-totals.js";
   * const store = await connect();
   * const totals = store.projection(CustomerTotals).start();
   * await totals.caughtUp();
   * console.log(await totals.get("c-1"));
   * ```
   */
  projection<S>(projection: Projection<any, S>): ProjectionRunner<S, TransactionSession> {
    const known = this.projections.get(projection.name);
    if (known !== undefined) {
      if (known.projection !== projection) throw new InvalidArgumentError(`another projection named ${projection.name} is in use in this store`);
      return known;
    }
    const runner = new ProjectionRunner<S, TransactionSession>(projection, this.scope, {
      inline: this.parts.inlineProjections.includes(projection),
      subscribe: (config) => this.subscribe(config),
    });
    this.projections.set(projection.name, runner);
    this.scope.projections.set(projection.name, projection);
    return runner;
  }

  /**
   * Reads every event of the definitions' categories through its definition, as loads will (lifted
   * by the upcasters, then validated), in constant memory; run it before deploying new definitions.
   *
   * @example
   * ```ts
   * import { connect } from "meowmx";
   * import { Order } from "./order.js";
   * const store = await connect();
   * const report = await store.checkEvents([Order]);
   * if (report.failed > 0) console.log(report.failures[0]?.message);
   * ```
   */
  checkEvents(
    aggregates: ReadonlyArray<Aggregate<string, any, any>>,
    options: { onProgress?: (progress: EventCheckProgress) => void } = {},
  ): Promise<EventCheckReport> {
    const aggregateTypes = [...definitionsByType(aggregates).keys()];
    // Page by page with their personal values opened, as loads will read them: one key query a page.
    const events = readInPages(async (page) => [...(await this.scope.reveal(await this.read(page), aggregates))], { aggregateTypes });
    return checkEvents(aggregates, events, options.onProgress);
  }

  /**
   * Every subscription's checkpoint, lag, owner and last error, per partition (or one subscription's).
   * Throws a `RestoredLogError` when the log came from another cluster (its lag would read 0).
   */
  async subscriptionStatus(name?: string): Promise<SubscriptionStatus[]> {
    const { db } = this.scope;
    await assertLogFromThisCluster(db, this.schema);
    const statuses = await this.scope.tables.checkpoints.status(db, name);
    const { replica } = this.parts;
    if (replica === undefined || statuses.length === 0) return statuses;
    const lag = await replica.status(db);
    return statuses.map((status) => ({ ...status, replica: lag }));
  }

  /**
   * Moves every partition's checkpoint of the subscription `name` to the start of the log, to its
   * end (the newest event readers can see now), or after a position. Its workers, here or in other
   * processes, finish the batch in hand and go on from there.
   *
   * @example
   * ```ts
   * import { connect } from "meowmx";
   * const store = await connect();
   * await store.resetSubscription("order-read-model", "beginning"); // handle everything again
   * ```
   */
  async resetSubscription(name: string, to: "beginning" | "end" | string): Promise<void> {
    const position = to === "beginning" ? "" : to === "end" ? ((await this.headPosition()) ?? "") : to;
    decodePosition(position);
    await this.scope.tables.checkpoints.reset(this.scope.db, name, position);
    this.parts.commits.wake();
  }

  /** The events a subscription parked, oldest first. */
  parkedEvents(name: string): Promise<ParkedEvent[]> {
    return this.scope.tables.parkedEvents.parked(this.scope.db, name);
  }

  /**
   * Runs `handler` again on the events the subscription `name` parked (each in a transaction that
   * also forgets it), without starting a worker; resolves to how many it handled.
   */
  replayParked(name: string, handler: (event: RecordedEvent, tx: TransactionSession) => Promise<void> | void): Promise<number> {
    return replayParked(this.scope, name, handler);
  }

  /** "pglite" for the embedded database, "postgres" for a server. */
  get backendKind(): Backend["kind"] {
    return this.parts.backend.kind;
  }

  /** The schema holding meowmx's tables. */
  get schema(): string {
    return this.parts.target.schema;
  }

  /**
   * Runs `fn` in one database transaction: appends to several streams, repositories and the user's
   * own tables (`tx.db`) commit or roll back together. With `maxAttempts > 1` the whole function
   * runs again when it fails with a {@link ConcurrencyError}.
   *
   * @example
   * ```ts
   * import { connect } from "meowmx";
   * const store = await connect();
   * await store.transaction(async (tx) => {
   *   await tx.append("account", "a", [{ type: "Debited", data: { amount: 5 } }], { expectedVersion: "any" });
   *   await tx.append("account", "b", [{ type: "Credited", data: { amount: 5 } }], { expectedVersion: "any" });
   * }, { maxAttempts: 5 });
   * ```
   */
  async transaction<T>(fn: (tx: TransactionSession) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const maxAttempts = options.maxAttempts ?? 1;
    assertMaxAttempts(maxAttempts);
    return this.parts.telemetry.span("meowmx.transaction", { "db.operation.name": "transaction" }, async (span) => {
      return withRetries(maxAttempts, (error) => error instanceof ConcurrencyError, (attempt) => {
        span?.setAttribute("meowmx.attempts", attempt);
        return this.scope.transaction((tx) => fn(tx.session));
      });
    });
  }

  /** Creates or upgrades meowmx's tables; idempotent and safe when many processes call it at once. */
  async migrate(): Promise<void> {
    await migrate(this.parts.backend.db, this.parts.target);
  }

  /** The DDL that `migrate()` applies, for teams that run their own migrations. */
  migrationSql(): string {
    return migrationSql(this.parts.target);
  }

  /** Stops every worker this store started, then closes the connections it opened. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopObservingLag();
    this.parts.commits.wake(); // ends every follow
    await Promise.all([...this.projections.values()].map((runner) => runner.stop()));
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    await this.parts.commits.close();
    await this.parts.replica?.close();
    await this.parts.backend.close();
  }
}

/** The store's pool scope: its tables, its logs (the replica's too), and the sessions of its transactions. */
function scopeOf(parts: StoreParts): Scope<TransactionSession> {
  const { schema } = parts.target;
  const projectionStates = new ProjectionStates(schema);
  const log: EventLogConfig = {
    schema,
    aggregateIdType: parts.aggregateIdType,
    telemetry: parts.telemetry,
    coalesceAppends: parts.coalesceAppends,
    ...(parts.inlineProjections.length === 0 ? {} : { appendHook: inlineProjectionsHook(parts.inlineProjections, projectionStates, parts.personalData) }),
  };
  return poolScope<TransactionSession>({
    backend: parts.backend,
    log,
    tables: { checkpoints: new Checkpoints(schema), parkedEvents: new ParkedEvents(schema), projectionStates, projectionVersions: new ProjectionVersions(schema), rebuilds: new RebuildTables(schema) },
    personalData: parts.personalData,
    projections: new Map(parts.inlineProjections.map((projection) => [projection.name, projection])),
    logger: parts.logger,
    telemetry: parts.telemetry,
    ...(parts.replica === undefined ? {} : { replica: { reads: parts.replica, log: new EventLog(parts.replica.db, log, { kind: "replica" }) } }),
    session: (scope) => new Session(scope),
    committed: () => parts.commits.committed(),
  });
}
