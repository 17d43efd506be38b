import type { RecordedEvent } from "./events.js";

/**
 * The events in depth-first order of causation, each under the event that caused it (by
 * `metadata.causationId`), siblings in commit order. An event whose cause is not among them is a root.
 */
export function causationTree(events: ReadonlyArray<RecordedEvent>): Array<{ event: RecordedEvent; depth: number }> {
  const ids = new Set(events.map((event) => event.id));
  const children = new Map<string | undefined, RecordedEvent[]>();
  for (const event of events) {
    const cause = event.metadata.causationId;
    const parent = typeof cause === "string" && ids.has(cause) && cause !== event.id ? cause : undefined;
    children.set(parent, [...(children.get(parent) ?? []), event]);
  }
  const ordered: Array<{ event: RecordedEvent; depth: number }> = [];
  const seen = new Set<string>();
  const place = (event: RecordedEvent, depth: number) => {
    if (seen.has(event.id)) return;
    seen.add(event.id);
    ordered.push({ event, depth });
    for (const child of children.get(event.id) ?? []) place(child, depth + 1);
  };
  for (const root of children.get(undefined) ?? []) place(root, 0);
  // Causation ids are data: events caught in a cycle of them have no root, and stand as roots.
  for (const event of events) place(event, 0);
  return ordered;
}
