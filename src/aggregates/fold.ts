import { type Draft, freeze, isDraftable, nothing, produce } from "immer";

/** Applies one event to a draft; may mutate the draft or return a whole new state. */
export type Step<S, E> = (draft: Draft<S>, event: E) => S | void;

/** One step under immer: the state after `event`, frozen, with `state` untouched. */
export function evolveWithImmer<S, E>(state: S, event: E, step: Step<S, E>): S {
  return produce(state, (draft: Draft<S>) => step(draft, event) as never) as S;
}

/** What {@link foldInPlace} returns when a step needs immer's drafts. */
export const DRAFTS_NEEDED: unique symbol = Symbol("meowmx: drafts needed");

/**
 * The fold of {@link evolveWithImmer} steps without immer, for loads, where a long stream spent a
 * tenth of its time in immer's drafts: the steps mutate a private copy of `state` (plain objects,
 * arrays, Maps and Sets copied all the way down, as immer would draft them), a state a step returns
 * is copied in turn, and the result is frozen. A value a step puts into the state (part of an
 * event's data) is changed in place by later steps where immer would have copied it: the events
 * must be the caller's own, read for this fold. A step that calls immer's own functions on its draft
 * (`current`, `original`) makes it return {@link DRAFTS_NEEDED}: the steps that ran may have changed
 * the events, which must be read again and folded with immer.
 */
export function foldInPlace<S, E>(state: S, events: ReadonlyArray<E>, step: Step<S, E>): S | typeof DRAFTS_NEEDED {
  let draft = mutableCopy(state) as Draft<S>;
  try {
    for (const event of events) {
      const returned = step(draft, event);
      if (returned !== undefined && returned !== draft) draft = mutableCopy(returned === nothing ? undefined : returned) as Draft<S>;
    }
  } catch (error) {
    if (error instanceof Error && error.message.startsWith("[Immer]")) return DRAFTS_NEEDED;
    throw error;
  }
  return freeze(draft as S, true);
}

/** A copy of `value` whose draftable parts are all new, each with its prototype. */
function mutableCopy<T>(value: T): T {
  if (!isDraftable(value)) return value;
  if (Array.isArray(value)) return value.map(mutableCopy) as T;
  if (value instanceof Map) return new Map([...value].map(([key, entry]) => [key, mutableCopy(entry)])) as T;
  if (value instanceof Set) return new Set([...value].map(mutableCopy)) as T;
  const copy = Object.create(Object.getPrototypeOf(value)) as Record<PropertyKey, unknown>;
  for (const key of Reflect.ownKeys(value as object)) copy[key] = mutableCopy((value as Record<PropertyKey, unknown>)[key]);
  return copy as T;
}
