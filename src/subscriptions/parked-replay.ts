import { SubscriptionError } from "../errors.js";
import { causationMetadata, withEventMetadata } from "../log/event-metadata.js";
import type { RecordedEvent } from "../log/events.js";
import { positionBefore } from "../log/position.js";
import type { Scope } from "../scope/scope.js";

/**
 * Runs `handler` again on every event the subscription `name` parked (its personal values opened, as
 * a worker's handler gets them), oldest first, each in its own
 * transaction that also forgets it; stops at the first that fails again. No worker needs to run.
 */
export async function replayParked<Tx>(
  scope: Scope<Tx>,
  name: string,
  handler: (event: RecordedEvent, tx: Tx) => Promise<void> | void,
): Promise<number> {
  let replayed = 0;
  let pass: number;
  // Again until none is left: a worker may park more behind a stream's parked events meanwhile.
  do {
    pass = 0;
    for (const parked of await scope.tables.parkedEvents.parked(scope.db, name)) {
      const handled = await scope.transaction(async ({ session: tx, db, log }) => {
        // Taken first: a replay running at the same time waits here, then finds the event gone.
        if (!(await scope.tables.parkedEvents.unpark(db, name, parked.position))) return false;
        const [stored] = await log.read({ after: positionBefore(parked.position), limit: 1 });
        if (stored === undefined || stored.position !== parked.position) {
          throw new SubscriptionError(name, `parked event ${parked.position} is no longer in the log`, parked.position);
        }
        const [event] = (await scope.personalData.reveal(db, [stored])) as [RecordedEvent];
        await withEventMetadata(causationMetadata(event), () => handler(event, tx));
        return true;
      });
      if (handled) pass++;
    }
    replayed += pass;
  } while (pass > 0);
  return replayed;
}
