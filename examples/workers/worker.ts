import type { Store } from "meowmx";

/**
 * One worker of the "audit" subscription: any number may run it, one handles events at a time and
 * the others stand by until its lease (here 1 second) runs out or it stops.
 */
export function startWorker(store: Store, label: string, log: (line: string) => void) {
  return store.subscribe({
    name: "audit",
    leaseMs: 1000,
    maxSleepMs: 200,
    handler: (event) => log(`${label} handled ${event.aggregateType}/${event.aggregateId}@${event.version}`),
  });
}
