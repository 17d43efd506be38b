import { type Draft, freeze, produce } from "immer";
import type { z } from "zod";
import type { Aggregate, AnyAggregate, ProjectionEvent } from "../aggregates/define-aggregate.js";
import { InvalidArgumentError } from "../errors.js";
import type { RecordedEvent } from "../log/events.js";

/**
 * Reducers grouped by aggregate type, then event type; every one optional (events without one are
 * skipped). A reducer mutates the draft, returns a new state, or returns `null` to delete the key's
 * state (the key's next event starts again from the initial state).
 */
export type ProjectionReducers<As extends ReadonlyArray<AnyAggregate>, S> = UnionToIntersection<ReducersFor<As[number], S>>;

/** One aggregate's entry in {@link ProjectionReducers}: `{ [its type]?: { [event type]?: reducer } }`. */
type ReducersFor<A, S> = A extends Aggregate<infer T, infer E, any>
  ? {
      [Type in T]?: {
        [K in keyof E & string]?: (
          draft: Draft<S>,
          data: z.output<E[K]>,
          event: RecordedEvent<K, z.output<E[K]>>,
        ) => S | null | void;
      };
    }
  : never;

// Reducers of several aggregates are one object: the intersection of each aggregate's entry.
type UnionToIntersection<U> = (U extends unknown ? (union: U) => void : never) extends (intersection: infer I) => void ? I : never;

/** What {@link defineProjection} takes. */
export interface ProjectionConfig<As extends ReadonlyArray<AnyAggregate>, S> {
  /** Names its states and its subscription; unique in a store. */
  readonly name: string;
  /** The aggregates whose events it folds. */
  readonly from: As;
  /** Which state an event folds into; default the event's aggregate id (one state per stream). */
  readonly key?: (event: ProjectionEvent<As>) => string;
  /** The state of a key before its first event. */
  readonly initialState: S;
  readonly evolve: ProjectionReducers<As, NoInfer<S>>;
  /** Bump when the reducers' meaning changes: starting the projection then rebuilds it. Default 0. */
  readonly version?: number;
}

/** A read model declared as reducers over aggregates' events. Made by {@link defineProjection}. */
export interface Projection<As extends ReadonlyArray<AnyAggregate> = ReadonlyArray<AnyAggregate>, S = unknown> {
  readonly name: string;
  readonly from: As;
  /** The categories it reads. */
  readonly aggregateTypes: ReadonlyArray<string>;
  readonly initialState: S;
  readonly version: number;
  /** Validates a stored event; undefined when the projection has no reducer for it. */
  parse(event: RecordedEvent): ProjectionEvent<As> | undefined;
  /** The key a parsed event folds into. */
  keyOf(event: ProjectionEvent<As>): string;
  /** One pure step: the key's state after `event` (from the initial state when `state` is undefined); null: deleted. */
  apply(state: S | undefined, event: ProjectionEvent<As>): S | null;
  /** A pure fold of stored events into every key's state (deleted keys are absent). */
  fold(events: Iterable<RecordedEvent>, states?: Map<string, S>): Map<string, S>;
}

/** The state type of a projection definition. */
export type ProjectionStateOf<P> = P extends Projection<any, infer S> ? S : never;

/**
 * Defines a projection: states per key, folded from the events of one or more aggregates.
 *
 * @example
 * ```ts
 * import { defineProjection } from "meowmx";
 * import { Order } from "./order.js";
 * export const CustomerTotals = defineProjection({
 *   name: "customer-totals",
 *   from: [Order],
 *   key: (event) => (event.type === "OrderCreated" ? event.data.customerId : event.aggregateId),
 *   initialState: { orders: 0, total: 0 },
 *   evolve: { order: { OrderCreated: (draft, data) => { draft.orders += 1; draft.total += data.total; } } },
 * });
 * ```
 */
export function defineProjection<const As extends ReadonlyArray<AnyAggregate>, S>(config: ProjectionConfig<As, S>): Projection<As, S> {
  const { name, from, evolve } = config;
  if (typeof name !== "string" || name.length === 0 || name.length > 150) {
    throw new InvalidArgumentError("a projection needs a name of 1 to 150 characters");
  }
  const byType = new Map<string, AnyAggregate>(from.map((aggregate) => [aggregate.type, aggregate]));
  const reducers = evolve as Record<string, Record<string, (draft: unknown, data: unknown, event: unknown) => unknown> | undefined>;
  for (const [aggregateType, handlers] of Object.entries(reducers)) {
    const aggregate = byType.get(aggregateType);
    if (aggregate === undefined) throw new InvalidArgumentError(`projection ${name} has reducers for ${aggregateType}, which is not in from`);
    for (const eventType of Object.keys(handlers ?? {})) {
      if (!(eventType in aggregate.schemas)) throw new InvalidArgumentError(`projection ${name}: ${aggregateType} declares no event type ${eventType}`);
    }
  }
  const initialState = freeze(structuredClone(config.initialState), true) as S;
  const keyOf = config.key ?? ((event: ProjectionEvent<As>) => event.aggregateId);
  const reducerFor = (event: RecordedEvent) => reducers[event.aggregateType]?.[event.type];

  const projection: Projection<As, S> = {
    name,
    from,
    aggregateTypes: [...byType.keys()],
    initialState,
    version: config.version ?? 0,
    parse(event) {
      const aggregate = byType.get(event.aggregateType);
      // A retired type becomes a current one when lifted: only then is its reducer known.
      if (aggregate === undefined || (reducerFor(event) === undefined && !aggregate.upcasters.isRetired(event.type))) return undefined;
      const parsed = aggregate.parseEvent(event) as ProjectionEvent<As> | undefined;
      return parsed === undefined || reducerFor(parsed) === undefined ? undefined : parsed;
    },
    keyOf(event) {
      const key = keyOf(event);
      if (typeof key !== "string" || key.length === 0) {
        throw new InvalidArgumentError(`projection ${name}: key() gave ${JSON.stringify(key)} for ${event.type}; it must give a non-empty string`);
      }
      return key;
    },
    apply(state, event) {
      const reducer = reducerFor(event)!;
      return produce(state ?? initialState, (draft: Draft<S>) => reducer(draft, event.data, event) as never) as S | null;
    },
    fold(events, states = new Map()) {
      for (const stored of events) {
        const event = projection.parse(stored);
        if (event === undefined) continue;
        const key = projection.keyOf(event);
        const next = projection.apply(states.get(key), event);
        if (next === null) states.delete(key);
        else states.set(key, next);
      }
      return states;
    },
  };
  return projection;
}
