import type { ProjectionEvent } from "../aggregates/define-aggregate.js";
import type { Projection } from "./define-projection.js";
import type { StateChange } from "../tables/projection-states.js";

/**
 * Folds parsed events into the states they touch, starting from `current` (what is stored), and
 * returns each touched key's new state (null: deleted) with the position of its last event.
 */
export function foldChanges<S>(
  projection: Projection<any, S>,
  events: ReadonlyArray<ProjectionEvent<any>>,
  current: ReadonlyMap<string, S>,
  changes: Map<string, StateChange<S>> = new Map(),
): Map<string, StateChange<S>> {
  for (const event of events) {
    const key = projection.keyOf(event);
    const before = changes.has(key) ? (changes.get(key)!.state ?? undefined) : current.get(key);
    changes.set(key, { state: projection.apply(before, event), position: event.position });
  }
  return changes;
}
