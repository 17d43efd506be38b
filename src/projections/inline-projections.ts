import type { Kysely } from "kysely";
import type { AnyAggregate } from "../aggregates/define-aggregate.js";
import type { AppendHook } from "../log/appender.js";
import type { RecordedEvent } from "../log/events.js";
import type { Projection } from "./define-projection.js";
import { foldChanges } from "./fold-changes.js";
import type { PersonalData } from "../personal-data/personal-data.js";
import type { ProjectionStates } from "../tables/projection-states.js";

/**
 * The append hook of inline projections: inside every append's transaction, fold the new events
 * into the states they touch. Writers of the same key wait for each other (a lock per key), and
 * all of them wait while the projection is being swapped in by a rebuild.
 */
export function inlineProjectionsHook(projections: ReadonlyArray<Projection<any, any>>, states: ProjectionStates, personalData: PersonalData): AppendHook {
  const types = new Set(projections.flatMap((projection) => projection.aggregateTypes));
  const personal = projections.some((projection) => projection.from.some((aggregate: AnyAggregate) => aggregate.holdsPersonalData));
  return {
    appliesTo: (aggregateType) => types.has(aggregateType),
    async afterAppend(stored: ReadonlyArray<RecordedEvent>, db: Kysely<any>) {
      // Reducers get personal values opened, with the keys the append's transaction may have just made.
      const events = personal ? await personalData.reveal(db, stored) : stored;
      for (const projection of projections) {
        const parsed = events.flatMap((event) => projection.parse(event) ?? []);
        if (parsed.length === 0) continue;
        await states.lockForWriting(db, projection.name);
        const keys = parsed.map((event) => projection.keyOf(event));
        await states.lockKeys(db, projection.name, keys);
        const current = await states.load(db, projection.name, keys);
        await states.write(db, projection.name, foldChanges(projection, parsed, current));
      }
    },
  };
}
