import type { Kysely } from "kysely";
import { type Aggregate, type AnyAggregate, definitionOf, type EventSchemas } from "../aggregates/define-aggregate.js";
import { Repository } from "../repositories/repository.js";
import type { Scope } from "../scope/scope.js";
import { InvalidArgumentError } from "../errors.js";
import { assertAggregateId, assertTypeString } from "../log/inputs.js";
import type { EventLog } from "../log/event-log.js";
import type {
  AppendOptions,
  AppendResult,
  LoadOptions,
  NewEvent,
  ReadAllOptions,
  ReadOptions,
  RecordedEvent,
} from "../log/events.js";

/**
 * What a store and a transaction share: the event log, and `db` for the user's own tables. On a
 * store every call is its own transaction; on a transaction every call joins it.
 */
export class Session {
  protected readonly log: EventLog;
  /** Kysely over the whole database (or the open transaction), for read models and other tables. */
  readonly db: Kysely<any>;

  constructor(protected readonly scope: Scope<Session>) {
    this.db = scope.db;
    this.log = scope.log;
  }

  /**
   * A repository of one aggregate: load, create, and update with automatic retry.
   *
   * @example
   * ```ts
   * import { connect } from "meowmx";
   * import { Order } from "./order.js";
   * const store = await connect();
   * const { state, version } = await store.repository(Order).load("o-1");
   * ```
   */
  repository<T extends string, E extends EventSchemas, S>(aggregate: Aggregate<T, E, S>): Repository<T, E, S> {
    return new Repository(aggregate, this.scope);
  }

  /**
   * Appends events to the stream `aggregateType`/`aggregateId`, all or none.
   *
   * @example
   * ```ts
   * import { connect } from "meowmx";
   * const store = await connect();
   * const { version } = await store.append("order", "o-1", [{ type: "OrderCreated", data: { total: 5 } }], {
   *   expectedVersion: 0,
   * });
   * ```
   */
  async append(aggregateType: string, aggregateId: string, events: ReadonlyArray<NewEvent>, options?: AppendOptions): Promise<AppendResult> {
    // Events made by a definition's builders have their personal fields sealed; others are stored as given.
    const definition = personalDefinitionOf(aggregateType, events);
    const stored = definition === undefined ? events : await this.scope.personalData.seal(this.db, definition, aggregateId, events);
    return this.log.append(aggregateType, aggregateId, stored, options);
  }

  /**
   * Loads one stream's events by version.
   *
   * @example
   * ```ts
   * import { connect } from "meowmx";
   * const store = await connect();
   * const lastTwo = await store.load("order", "o-1", { direction: "backward", limit: 2 });
   * ```
   */
  load(aggregateType: string, aggregateId: string, options?: LoadOptions): Promise<RecordedEvent[]> {
    return this.log.load(aggregateType, aggregateId, options);
  }

  /**
   * Reads a page of committed events in global commit order.
   *
   * @example
   * ```ts
   * import { connect } from "meowmx";
   * const store = await connect();
   * const page = await store.read({ aggregateTypes: ["order"], limit: 100 });
   * const next = await store.read({ aggregateTypes: ["order"], after: page.at(-1)?.position });
   * ```
   */
  read(options?: ReadOptions): Promise<RecordedEvent[]> {
    return this.log.read(options);
  }

  /**
   * The position of the newest event that readers can see (committed, with no older transaction
   * still open), or undefined when there is none.
   *
   * @example
   * ```ts
   * import { connect } from "meowmx";
   * const store = await connect();
   * const head = await store.headPosition();
   * const newestFirst = await store.read({ direction: "backward", before: head, limit: 10 });
   * ```
   */
  headPosition(): Promise<string | undefined> {
    return this.scope.headPosition();
  }

  /**
   * Every event whose metadata carries this `correlationId` (see `withEventMetadata`), in commit
   * order, through an index that events without one do not enter.
   *
   * @example
   * ```ts
   * import { connect } from "meowmx";
   * const store = await connect();
   * for (const event of await store.correlated("request-42")) console.log(event.type, event.metadata.causationId);
   * ```
   */
  correlated(correlationId: string): Promise<RecordedEvent[]> {
    return this.log.correlated(correlationId);
  }

  /**
   * `events` (from `load`, `read`, `readAll`...) with their personal values opened, or read as their
   * `forgotten` values where their subject was forgotten: what repositories, projections and
   * subscriptions get. One query fetches the keys for all of them.
   *
   * @example
   * ```ts
   * import { connect } from "meowmx";
   * const store = await connect();
   * const clear = await store.revealPersonalData(await store.load("customer", "c-1"));
   * ```
   */
  async revealPersonalData<E extends RecordedEvent>(events: ReadonlyArray<E>): Promise<E[]> {
    return this.scope.personalData.reveal(this.scope.db, events);
  }

  /**
   * Archives a stream (in this session's transaction, or one of its own): its events stay stored but leave the log (load, read, repositories,
   * subscriptions and projection rebuilds no longer see them), its snapshot is dropped, and appends
   * to it throw {@link StreamArchivedError} until {@link restoreStream}. Archiving an archived stream
   * does nothing; a stream that never existed is a {@link StreamNotFoundError}. Appends to any stream
   * wait while it runs.
   *
   * @example
   * ```ts
   * import { connect } from "meowmx";
   * const store = await connect();
   * await store.append("order", "o-1", [{ type: "OrderCreated", data: {} }]);
   * await store.archiveStream("order", "o-1");
   * ```
   */
  async archiveStream(aggregateType: string, aggregateId: string): Promise<void> {
    this.assertStream(aggregateType, aggregateId);
    await this.scope.transaction(async (scope) => {
      if (await scope.log.lifecycle.archiveStream(aggregateType, aggregateId)) await scope.snapshots.remove([{ aggregateType, aggregateId }]);
    });
  }

  /**
   * Brings an archived stream back, its events at their old versions and positions. Subscriptions
   * that passed those positions meanwhile do not get them; a projection rebuild does.
   *
   * @example
   * ```ts
   * import { connect } from "meowmx";
   * const store = await connect();
   * await store.restoreStream("order", "o-1");
   * ```
   */
  async restoreStream(aggregateType: string, aggregateId: string): Promise<void> {
    this.assertStream(aggregateType, aggregateId);
    await this.scope.transaction((scope) => scope.log.lifecycle.restoreStream(aggregateType, aggregateId));
  }

  /**
   * Deletes a stream for good, in one transaction: its events (archived or not), its snapshot, and
   * its state (the key equal to its aggregate id) in each projection this store knows that reads
   * its category. A tombstone stays: appends to it throw {@link StreamDeletedError}. Deleting a
   * deleted stream does nothing.
   *
   * @example
   * ```ts
   * import { connect } from "meowmx";
   * const store = await connect();
   * await store.deleteStream("order", "o-1");
   * ```
   */
  async deleteStream(aggregateType: string, aggregateId: string): Promise<void> {
    this.assertStream(aggregateType, aggregateId);
    await this.scope.transaction(async (scope) => {
      if (!(await scope.log.lifecycle.deleteStream(aggregateType, aggregateId))) return;
      await scope.snapshots.remove([{ aggregateType, aggregateId }]);
      const readers = [...scope.projections.values()].filter((projection) => projection.aggregateTypes.includes(aggregateType));
      await scope.tables.projectionStates.removeKey(scope.db, readers.map((projection) => projection.name), aggregateId);
    });
  }

  /**
   * Removes the stream's versions below `before` (from 1 to its version + 1). `load` returns what is
   * left at its versions; a repository then needs a snapshot at version `before - 1` or later, and
   * throws {@link StreamTruncatedError} without one.
   *
   * @example
   * ```ts
   * import { connect } from "meowmx";
   * const store = await connect();
   * await store.truncateStream("order", "o-1", { before: 500 });
   * ```
   */
  async truncateStream(aggregateType: string, aggregateId: string, options: { before: number }): Promise<void> {
    this.assertStream(aggregateType, aggregateId);
    const before = options?.before;
    if (!Number.isSafeInteger(before) || before < 1) throw new InvalidArgumentError(`before must be a whole number from 1, got ${String(before)}`);
    await this.scope.transaction((scope) => scope.log.lifecycle.truncateStream(aggregateType, aggregateId, before));
  }

  /**
   * Forgets a subject of personal data: destroys its key, after which every personal field sealed
   * with it reads as its `forgotten` value, in this process and every other. In the same
   * transaction, it drops the snapshots of the streams that held its values and the projection
   * states whose JSON contains one of them in clear (those projections are marked outdated and
   * rebuild at their next start). Forgetting a subject without a key does nothing.
   *
   * @example
   * ```ts
   * import { connect } from "meowmx";
   * const store = await connect();
   * await store.forget("c-1");
   * ```
   */
  async forget(subject: string): Promise<void> {
    if (typeof subject !== "string" || subject.length === 0) throw new InvalidArgumentError(`a subject is a non-empty string, got ${JSON.stringify(subject)}`);
    await this.scope.transaction(async (scope) => {
      const destroyed = await scope.personalData.destroyKey(scope.db, subject);
      if (destroyed === undefined) return;
      await scope.snapshots.remove(destroyed.streams);
      const texts = new Set<string>();
      for (const data of await scope.log.dataOf(destroyed.streams)) {
        for (const value of destroyed.valuesIn(data)) stringsIn(value, texts);
      }
      const outdated = await scope.tables.projectionStates.removeContaining(scope.db, [...texts]);
      await scope.tables.projectionVersions.outdated(scope.db, outdated);
    });
  }

  private assertStream(aggregateType: string, aggregateId: string): void {
    assertTypeString(aggregateType, "aggregate type");
    assertAggregateId(aggregateId, this.scope.aggregateIdType);
  }

  /**
   * Every committed event in commit order, fetched page by page in bounded memory.
   *
   * @example
   * ```ts
   * import { connect } from "meowmx";
   * const store = await connect();
   * for await (const event of store.readAll({ aggregateTypes: ["order"] })) console.log(event.type);
   * ```
   */
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent> {
    return this.log.readAll(options);
  }
}

/** The definition of `aggregateType` with personal data that made one of `events`, if one did. */
function personalDefinitionOf(aggregateType: string, events: ReadonlyArray<NewEvent>): AnyAggregate | undefined {
  if (!Array.isArray(events)) return undefined;
  for (const event of events) {
    const definition = typeof event === "object" && event !== null ? definitionOf(event) : undefined;
    if (definition !== undefined && definition.holdsPersonalData && definition.type === aggregateType) return definition;
  }
  return undefined;
}

/** Adds the strings inside `value` to `texts`, as they appear inside JSON text. */
function stringsIn(value: unknown, texts: Set<string>): void {
  if (typeof value === "string") {
    if (value.length > 0) texts.add(JSON.stringify(value).slice(1, -1));
  } else if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) stringsIn(child, texts);
  }
}
