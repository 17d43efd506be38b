import type { Kysely } from "kysely";
import type { EventLog } from "../event-store/event-log.js";
import type {
  AppendOptions,
  AppendResult,
  LoadOptions,
  NewEvent,
  ReadAllOptions,
  ReadOptions,
  RecordedEvent,
} from "../event-store/events.js";

/**
 * What a store and a transaction share: the event log, and `db` for the user's own tables. On a
 * store every call is its own transaction; on a transaction every call joins it.
 */
export class Session {
  constructor(
    protected readonly log: EventLog,
    /** Kysely over the whole database (or the open transaction), for read models and other tables. */
    readonly db: Kysely<any>,
  ) {}

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
