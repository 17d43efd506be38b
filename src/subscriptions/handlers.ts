import type { AnyAggregate } from "../aggregates/define-aggregate.js";
import { SQLSTATE, sqlStateOf } from "../database/database-errors.js";
import { causationMetadata, withEventMetadata } from "../log/event-metadata.js";
import type { RecordedEvent } from "../log/events.js";
import type { Telemetry } from "../telemetry/telemetry.js";
import { parserOf, type Settings, type SubscriptionConfig } from "./subscription-config.js";

export class HandlerFailure extends Error {
  constructor(
    readonly event: RecordedEvent,
    override readonly cause: unknown,
  ) {
    super(`handler failed on ${event.aggregateType}/${event.aggregateId}@${event.version}`);
  }
}

/**
 * A batch failed, and no event is named: some event up to `through` caused it (a batch handler
 * threw, or a handler caught a database error and went on, aborting the transaction).
 */
export class UnattributedFailure extends Error {
  constructor(
    readonly through: string,
    readonly count: number,
    override readonly cause: unknown,
  ) {
    super(`a batch of ${count} events failed: ${errorText(cause)}`);
  }
}

/** What a transaction-aborting error caught by the handler reads as when the event that caused it is known. */
const swallowed = (cause: unknown) =>
  new Error("the handler caught a database error and went on, but the transaction was aborted; let database errors through", { cause });

/**
 * How a subscription's handlers meet a batch: each event parsed by its definition (with `from`),
 * the types not asked for left out, then the handler, or the batch handler, in a span; a failure
 * names the event that caused it when that is known.
 */
export class Handlers<Tx> {
  private readonly eventTypes: ReadonlySet<string> | undefined;
  /** The event as handlers get it: parsed and lifted by its definition (with `from`), or as stored. */
  readonly parse: (event: RecordedEvent) => RecordedEvent | undefined;

  constructor(
    private readonly config: Settings<Tx>,
    source: Pick<SubscriptionConfig<Tx, ReadonlyArray<AnyAggregate>>, "from" | "eventTypes">,
    private readonly telemetry: Telemetry,
  ) {
    this.eventTypes = source.eventTypes === undefined ? undefined : new Set(source.eventTypes);
    this.parse = parserOf(source.from);
  }

  /**
   * {@link handleAll} in a span that continues the trace of the one event it handles, or links to
   * the traces of all of them; and measured.
   */
  handle(events: ReadonlyArray<RecordedEvent>, tx: Tx): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    const { telemetry } = this;
    const traceparents = events.flatMap((event) => (typeof event.metadata.traceparent === "string" ? [event.metadata.traceparent] : []));
    const attributes = { "meowmx.subscription": this.config.name, "meowmx.event_count": events.length };
    return telemetry.span("meowmx.handle", attributes, async () => {
      const started = performance.now();
      try {
        await this.handleAll(events, tx);
      } finally {
        telemetry.handled(this.config.name, (performance.now() - started) / 1000);
      }
    }, { traceparents });
  }

  /**
   * Parses the events (with `from`), drops the types not asked for, and hands the rest to the
   * handler, one by one or as one batch. A failure names the event that caused it when that is known.
   */
  private async handleAll(events: ReadonlyArray<RecordedEvent>, tx: Tx): Promise<void> {
    const ready: Array<{ stored: RecordedEvent; event: RecordedEvent }> = [];
    for (const stored of events) {
      let event: RecordedEvent | undefined;
      try {
        event = this.parse(stored);
      } catch (error) {
        // An event its definition cannot read fails like a throwing handler, alone.
        throw new HandlerFailure(stored, error);
      }
      if (event !== undefined && (this.eventTypes === undefined || this.eventTypes.has(event.type))) ready.push({ stored, event });
    }
    const { handleBatch, handler } = this.config;
    if (handleBatch !== undefined) {
      if (ready.length === 0) return;
      try {
        const events = ready.map(({ event }) => event);
        // A batch of one has one cause; in a larger one, the handler says which event caused what.
        await (events.length === 1 ? withEventMetadata(causationMetadata(events[0]!), () => handleBatch(events, tx)) : handleBatch(events, tx));
      } catch (error) {
        throw ready.length === 1 ? new HandlerFailure(ready[0]!.stored, error) : new UnattributedFailure(ready.at(-1)!.stored.position, ready.length, error);
      }
      return;
    }
    for (const [index, { stored, event }] of ready.entries()) {
      try {
        await withEventMetadata(causationMetadata(event), () => handler!(event, tx));
      } catch (error) {
        // An aborted transaction before this event's handler ran is an earlier handler's doing.
        if (index > 0 && aborted(error)) throw unattributed(ready.map((handled) => handled.stored), index, error);
        throw new HandlerFailure(stored, error);
      }
    }
  }
}

/** The failure of a transaction that one of the first `count` events aborted. */
export function unattributed(events: ReadonlyArray<RecordedEvent>, count: number, error: unknown): Error {
  return count === 1 ? new HandlerFailure(events[0]!, swallowed(error)) : new UnattributedFailure(events[count - 1]!.position, count, swallowed(error));
}

/** Whether `error` says that the transaction was already aborted by an earlier statement. */
export function aborted(error: unknown): boolean {
  return sqlStateOf(error) === SQLSTATE.inFailedSqlTransaction;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
