import { createHash } from "node:crypto";
import { type Draft, freeze } from "immer";
import { z } from "zod";
import { EventValidationError, InvalidArgumentError, type ValidationIssue } from "../errors.js";
import { assertWholeNumber } from "../arguments.js";
import type { NewEvent, RecordedEvent } from "../log/events.js";
import { assertJson, type JsonObject } from "../json.js";
import type { EventSchemas } from "./event-schemas.js";
import { DRAFTS_NEEDED, evolveWithImmer, foldInPlace } from "./fold.js";
import { holdsPersonalData } from "./personal-data.js";
import { type UpcastConfig, Upcasters } from "./upcast.js";

export type { EventSchemas } from "./event-schemas.js";

/** The recorded events of an aggregate: a union over its event types, with parsed data. */
export type AggregateEvent<E extends EventSchemas> = {
  [K in keyof E & string]: RecordedEvent<K, z.output<E[K]>>;
}[keyof E & string];

/** The events a command may return for an aggregate: a union over its event types. */
export type AggregateNewEvent<E extends EventSchemas> = {
  [K in keyof E & string]: NewEvent<K, z.output<E[K]>>;
}[keyof E & string];

/** One reducer per event type: mutate the draft, or return a new state. */
export type Reducers<E extends EventSchemas, S> = {
  [K in keyof E & string]: (draft: Draft<S>, data: z.output<E[K]>, event: RecordedEvent<K, z.output<E[K]>>) => S | void;
};

/** Builders of new events, one per event type, that validate their data at once. */
export type EventBuilders<E extends EventSchemas> = {
  [K in keyof E & string]: (data: z.input<E[K]>, metadata?: JsonObject) => NewEvent<K, z.output<E[K]>>;
};

/** What {@link defineAggregate} takes; `U` is inferred from `upcast`. */
export interface AggregateConfig<T extends string, E extends EventSchemas, S, U = {}> {
  /** The category of its streams, e.g. "order". */
  readonly type: T;
  /** A zod schema per event type: the single source of the events' types. */
  readonly events: E;
  /** The state of a stream with no events. */
  readonly initialState: S;
  /** One pure reducer per event type. */
  readonly evolve: Reducers<E, S>;
  /** Write a snapshot of the state every this many events (in the append's transaction). */
  readonly snapshotEvery?: number;
  /** Bump to throw away every snapshot, e.g. when a reducer's meaning changes. Default 0. */
  readonly snapshotVersion?: number;
  /** Skip stored events of types the definition does not know, instead of failing the load. Default false. */
  readonly ignoreUnknownEvents?: boolean;
  /**
   * How data stored in older shapes becomes current: per current event type, steps oldest first,
   * each `{ from: schema of the stored shape, up: (old) => next shape }` (the type's schema version
   * is 1 + its number of steps); per retired event type, one `{ from, up: (old) => ({ type, data }) }`
   * that returns a current event.
   */
  readonly upcast?: UpcastConfig<E, U>;
  /** Whose key seals an event's personal fields (see `personalData`); default the aggregate id. */
  readonly personalDataSubject?: (event: PersonalDataEvent<E>) => string;
}

/** What `personalDataSubject` gets: a new event of the aggregate, with its stream. */
export type PersonalDataEvent<E extends EventSchemas> = {
  [K in keyof E & string]: { readonly aggregateType: string; readonly aggregateId: string; readonly type: K; readonly data: z.output<E[K]> };
}[keyof E & string];

/** A typed aggregate: event schemas, an initial state and pure reducers. Made by {@link defineAggregate}. */
export interface Aggregate<T extends string = string, E extends EventSchemas = EventSchemas, S = unknown> {
  readonly type: T;
  readonly schemas: E;
  readonly initialState: S;
  /** The reducers it was defined with, by event type. */
  readonly reducers: Reducers<E, S>;
  /** Builders of new events that validate their data: `Order.events.OrderShipped({ trackingCode })`. */
  readonly events: EventBuilders<E>;
  readonly snapshotEvery: number | undefined;
  readonly ignoreUnknownEvents: boolean;
  /** The steps that lift stored data to the current shapes, and each type's current schema version. */
  readonly upcasters: Upcasters;
  /**
   * A digest of everything a snapshot's meaning depends on: the schemas, the upcasters, the initial
   * state, the reducers' source and `snapshotVersion`. A snapshot made under another key is never used. Empty
   * for an aggregate that keeps no snapshots (whose state then need not be JSON).
   */
  readonly snapshotKey: string;
  /**
   * Whether some reducer declares the recorded event, its third parameter. When none does,
   * repositories read only each event's version, type and data, which loads a stream about twice
   * as fast; a reducer that reads the event must declare it (`(draft, data, event) => ...`).
   */
  readonly readsRecordedEvents: boolean;
  /** Whether some event schema marks a field with `personalData`. */
  readonly holdsPersonalData: boolean;
  /** Whose key seals a new event's personal fields. */
  personalDataSubject(event: PersonalDataEvent<E>): string;
  /** One pure step: the state after `event` (immer `produce`; the result is frozen). */
  evolve(state: S, event: AggregateEvent<E>): S;
  /** A pure fold of `events`, from `state` (default the initial state): {@link evolve} in turn. */
  fold(events: Iterable<AggregateEvent<E>>, state?: S): S;
  /**
   * {@link fold} as loads run it, over events read for it alone (the reducers may change the data
   * they put into the state): the same state, with the reducers mutating a private copy rather than
   * immer drafts. {@link DRAFTS_NEEDED} when a reducer calls immer's functions on its draft: read
   * the events again and replay them, with drafts from then on. `checkAggregate` checks that it
   * agrees with {@link fold}.
   */
  replay(events: ReadonlyArray<AggregateEvent<E>>, state?: S): S | typeof DRAFTS_NEEDED;
  /**
   * Lifts a stored event's data to the current shape (upcasting), validates it against its schema
   * and returns it with parsed data; undefined for an unknown type when told to ignore those.
   */
  parseEvent(event: RecordedEvent): AggregateEvent<E> | undefined;
  /** Validates a new event against its schema and returns it with parsed data. */
  parseNewEvent(event: NewEvent<string, unknown>): AggregateNewEvent<E>;
}

/** The state type of an aggregate definition. */
export type StateOf<A> = A extends Aggregate<any, any, infer S> ? S : never;
/** The union of recorded events of an aggregate definition. */
export type EventOf<A> = A extends Aggregate<any, infer E, any> ? AggregateEvent<E> : never;
/** The union of new events of an aggregate definition. */
export type NewEventOf<A> = A extends Aggregate<any, infer E, any> ? AggregateNewEvent<E> : never;

// Events made by the builders are already valid: appending them does not parse them again. Each is
// mapped to the definition that made it, whose schemas say which of its fields are personal.
const madeBy = new WeakMap<object, AnyAggregate>();

/** The definition whose builder (or `parseNewEvent`) made `event`, if one did. */
export function definitionOf(event: object): AnyAggregate | undefined {
  return madeBy.get(event);
}

/**
 * Defines an aggregate from zod event schemas and immer reducers. Every event type needs a reducer,
 * or the definition fails to compile and, at run time, to load.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { defineAggregate, type StateOf } from "meowmx";
 *
 * export const Order = defineAggregate({
 *   type: "order",
 *   events: {
 *     OrderCreated: z.object({ customerId: z.string(), total: z.number().nonnegative() }),
 *     OrderShipped: z.object({ trackingCode: z.string() }),
 *   },
 *   initialState: { status: "none" as "none" | "created" | "shipped", customerId: "", total: 0 },
 *   evolve: {
 *     OrderCreated: (draft, data) => {
 *       draft.status = "created";
 *       draft.customerId = data.customerId;
 *       draft.total = data.total;
 *     },
 *     OrderShipped: (draft) => {
 *       draft.status = "shipped";
 *     },
 *   },
 * });
 * type OrderState = StateOf<typeof Order>;
 * ```
 */
export function defineAggregate<const T extends string, E extends EventSchemas, S, const U = {}>(
  config: AggregateConfig<T, E, S, U>,
): Aggregate<T, E, S> {
  const { type, events: schemas, evolve: reducers } = config;
  if (typeof type !== "string" || type.length === 0) throw new InvalidArgumentError("an aggregate needs a non-empty type");
  const eventTypes = Object.keys(schemas);
  const missing = eventTypes.filter((name) => typeof reducers[name] !== "function");
  if (missing.length > 0) throw new InvalidArgumentError(`aggregate ${type} has no evolve handler for ${missing.join(", ")}`);
  const extra = Object.keys(reducers).filter((name) => !(name in schemas));
  if (extra.length > 0) throw new InvalidArgumentError(`aggregate ${type} has evolve handlers for undeclared events ${extra.join(", ")}`);
  const snapshotEvery = config.snapshotEvery;
  if (snapshotEvery !== undefined) {
    assertWholeNumber(snapshotEvery, "snapshotEvery", 1);
    // Snapshots are stored as JSON; an aggregate without them may keep any state.
    try {
      assertJson(config.initialState, `${type} initialState`);
    } catch (error) {
      throw new InvalidArgumentError(`aggregate ${type} keeps snapshots (snapshotEvery), so its states must be JSON: ${(error as Error).message}`);
    }
  }

  const upcasters = new Upcasters(type, schemas, config.upcast);
  const initialState = freeze(structuredClone(config.initialState), true);
  const ignoreUnknownEvents = config.ignoreUnknownEvents ?? false;

  const step = (draft: Draft<S>, event: AggregateEvent<E>): S | void => {
    const reducer = reducers[event.type] as ((d: Draft<S>, data: unknown, e: unknown) => S | void) | undefined;
    if (reducer === undefined) throw new InvalidArgumentError(`aggregate ${type} has no event type ${String(event.type)}`);
    return reducer(draft, event.data, event);
  };

  const parse = (eventType: string, data: unknown, where: { aggregateId?: string; version?: number }): unknown => {
    const schema = schemas[eventType];
    if (schema === undefined) {
      throw new EventValidationError({
        aggregateType: type,
        ...where,
        eventType,
        issues: [{ path: [], code: "unknown_event_type", message: `${type} declares no event type ${JSON.stringify(eventType)}` }],
      });
    }
    const result = schema.safeParse(data);
    if (!result.success) {
      throw new EventValidationError({ aggregateType: type, ...where, eventType, issues: toIssues(result.error) });
    }
    return result.data;
  };

  // Appends store the current version of each type; version 1 is the column's default, left unsaid.
  const schemaVersionOf = (eventType: string) => {
    const version = upcasters.currentVersion(eventType);
    return version === 1 ? {} : { schemaVersion: version };
  };

  const builders = Object.fromEntries(
    eventTypes.map((eventType) => [
      eventType,
      (data: unknown, metadata?: JsonObject) => {
        const event = { type: eventType, data: parse(eventType, data, {}), ...(metadata === undefined ? {} : { metadata }), ...schemaVersionOf(eventType) };
        madeBy.set(event, aggregate);
        return event;
      },
    ]),
  ) as EventBuilders<E>;

  // Learnt from the first replay whose reducers called immer's functions on their drafts.
  let needsDrafts = false;
  const subjectOf = config.personalDataSubject as ((event: { aggregateId: string }) => string) | undefined;
  const aggregate: Aggregate<T, E, S> = {
    type,
    schemas,
    initialState,
    reducers,
    events: builders,
    snapshotEvery,
    ignoreUnknownEvents,
    upcasters,
    snapshotKey: snapshotEvery === undefined ? "" : snapshotKeyOf(config, upcasters),
    readsRecordedEvents: Object.values<(...args: never[]) => unknown>(reducers).some((reducer) => reducer.length >= 3),
    holdsPersonalData: Object.values(schemas).some(holdsPersonalData),
    personalDataSubject: (event) => (subjectOf === undefined ? event.aggregateId : subjectOf(event)),
    evolve: (state, event) => evolveWithImmer(state, event, step),
    fold: (events, state = initialState) => {
      let folded = state;
      for (const event of events) folded = evolveWithImmer(folded, event, step);
      return folded;
    },
    replay(events, state = initialState) {
      if (needsDrafts) return aggregate.fold(events, state);
      const replayed = foldInPlace(state, events, step);
      needsDrafts = replayed === DRAFTS_NEEDED;
      return replayed;
    },
    parseEvent(event) {
      const where = { aggregateId: event.aggregateId, version: event.version };
      const schemaVersion = event.schemaVersion ?? 1;
      if (schemaVersion === upcasters.currentVersion(event.type) && !upcasters.isRetired(event.type)) {
        // The common case: stored in the current shape, nothing to lift.
        if (ignoreUnknownEvents && !(event.type in schemas)) return undefined;
        return { ...event, data: parse(event.type, event.data, where) } as AggregateEvent<E>;
      }
      if (ignoreUnknownEvents && !(event.type in schemas) && !upcasters.isRetired(event.type)) return undefined;
      const lifted = upcasters.lift(event.type, schemaVersion, event.data, { aggregateType: type, ...where });
      try {
        return { ...event, type: lifted.type, data: parse(lifted.type, lifted.data, where) } as AggregateEvent<E>;
      } catch (error) {
        // Name the stored version: the steps ran, and their result does not fit the current schema.
        if (!(error instanceof EventValidationError)) throw error;
        throw new EventValidationError({ aggregateType: type, ...where, eventType: event.type, schemaVersion, issues: error.issues });
      }
    },
    parseNewEvent(event) {
      if (madeBy.get(event) === aggregate) return event as AggregateNewEvent<E>;
      const parsed = { ...event, data: parse(event.type, event.data, {}), ...schemaVersionOf(event.type) };
      madeBy.set(parsed, aggregate);
      return parsed as AggregateNewEvent<E>;
    },
  };
  return aggregate;
}

function toIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({ path: issue.path, code: issue.code, message: issue.message }));
}

function snapshotKeyOf(
  config: {
    snapshotVersion?: number;
    events: EventSchemas;
    initialState: unknown;
    evolve: Record<string, unknown>;
  },
  upcasters: Upcasters,
): string {
  const describe = (schema: z.ZodType): unknown => {
    try {
      return z.toJSONSchema(schema, { unrepresentable: "any", cycles: "ref" });
    } catch {
      return schema.def.type;
    }
  };
  const shape = {
    snapshotVersion: config.snapshotVersion ?? 0,
    events: Object.entries(config.events).map(([name, schema]) => [name, describe(schema)]),
    upcast: upcasters.describe(describe),
    initialState: config.initialState,
    reducers: Object.entries(config.evolve).map(([name, reducer]) => [name, String(reducer)]),
  };
  return createHash("sha256").update(JSON.stringify(shape)).digest("hex").slice(0, 24);
}

/** Any aggregate definition, as the source of a projection or a typed subscription. */
export type AnyAggregate = Aggregate<any, any, any>;

/** The recorded events of a list of aggregates: a union over them and their event types. */
export type ProjectionEvent<As extends ReadonlyArray<AnyAggregate>> = {
  [I in keyof As]: As[I] extends Aggregate<infer T, infer E, any>
    ? { [K in keyof E & string]: RecordedEvent<K, z.output<E[K]>> & { aggregateType: T } }[keyof E & string]
    : never;
}[number];
