import { definitionsByType } from "../aggregates/check-events.js";
import { InvalidArgumentError } from "../errors.js";
import { assertWholeNumber } from "../arguments.js";
import type { RecordedEvent } from "../log/events.js";
import { decodePosition } from "../log/position.js";
import type { AnyAggregate, ProjectionEvent } from "../aggregates/define-aggregate.js";
import { assertMaxAttempts } from "../retry.js";

/** Defaults of {@link SubscriptionConfig}. */
export const SUBSCRIPTION_DEFAULTS = {
  batchSize: 100,
  maxSleepMs: 30_000,
  leaseMs: 10_000,
  maxAttempts: 5,
  retryDelayMs: 100,
  partitions: 1,
  heldBackWarningMs: 60_000,
} as const;

/** Options of `store.subscribe`, whatever the subscription reads and however it handles it. */
export interface SubscriptionOptions {
  /** The durable checkpoint's name: every process running this name shares one position. */
  readonly name: string;
  /** Events per transaction; default 100. */
  readonly batchSize?: number;
  /** Idle polling backs off up to this; a commit wakes the worker at once. Default 30,000. */
  readonly maxSleepMs?: number;
  /** How long a worker's claim lasts without renewal: a dead worker's partitions are taken over after it. Default 10,000. */
  readonly leaseMs?: number;
  /** Split the streams by a hash of their id into this many partitions, each with its own checkpoint and worker. Default 1. */
  readonly partitions?: number;
  /** Tries per event before `onError` applies; default 5. */
  readonly maxAttempts?: number;
  /** The delay before the first retry of a failing event, doubling after each; default 100. */
  readonly retryDelayMs?: number;
  /** Warn (through the logger) when an open transaction has held committed events back this long; default 60,000. */
  readonly heldBackWarningMs?: number;
  /** "stop" (default): stop with a SubscriptionError; "park": put the event aside and move on. */
  readonly onError?: "stop" | "park";
  /**
   * What a parked event holds back. "event" (default): only itself; later events of its stream are
   * handled. "stream": later events of a stream with a parked event are parked behind it, in order,
   * so that a read model never sees a stream with a gap; `replayParked` replays them in order.
   */
  readonly parkScope?: "event" | "stream";
  /**
   * Where the subscription starts when its checkpoint does not exist yet: "beginning" (default), "end"
   * (after the newest event readers can see now), or after a position. An existing checkpoint wins.
   */
  readonly startFrom?: "beginning" | "end" | string;
  /** Only events of these types reach the handler; the checkpoint moves past the others. Default all. */
  readonly eventTypes?: ReadonlyArray<string>;
}

/** What a subscription reads: some categories (or all) as stored, or the events of aggregate definitions, parsed and lifted. */
export type SubscriptionSource<As extends ReadonlyArray<AnyAggregate>> =
  | {
      /** Only these categories; default all. Handlers get events as stored. */
      readonly aggregateTypes?: ReadonlyArray<string>;
      readonly from?: undefined;
    }
  | {
      /** The categories of these definitions; handlers get their events parsed, lifted to the current schemas and typed. */
      readonly from: As;
      readonly aggregateTypes?: undefined;
    };

/** How a subscription handles what it reads: one event at a time, or one call per batch. */
export type SubscriptionHandling<Tx, Ev> =
  | {
      /** Handles one event; what it writes through `tx` commits with the checkpoint, exactly once. */
      readonly handler: (event: Ev, tx: Tx) => Promise<void> | void;
      readonly handleBatch?: undefined;
    }
  | {
      /**
       * Handles a batch in one call, in commit order, in the transaction that moves the checkpoint
       * (for one multi-row write). A batch that keeps failing is split until the failing event is alone.
       */
      readonly handleBatch: (events: Ev[], tx: Tx) => Promise<void> | void;
      readonly handler?: undefined;
    };

/** The events a subscription's handlers get: typed by its definitions, or as stored. */
export type SubscribedEvent<As extends ReadonlyArray<AnyAggregate>> = As extends readonly [AnyAggregate, ...AnyAggregate[]] ? ProjectionEvent<As> : RecordedEvent;

/** Options of `store.subscribe`. */
export type SubscriptionConfig<Tx, As extends ReadonlyArray<AnyAggregate> = []> = SubscriptionOptions &
  SubscriptionSource<As> &
  SubscriptionHandling<Tx, SubscribedEvent<As>>;

/** How a subscription reads a stored event: through its definition (with `from`), or as stored. */
export function parserOf(from: ReadonlyArray<AnyAggregate> | undefined): (event: RecordedEvent) => RecordedEvent | undefined {
  if (from === undefined) return (event) => event;
  const definitions = definitionsByType(from);
  return (event) => definitions.get(event.aggregateType)!.parseEvent(event);
}

/**
 * One event handled as a subscription handles it, outside a worker (to replay a parked event):
 * parsed as the worker would, then given to its handler, or to its batch handler alone.
 */
export function eventHandlerOf<Tx>(
  config: Pick<SubscriptionConfig<Tx, ReadonlyArray<AnyAggregate>>, "from" | "handler" | "handleBatch">,
  parse = parserOf(config.from),
): (event: RecordedEvent, tx: Tx) => Promise<void> {
  return async (stored, tx) => {
    const event = parse(stored);
    if (event === undefined) return;
    await (config.handleBatch !== undefined ? config.handleBatch([event], tx) : config.handler!(event, tx));
  };
}

/** A subscription's settings, checked and with defaults; handlers take events as `parse` makes them. */
export type Settings<Tx> = Required<Omit<SubscriptionOptions, "startFrom" | "eventTypes">> & {
  readonly startFrom?: string;
  readonly aggregateTypes?: ReadonlyArray<string>;
  readonly handler?: (event: RecordedEvent, tx: Tx) => Promise<void> | void;
  readonly handleBatch?: (events: RecordedEvent[], tx: Tx) => Promise<void> | void;
};

export function withDefaults<Tx>(config: SubscriptionConfig<Tx, ReadonlyArray<AnyAggregate>>): Settings<Tx> {
  if (typeof config.name !== "string" || config.name.length === 0 || config.name.length > 200) {
    throw new InvalidArgumentError("a subscription needs a name of 1 to 200 characters");
  }
  const { name } = config;
  const handlers = [config.handler, config.handleBatch].filter((handler) => handler !== undefined);
  if (handlers.length !== 1 || typeof handlers[0] !== "function") {
    throw new InvalidArgumentError(`subscription ${name} needs exactly one of handler and handleBatch, a function`);
  }
  if (config.from !== undefined && config.aggregateTypes !== undefined) {
    throw new InvalidArgumentError(`subscription ${name}: give from or aggregateTypes, not both (from names the categories)`);
  }
  if (config.from !== undefined && (!Array.isArray(config.from) || config.from.length === 0)) {
    throw new InvalidArgumentError(`subscription ${name}: from must name at least one aggregate definition`);
  }
  const aggregateTypes = config.from === undefined ? config.aggregateTypes : [...definitionsByType(config.from).keys()];
  const merged = { ...SUBSCRIPTION_DEFAULTS, onError: "stop" as const, parkScope: "event" as const, ...config, aggregateTypes } as Settings<Tx> & Pick<SubscriptionOptions, "eventTypes">;
  for (const key of ["batchSize", "maxSleepMs", "leaseMs", "partitions", "retryDelayMs", "heldBackWarningMs"] as const) {
    assertWholeNumber(merged[key], key, 1);
  }
  assertMaxAttempts(merged.maxAttempts);
  if (merged.onError !== "stop" && merged.onError !== "park") throw new InvalidArgumentError(`onError must be "stop" or "park"`);
  if (merged.parkScope !== "event" && merged.parkScope !== "stream") throw new InvalidArgumentError(`parkScope must be "event" or "stream"`);
  if (merged.startFrom !== undefined && merged.startFrom !== "beginning" && merged.startFrom !== "end") decodePosition(merged.startFrom);
  if (merged.eventTypes !== undefined && !(Array.isArray(merged.eventTypes) && merged.eventTypes.every((type) => typeof type === "string"))) {
    throw new InvalidArgumentError("eventTypes must be an array of event type names");
  }
  return merged;
}
