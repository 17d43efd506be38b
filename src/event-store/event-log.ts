import { CompiledQuery, type Kysely, type RawBuilder, sql } from "kysely";
import { ConcurrencyError, InvalidArgumentError, InvalidEventError } from "../errors.js";
import type { AggregateIdType } from "../database/backend.js";
import { isBadValueForType, SQLSTATE, sqlStateOf } from "../database/database-errors.js";
import { PREPARED } from "../database/prepared-statements.js";
import type { JsonObject } from "../json.js";
import { backoffDelay, sleep } from "../retry.js";
import type { Telemetry } from "../telemetry/telemetry.js";
import { type Appended, type AppendRow, expectedParameter, type InsertedRow, statementsOf, stored } from "./append-statement.js";
import { scopedEventMetadata } from "./event-metadata.js";
import { EVENT_COLUMNS, type EventData, type EventRow, toRecordedEvent } from "./event-rows.js";
import {
  type AppendOptions,
  type AppendResult,
  DEFAULT_READ_LIMIT,
  type ExpectedVersion,
  type LoadOptions,
  type NewEvent,
  type ReadAllOptions,
  type ReadOptions,
  type RecordedEvent,
} from "./events.js";
import { decodePosition } from "./position.js";
import { readInPages } from "./read-pages.js";
import { streamPartition } from "./stream-partition.js";
import {
  assertAggregateId,
  assertDirection,
  assertExpectedVersion,
  assertTypeString,
  optionalWholeNumber,
  type PreparedEvents,
  prepareEvents,
  versionMatches,
} from "./validate-input.js";

/** Where the log's tables are and how aggregate ids are typed. */
export interface EventLogConfig {
  /** The schema holding the tables. */
  readonly schema: string;
  /** The type of the `aggregate_id` column. */
  readonly aggregateIdType: AggregateIdType;
  /** Work that must commit with every append to some categories (inline projections). */
  readonly appendHook?: AppendHook;
  /** Where appends and loads report their spans and metrics. */
  readonly telemetry: Telemetry;
}

/** Work run inside the transaction of every append to the categories it applies to. */
export interface AppendHook {
  appliesTo(aggregateType: string): boolean;
  /** Runs after the events are stored, on the append's transaction; a throw rolls the append back. */
  afterAppend(events: ReadonlyArray<RecordedEvent>, db: Kysely<any>): Promise<void>;
}

/**
 * What the log is bound to: the pool (each call its own transaction) or one open transaction.
 * `written` is called once events are stored: at once on the pool, and by the transaction's owner
 * after it commits.
 */
export type EventLogScope =
  | { readonly kind: "pool"; readonly written: () => void }
  | { readonly kind: "transaction"; readonly written: () => void };

/** How often an append statement runs again after losing a race for its versions. */
export const MAX_APPEND_ATTEMPTS = 100;

/**
 * The event log: append to a stream with optimistic concurrency, load a stream, read everything in
 * commit order. It knows nothing of typed aggregates.
 */
export class EventLog {
  private readonly events: RawBuilder<unknown>;
  private readonly idType: RawBuilder<unknown>;
  private readonly statements: ReturnType<typeof statementsOf>;

  constructor(
    private readonly db: Kysely<any>,
    private readonly config: EventLogConfig,
    private readonly scope: EventLogScope,
  ) {
    this.events = sql.id(config.schema, "events");
    this.idType = sql.raw(config.aggregateIdType.cast);
    this.statements = statementsOf(config);
  }

  /**
   * Appends events to a stream, all or none. With a numeric `expectedVersion` the stream must hold
   * exactly that many events, or {@link ConcurrencyError} is thrown and nothing is written.
   */
  append(
    aggregateType: string,
    aggregateId: string,
    events: ReadonlyArray<NewEvent<string, unknown>>,
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    const { telemetry } = this.config;
    const attributes = { "db.operation.name": "append", "meowmx.aggregate_type": String(aggregateType), "meowmx.aggregate_id": String(aggregateId) };
    return telemetry.span("meowmx.append", attributes, async (span) => {
      const started = performance.now();
      try {
        const result = await this.appendEvents(aggregateType, aggregateId, events, options);
        span?.setAttribute("meowmx.event_count", result.events.length);
        telemetry.appended(aggregateType, result.events.length, (performance.now() - started) / 1000);
        return result;
      } catch (error) {
        if (error instanceof ConcurrencyError) telemetry.conflicted(aggregateType);
        throw error;
      }
    });
  }

  /** {@link append}, inside its span. */
  private async appendEvents(
    aggregateType: string,
    aggregateId: string,
    events: ReadonlyArray<NewEvent<string, unknown>>,
    options: AppendOptions,
  ): Promise<AppendResult> {
    assertTypeString(aggregateType, "aggregate type");
    assertAggregateId(aggregateId, this.config.aggregateIdType.declared);
    const hook = this.config.appendHook?.appliesTo(aggregateType) ? this.config.appendHook : undefined;
    if (hook !== undefined && this.scope.kind === "pool") return this.appendInTransaction(aggregateType, aggregateId, events, options);
    const expected = options.expectedVersion ?? "any";
    assertExpectedVersion(expected);
    const prepared = prepareEvents(events, this.inheritedMetadata());
    if (prepared.ids.length === 0) return this.appendNothing(aggregateType, aggregateId, expected);
    const { result } = await this.withTypedIds(() => this.appendAtVersion(aggregateType, aggregateId, prepared, expected, hook));
    this.scope.written();
    return result;
  }

  /** What appended events carry unless they set it: the fields of `withEventMetadata`, and the trace. */
  private inheritedMetadata(): JsonObject | undefined {
    const scoped = scopedEventMetadata();
    const traceparent = this.config.telemetry.traceparent();
    return traceparent === undefined ? scoped : { ...scoped, traceparent };
  }

  /**
   * An append whose hook's work must commit with the events: it runs, checks and all, in a
   * transaction of its own, and that transaction runs again when only a newer one can succeed (a
   * race lost inside it leaves it with a transaction id older than the winner's).
   */
  private async appendInTransaction(
    aggregateType: string,
    aggregateId: string,
    events: ReadonlyArray<NewEvent<string, unknown>>,
    options: AppendOptions,
  ): Promise<AppendResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.db.transaction().execute((trx) =>
          new EventLog(trx, this.config, { kind: "transaction", written: () => {} }).appendEvents(aggregateType, aggregateId, events, options),
        );
        this.scope.written();
        return result;
      } catch (error) {
        if (!(error instanceof ConcurrencyError && error.needsNewTransaction) || attempt >= MAX_APPEND_ATTEMPTS) throw error;
        await sleep(backoffDelay(attempt));
      }
    }
  }

  /** The events of one stream, by version; an empty array when the stream does not exist. */
  load(aggregateType: string, aggregateId: string, options: LoadOptions = {}): Promise<RecordedEvent[]> {
    const attributes = { "db.operation.name": "load", "meowmx.aggregate_type": String(aggregateType), "meowmx.aggregate_id": String(aggregateId) };
    return this.config.telemetry.span("meowmx.load", attributes, () => this.loadEvents(aggregateType, aggregateId, options));
  }

  /** {@link load}, inside its span. */
  private async loadEvents(aggregateType: string, aggregateId: string, options: LoadOptions): Promise<RecordedEvent[]> {
    assertTypeString(aggregateType, "aggregate type");
    assertAggregateId(aggregateId, this.config.aggregateIdType.declared);
    const from = optionalWholeNumber(options.fromVersion, "fromVersion");
    const to = optionalWholeNumber(options.toVersion, "toVersion");
    const limit = optionalWholeNumber(options.limit, "limit");
    const backward = assertDirection(options.direction);
    const { rows } = await this.withTypedIds(() =>
      sql<EventRow>`${PREPARED}
        select ${EVENT_COLUMNS} from ${this.events}
        where ${this.isStream(aggregateType, aggregateId)}
          ${from === undefined ? sql`` : sql`and version >= ${from}`}
          ${to === undefined ? sql`` : sql`and version <= ${to}`}
        order by version ${backward ? sql`desc` : sql`asc`}
        ${limit === undefined ? sql`` : sql`limit ${limit}`}`.execute(this.db),
    );
    return rows.map(toRecordedEvent);
  }

  /**
   * What folding a stream needs of its events from `fromVersion` on: version, type and data, in
   * version order. About half the cost of {@link load}, which builds every field.
   */
  async loadData(aggregateType: string, aggregateId: string, fromVersion: number): Promise<EventData[]> {
    assertTypeString(aggregateType, "aggregate type");
    assertAggregateId(aggregateId, this.config.aggregateIdType.declared);
    const { rows } = await this.withTypedIds(() =>
      sql<EventData>`${PREPARED}
        select version, type, data, schema_version as "schemaVersion" from ${this.events}
        where ${this.isStream(aggregateType, aggregateId)} and version >= ${fromVersion}
        order by version`.execute(this.db),
    );
    return rows;
  }

  /**
   * A page of committed events in global commit order, after the cursor `after`. An event appears
   * only once every transaction that started before its own has ended, so that no event committing
   * late is ever passed over by a reader that has moved on. `settledOnly: false` drops that wait,
   * for a reader that knows no writer of these categories is in flight.
   */
  async read(options: ReadOptions = {}, { settledOnly = true } = {}): Promise<RecordedEvent[]> {
    const after = decodePosition(options.after);
    const before = options.before === undefined ? undefined : decodePosition(options.before);
    const backward = assertDirection(options.direction);
    const limit = optionalWholeNumber(options.limit, "limit") ?? DEFAULT_READ_LIMIT;
    const types = options.aggregateTypes;
    types?.forEach((type) => assertTypeString(type, "aggregate type"));
    if (types !== undefined && types.length === 0) return [];
    const category =
      types === undefined
        ? sql``
        : types.length === 1
          ? sql`and aggregate_type = ${types[0]}`
          : sql`and aggregate_type = any(${[...types]}::text[])`;
    const partition = options.partition;
    if (partition !== undefined && !(Number.isSafeInteger(partition.count) && partition.count >= 1 && Number.isSafeInteger(partition.index) && partition.index >= 0 && partition.index < partition.count)) {
      throw new InvalidArgumentError(`partition must have 0 <= index < count, got ${JSON.stringify(partition)}`);
    }
    const inPartition =
      partition === undefined || partition.count === 1 ? sql`` : sql`and ${streamPartition(sql.ref("aggregate_id"), partition.count)} = ${partition.index}`;
    const { rows } = await sql<EventRow>`
      select ${EVENT_COLUMNS} from ${this.events}
      where (transaction_id, sequence) > (${after.transactionId.toString()}::xid8, ${after.sequence.toString()}::bigint)
        ${before === undefined ? sql`` : sql`and (transaction_id, sequence) < (${before.transactionId.toString()}::xid8, ${before.sequence.toString()}::bigint)`}
        ${settledOnly ? sql`and transaction_id < pg_snapshot_xmin(pg_current_snapshot())` : sql``}
        ${category} ${inPartition}
      order by ${backward ? sql`transaction_id desc, sequence desc` : sql`transaction_id, sequence`}
      limit ${limit}`.execute(this.db);
    return rows.map(toRecordedEvent);
  }

  /** Every committed event whose metadata has this `correlationId`, in commit order. */
  async correlated(correlationId: string): Promise<RecordedEvent[]> {
    if (typeof correlationId !== "string" || correlationId.length === 0) {
      throw new InvalidArgumentError(`a correlation id is a non-empty string, got ${JSON.stringify(correlationId)}`);
    }
    // The first condition is the partial index's: without it PostgreSQL could not use the index.
    const { rows } = await sql<EventRow>`
      select ${EVENT_COLUMNS} from ${this.events}
      where metadata ? 'correlationId' and metadata ->> 'correlationId' = ${correlationId}
      order by transaction_id, sequence`.execute(this.db);
    return rows.map(toRecordedEvent);
  }

  /** Every committed event after `after`, in commit order, fetched a page at a time. */
  readAll(options: ReadAllOptions = {}): AsyncGenerator<RecordedEvent, void, undefined> {
    return readInPages((page) => this.read(page), options);
  }

  private async appendNothing(aggregateType: string, aggregateId: string, expected: ExpectedVersion): Promise<AppendResult> {
    const version = await this.withTypedIds(() => this.headOf(aggregateType, aggregateId));
    if (!versionMatches(expected, version)) {
      throw new ConcurrencyError(aggregateType, aggregateId, expected, version);
    }
    return { version, events: [] };
  }

  /**
   * Runs the append statement until it settles. When it loses a race for the same versions, it runs
   * again and then sees the winner: with a numeric expected version that is a ConcurrencyError (or,
   * when the winner stored these very events, their stored copies: a retry is not a conflict); with
   * "any", the next free versions.
   */
  private async appendAtVersion(
    aggregateType: string,
    aggregateId: string,
    prepared: PreparedEvents,
    expected: ExpectedVersion,
    hook: AppendHook | undefined,
  ): Promise<Appended> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= MAX_APPEND_ATTEMPTS; attempt++) {
      try {
        // A new stream has no head to read and no order to keep: its first attempt is a plain insert
        // at versions 1..n, which the unique (stream, version) key guards. When it loses, the full
        // statement runs again and tells why.
        const newStream = attempt === 1 && expected === 0 && !prepared.idsGiven;
        return await this.inSavepoint(async () => {
          const appended = await (newStream
            ? this.insertNewStream(aggregateType, aggregateId, prepared)
            : this.insert(aggregateType, aggregateId, prepared, expected));
          // Inside the savepoint, so that the hook's failure takes the events with it even when the
          // caller catches it and commits. A retried append that finds its events stored already has
          // had its effects.
          if (appended.fresh && hook !== undefined) await hook.afterAppend(appended.result.events, this.db);
          return appended;
        });
      } catch (error) {
        const state = sqlStateOf(error);
        if (state === SQLSTATE.deadlockDetected || state === SQLSTATE.serializationFailure) {
          // Two transactions appending to the same streams in opposite orders: one must start over.
          throw new ConcurrencyError(aggregateType, aggregateId, expected, await this.headOf(aggregateType, aggregateId), {
            needsNewTransaction: true,
            reason: `${(error as Error).message} with a concurrent transaction; run this transaction again`,
          });
        }
        if (state !== SQLSTATE.uniqueViolation) throw error;
        lastError = error;
        if (attempt === 1 && this.scope.kind === "transaction" && (await this.seesOneSnapshot())) {
          // Running the statement again would read the same snapshot, without the winner's events.
          throw new ConcurrencyError(aggregateType, aggregateId, expected, await this.headOf(aggregateType, aggregateId), {
            needsNewTransaction: true,
            reason: "another transaction appended to it meanwhile, and this one (repeatable read or serializable) cannot see that; run this transaction again",
            cause: error,
          });
        }
      }
    }
    const actual = await this.headOf(aggregateType, aggregateId);
    throw new ConcurrencyError(aggregateType, aggregateId, expected, actual, { cause: lastError });
  }

  /** Whether the open transaction reads one snapshot throughout (repeatable read or serializable). */
  private async seesOneSnapshot(): Promise<boolean> {
    const { rows } = await sql<{ level: string }>`select current_setting('transaction_isolation') as level`.execute(this.db);
    return rows[0]?.level !== "read committed";
  }

  /** Runs `work` so that its failure leaves an enclosing transaction usable, to run it again or go on. */
  private async inSavepoint<T>(work: () => Promise<T>): Promise<T> {
    if (this.scope.kind === "pool") return work();
    await sql`savepoint meowmx_append`.execute(this.db);
    try {
      const result = await work();
      await sql`release savepoint meowmx_append`.execute(this.db);
      return result;
    } catch (error) {
      await sql`rollback to savepoint meowmx_append`.execute(this.db);
      throw error;
    }
  }

  /**
   * One statement: read the stream's head, look for the given event ids, and insert the batch at the
   * following versions when the head is as expected. A concurrent writer of the same versions makes
   * the unique (stream, version) key fail, which the caller turns into a conflict.
   *
   * Readers order events by transaction id, so a stream's versions must never go back in transaction
   * id. A transaction that got its id before another one appended to the stream and committed (it
   * wrote something earlier, or lost a race inside a savepoint) may not append after it: that is a
   * conflict too, and running the whole transaction again gives it a newer id.
   */
  private async insert(
    aggregateType: string,
    aggregateId: string,
    prepared: PreparedEvents,
    expected: ExpectedVersion,
  ): Promise<Appended> {
    const { rows } = await this.db.executeQuery<AppendRow>(
      CompiledQuery.raw(this.statements.append, [aggregateType, aggregateId, prepared.json, expectedParameter(expected), prepared.idsGiven]),
    );
    const first = rows[0];
    if (first === undefined) throw new Error("append statement returned no row");
    if (first.sequences === null) {
      if (first.duplicates > 0) return this.alreadyStored(aggregateType, aggregateId, prepared, first.head);
      if (!first.in_order && versionMatches(expected, first.head)) {
        throw new ConcurrencyError(aggregateType, aggregateId, expected, first.head, {
          needsNewTransaction: true,
          reason: "a transaction that began after this one appended to it first; run this transaction again",
        });
      }
      throw new ConcurrencyError(aggregateType, aggregateId, expected, first.head);
    }
    return stored(aggregateType, prepared, first as InsertedRow);
  }

  /** The append to a stream expected not to exist: a plain insert, refused by the unique key if it does. */
  private async insertNewStream(aggregateType: string, aggregateId: string, prepared: PreparedEvents): Promise<Appended> {
    const { rows } = await this.db.executeQuery<InsertedRow>(
      CompiledQuery.raw(this.statements.newStream, [aggregateType, aggregateId, prepared.json]),
    );
    return stored(aggregateType, prepared, rows[0]!);
  }

  /** A repeated append of events already in the stream settles to the stored events. */
  private async alreadyStored(
    aggregateType: string,
    aggregateId: string,
    prepared: PreparedEvents,
    head: number,
  ): Promise<Appended> {
    const { rows } = await sql<EventRow>`
      select ${EVENT_COLUMNS} from ${this.events}
      where ${this.isStream(aggregateType, aggregateId)} and event_id = any(${prepared.ids}::uuid[])
      order by version`.execute(this.db);
    if (rows.length !== prepared.ids.length) {
      throw new InvalidEventError(
        `${rows.length} of the ${prepared.ids.length} events are already stored in ${aggregateType}/${aggregateId}: ` +
          "a retried append must repeat the same events",
      );
    }
    return { result: { version: head, events: rows.map(toRecordedEvent) }, fresh: false };
  }

  private async headOf(aggregateType: string, aggregateId: string): Promise<number> {
    const { rows } = await sql<{ version: number }>`select ${this.headOfStream(aggregateType, aggregateId)} as version`.execute(this.db);
    return rows[0]?.version ?? 0;
  }

  /** SQL that is true for the rows of one stream. */
  private isStream(aggregateType: string, aggregateId: string): RawBuilder<boolean> {
    return sql`aggregate_type = ${aggregateType} and aggregate_id = ${aggregateId}::${this.idType}`;
  }

  /** SQL for a stream's version: one descent of the (stream, version) index, 0 for no stream. */
  private headOfStream(aggregateType: string, aggregateId: string): RawBuilder<number> {
    return sql`coalesce((select version from ${this.events} where ${this.isStream(aggregateType, aggregateId)} order by version desc limit 1), 0)`;
  }

  /** Reports an id that PostgreSQL cannot cast to the id column's type as bad input. */
  private async withTypedIds<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isBadValueForType(error)) {
        throw new InvalidEventError(
          `aggregate id does not fit the aggregate id type ${this.config.aggregateIdType.declared}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}
