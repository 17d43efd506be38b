import type { Kysely } from "kysely";
import type { Aggregate, EventSchemas } from "../aggregates/define-aggregate.js";
import { Repository } from "../repositories/repository.js";
import type { Scope } from "../scope/scope.js";
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
  append(aggregateType: string, aggregateId: string, events: ReadonlyArray<NewEvent>, options?: AppendOptions): Promise<AppendResult> {
    return this.log.append(aggregateType, aggregateId, events, options);
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
