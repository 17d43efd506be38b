import { deepStrictEqual } from "node:assert/strict";
import type { Aggregate, AggregateEvent, AggregateNewEvent, EventSchemas } from "../aggregates/define-aggregate.js";
import { type Command, type CommandResult, eventsOf, isThenable } from "../repositories/command.js";
import type { NewEvent, RecordedEvent } from "../log/events.js";
import { syntheticEvent } from "./arbitraries.js";

type MaybePromise<T> = T | Promise<T>;
/** What `thenThrows` matches: an error class, a substring of the message, or a pattern. */
export type ErrorMatcher = (abstract new (...args: never[]) => Error) | string | RegExp;

/** The outcome of a command run by {@link given}: check it with one of the `then` methods. */
export interface Outcome<S, N> {
  /** The command returned exactly these events (type, data, and metadata where given). */
  then(expected: ReadonlyArray<N> | N): MaybePromise<void>;
  /** Folding the command's events onto the given state gives `expected`. */
  thenState(expected: S): MaybePromise<void>;
  /** The command returned no event. */
  thenNothing(): MaybePromise<void>;
  /** The command threw an error that matches. */
  thenThrows(matcher: ErrorMatcher): MaybePromise<void>;
}

/** The first half of a specification: the state folded from the given events. */
export interface Given<S, N> {
  /** Runs the command on that state, as `Repository.update` would, with no database. */
  when(command: Command<S, N>): Outcome<S, N>;
}

/**
 * Given/When/Then for aggregates: the state folded from `events`, a command run on it, and what it
 * must return. Synchronous commands are checked synchronously (any runner that treats a thrown error
 * as a failure works); async ones return a promise to await.
 *
 * @example
 * ```ts
 * import { given } from "meowmx/testing";
 * import { Order } from "./order.js";
 * given(Order, [Order.events.OrderCreated({ customerId: "c-1", total: 5 })])
 *   .when(() => Order.events.OrderShipped({ trackingCode: "T" }))
 *   .then([Order.events.OrderShipped({ trackingCode: "T" })]);
 * ```
 */
export function given<T extends string, E extends EventSchemas, S>(
  aggregate: Aggregate<T, E, S>,
  events: ReadonlyArray<AggregateNewEvent<E> | RecordedEvent> = [],
): Given<S, AggregateNewEvent<E>> {
  // Recorded events given as history are read as a repository reads them: lifted to the current shapes.
  const history = events.flatMap((event, i) => recordedFrom(aggregate, event, i + 1) ?? []);
  const state = aggregate.fold(history);
  return {
    when(command) {
      let result: { events: AggregateNewEvent<E>[] } | { error: unknown } | Promise<{ events: AggregateNewEvent<E>[] } | { error: unknown }>;
      try {
        const returned = command(state);
        // Exactly what Repository.update awaits: any thenable, not only native promises.
        result = isThenable<CommandResult<AggregateNewEvent<E>>>(returned)
          ? Promise.resolve(returned).then(settled, (error: unknown) => ({ error }))
          : settled(returned);
      } catch (error) {
        result = { error };
      }
      const check = (verify: (outcome: { events: AggregateNewEvent<E>[] } | { error: unknown }) => void): MaybePromise<void> =>
        result instanceof Promise ? result.then(verify) : verify(result);
      const produced = (outcome: { events: AggregateNewEvent<E>[] } | { error: unknown }): AggregateNewEvent<E>[] => {
        if ("error" in outcome) throw new Error(`expected events, but the command threw: ${describeError(outcome.error)}`, { cause: outcome.error });
        return outcome.events.map((event) => aggregate.parseNewEvent(event));
      };
      return {
        then: (expected) =>
          check((outcome) => {
            const actual = produced(outcome);
            const wanted = (Array.isArray(expected) ? expected : [expected]) as NewEvent<string, unknown>[];
            deepStrictEqual(
              actual.map((event, i) => comparable(event, wanted[i])),
              wanted.map((event) => comparable(event, event)),
              "the command returned other events than expected",
            );
          }),
        thenState: (expected) =>
          check((outcome) => {
            const actual = produced(outcome).map((event, i) => recordedFrom(aggregate, event, history.length + i + 1)!);
            deepStrictEqual(aggregate.fold(actual, state), expected, "the state after the command is not the expected one");
          }),
        thenNothing: () =>
          check((outcome) => {
            deepStrictEqual(produced(outcome).map((event) => comparable(event, event)), [], "the command returned events");
          }),
        thenThrows: (matcher) =>
          check((outcome) => {
            if (!("error" in outcome)) {
              throw new Error(`expected the command to throw, but it returned ${JSON.stringify(outcome.events.map((e) => e.type))}`);
            }
            if (!matches(outcome.error, matcher)) {
              throw new Error(`the command threw ${describeError(outcome.error)}, which does not match ${String(matcher)}`, { cause: outcome.error });
            }
          }),
      };
    },
  };
}

function settled<N>(returned: CommandResult<N>): { events: N[] } {
  return { events: eventsOf(returned) };
}

function recordedFrom<E extends EventSchemas>(
  aggregate: Aggregate<string, E, any>,
  event: AggregateNewEvent<E> | AggregateEvent<E> | RecordedEvent,
  version: number,
): AggregateEvent<E> | undefined {
  if ("position" in event) return aggregate.parseEvent(event);
  const parsed = aggregate.parseNewEvent(event);
  const synthetic = syntheticEvent(aggregate.type, "given", version, parsed.type, parsed.data);
  return { ...synthetic, metadata: parsed.metadata ?? {}, schemaVersion: parsed.schemaVersion ?? 1 } as RecordedEvent as AggregateEvent<E>;
}

/** The parts of an event a specification compares: type and data, and metadata when expected names it. */
function comparable(event: NewEvent<string, unknown>, expected: NewEvent<string, unknown> | undefined): object {
  return expected?.metadata === undefined ? { type: event.type, data: event.data } : { type: event.type, data: event.data, metadata: event.metadata ?? {} };
}

function matches(error: unknown, matcher: ErrorMatcher): boolean {
  if (typeof matcher === "string") return error instanceof Error && error.message.includes(matcher);
  if (matcher instanceof RegExp) return error instanceof Error && matcher.test(error.message);
  return error instanceof matcher;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
