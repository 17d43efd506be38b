import { type Kysely, sql } from "kysely";
import type { AggregateIdType } from "../database/backend.js";
import { PREPARED, PREPARED_ARRAYS } from "../database/prepared-statements.js";
import { ConcurrencyError, InvalidArgumentError } from "../errors.js";
import type { JsonObject } from "../json.js";
import { withRetries } from "../retry.js";
import type { MeowmxTables } from "../database/tables.js";
import type { Telemetry } from "../telemetry/telemetry.js";
import { statementsOf } from "./append-statement.js";
import { type AppendHook, Appender, MAX_APPEND_ATTEMPTS } from "./appender.js";
import { scopedEventMetadata } from "./event-metadata.js";
import { EVENT_COLUMNS, type EventData, type EventRow, toRecordedEvent } from "./event-rows.js";
import {
  type AppendOptions,
  type AppendResult,
  DEFAULT_READ_LIMIT,
  type LoadOptions,
  type NewEvent,
  type ReadAllOptions,
  type ReadOptions,
  type RecordedEvent,
} from "./events.js";
import { decodePosition } from "./position.js";
import { readInPages } from "./read-pages.js";
import { AppendGroups, MAX_GROUPED_EVENTS } from "./append-groups.js";
import { StreamLifecycle } from "./stream-lifecycle.js";
import { StreamSql } from "./stream-sql.js";
import { streamPartition } from "./stream-partition.js";
import { assertAggregateId, assertDirection, assertExpectedVersion, assertTypeString, optionalWholeNumber, prepareEvents } from "./inputs.js";

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
  /** Whether appends through the pool are sent together while others are in flight; default true. */
  readonly coalesceAppends?: boolean;
}

/**
 * What the log is bound to: the pool (each call its own transaction), which can open a transaction
 * with a log of its own; one open transaction; or a read replica, which only reads. `written` is
 * called once events are stored: at once on the pool, and by the transaction's owner after it commits.
 */
export type EventLogScope =
  | { readonly kind: "pool"; readonly written: () => void; transaction<T>(work: (log: EventLog) => Promise<T>): Promise<T> }
  | { readonly kind: "transaction"; readonly written: () => void }
  | { readonly kind: "replica" };

/**
 * The event log: append to a stream with optimistic concurrency, load a stream, read everything in
 * commit order. It knows nothing of typed aggregates.
 */
export class EventLog {
  private readonly stream: StreamSql;
  private readonly appender: Appender;
  private readonly groups: AppendGroups | undefined;

  constructor(
    private readonly db: Kysely<MeowmxTables>,
    private readonly config: EventLogConfig,
    private readonly scope: EventLogScope,
  ) {
    this.stream = new StreamSql(config.schema, config.aggregateIdType);
    const statements = statementsOf(config);
    this.appender = new Appender(db, this.stream, statements, scope.kind === "transaction");
    // Only on the pool: inside a transaction every statement is that transaction's already.
    this.groups = scope.kind === "pool" && config.coalesceAppends !== false ? new AppendGroups(db, statements, this.appender) : undefined;
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
    const { scope } = this;
    if (scope.kind === "replica") throw new Error("a read replica's log does not append");
    assertTypeString(aggregateType, "aggregate type");
    assertAggregateId(aggregateId, this.config.aggregateIdType.declared);
    const hook = this.config.appendHook?.appliesTo(aggregateType) ? this.config.appendHook : undefined;
    if (hook !== undefined && scope.kind === "pool") return this.appendInTransaction(scope, aggregateType, aggregateId, events, options);
    const expected = options.expectedVersion ?? "any";
    assertExpectedVersion(expected);
    const prepared = prepareEvents(events, this.inheritedMetadata());
    if (prepared.ids.length === 0) return this.appender.appendNothing(aggregateType, aggregateId, expected);
    // Through the pool, with no work to commit alongside, and few events: in a group with whatever
    // else is in flight.
    const grouped = this.groups !== undefined && hook === undefined && prepared.ids.length <= MAX_GROUPED_EVENTS;
    const row = grouped ? await this.groups!.append(aggregateType, aggregateId, prepared, expected) : undefined;
    const { result } =
      row !== undefined
        ? await this.appender.settle(aggregateType, aggregateId, prepared, expected, row)
        : await this.stream.withTypedIds(() => this.appender.appendAtVersion(aggregateType, aggregateId, prepared, expected, hook, !grouped));
    scope.written();
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
   * transaction the pool opens (which announces the events once committed), and that transaction
   * runs again when only a newer one can succeed (a race lost inside it leaves it with a transaction
   * id older than the winner's).
   */
  private appendInTransaction(
    scope: Extract<EventLogScope, { kind: "pool" }>,
    aggregateType: string,
    aggregateId: string,
    events: ReadonlyArray<NewEvent<string, unknown>>,
    options: AppendOptions,
  ): Promise<AppendResult> {
    return withRetries(
      MAX_APPEND_ATTEMPTS,
      (error) => error instanceof ConcurrencyError && error.needsNewTransaction,
      () => scope.transaction((log) => log.appendEvents(aggregateType, aggregateId, events, options)),
    );
  }

  /** Archives, restores, deletes and truncates streams: on a transaction's log only, since each holds a lock until its transaction ends. */
  get lifecycle(): StreamLifecycle {
    if (this.scope.kind !== "transaction") throw new Error("stream lifecycle operations run on a transaction's log");
    return new StreamLifecycle(this.db, this.stream, this.config.schema);
  }

  /** The first version a truncation of the stream kept, or undefined when it was never truncated. */
  async truncatedBefore(aggregateType: string, aggregateId: string): Promise<number | undefined> {
    const { truncatedBefore } = await this.stream.withTypedIds(() => this.stream.stateOf(this.db, aggregateType, aggregateId));
    return truncatedBefore ?? undefined;
  }

  /** The data of every event of these streams, archived ones included, in no order. */
  async dataOf(streams: ReadonlyArray<{ aggregateType: string; aggregateId: string }>): Promise<unknown[]> {
    if (streams.length === 0) return [];
    const types = streams.map((stream) => stream.aggregateType);
    const ids = streams.map((stream) => stream.aggregateId);
    const idType = sql.raw(this.config.aggregateIdType.cast);
    const { rows } = await sql<{ data: unknown }>`
      with wanted as (select aggregate_type, aggregate_id::${idType} as aggregate_id from unnest(${types}::text[], ${ids}::text[]) as w(aggregate_type, aggregate_id))
      select e.data from ${this.stream.events} as e join wanted as w on e.aggregate_type = w.aggregate_type and e.aggregate_id = w.aggregate_id
      union all
      select a.data from ${sql.id(this.config.schema, "archived_events")} as a join wanted as w on a.aggregate_type = w.aggregate_type and a.aggregate_id = w.aggregate_id`.execute(this.db);
    return rows.map((row) => row.data);
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
    const { rows } = await this.stream.withTypedIds(() =>
      sql<EventRow>`${PREPARED}
        select ${EVENT_COLUMNS} from ${this.stream.events}
        where ${this.stream.isStream(aggregateType, aggregateId)}
          ${from === undefined ? sql`` : sql`and version >= ${from}`}
          ${to === undefined ? sql`` : sql`and version <= ${to}`}
        order by version ${backward ? sql`desc` : sql`asc`}
        ${limit === undefined ? sql`` : sql`limit ${limit}`}`.execute(this.db),
    );
    return rows.map(toRecordedEvent);
  }

  /**
   * What folding a stream needs of its events from `fromVersion` on: version, type and data, in
   * version order. About half the cost of {@link load}, which builds every field: the rows come as
   * arrays, and the schema version only when it is not 1.
   */
  async loadData(aggregateType: string, aggregateId: string, fromVersion: number): Promise<EventData[]> {
    assertTypeString(aggregateType, "aggregate type");
    assertAggregateId(aggregateId, this.config.aggregateIdType.declared);
    const { rows } = await this.stream.withTypedIds(() =>
      sql<[number, string, unknown, number | null]>`${PREPARED_ARRAYS}
        select version, type, data, nullif(schema_version, 1) from ${this.stream.events}
        where ${this.stream.isStream(aggregateType, aggregateId)} and version >= ${fromVersion}
        order by version`.execute(this.db),
    );
    const events = new Array<EventData>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const [version, type, data, schemaVersion] = rows[i]!;
      events[i] = { aggregateType, aggregateId, version, type, data, schemaVersion: schemaVersion ?? 1 };
    }
    return events;
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
      select ${EVENT_COLUMNS} from ${this.stream.events}
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
      select ${EVENT_COLUMNS} from ${this.stream.events}
      where metadata ? 'correlationId' and metadata ->> 'correlationId' = ${correlationId}
      order by transaction_id, sequence`.execute(this.db);
    return rows.map(toRecordedEvent);
  }

  /** Every committed event after `after`, in commit order, fetched a page at a time. */
  readAll(options: ReadAllOptions = {}): AsyncGenerator<RecordedEvent, void, undefined> {
    return readInPages((page) => this.read(page), options);
  }

}
