import type { MeowmxTables } from "../database/tables.js";
import type { Kysely } from "kysely";

/** A stored snapshot: a stream's state as of a version. */
export interface Snapshot {
  readonly version: number;
  readonly state: unknown;
}

/** Reads and writes the latest snapshot of each stream. */
export class SnapshotStore {
  constructor(
    private readonly db: Kysely<MeowmxTables>,
    private readonly schema: string,
  ) {}

  /** The stream's snapshot made under `key`, or undefined when there is none or it was made under another key. */
  async read(aggregateType: string, aggregateId: string, key: string): Promise<Snapshot | undefined> {
    return this.db
      .withSchema(this.schema)
      .selectFrom("snapshots")
      .select(["version", "state"])
      .where("aggregate_type", "=", aggregateType)
      .where("aggregate_id", "=", aggregateId)
      .where("schema_key", "=", key)
      .executeTakeFirst();
  }

  /** Keeps `state` as the stream's snapshot unless a newer one under the same key is there. */
  async write(aggregateType: string, aggregateId: string, version: number, key: string, state: unknown): Promise<void> {
    await this.db
      .withSchema(this.schema)
      .insertInto("snapshots")
      .values({ aggregate_type: aggregateType, aggregate_id: aggregateId, version, schema_key: key, state: JSON.stringify(state) })
      .onConflict((conflict) =>
        conflict.columns(["aggregate_type", "aggregate_id"]).doUpdateSet((eb) => ({
          version: eb.ref("excluded.version"),
          schema_key: eb.ref("excluded.schema_key"),
          state: eb.ref("excluded.state"),
          created_at: eb.fn("now"),
        })).where((eb) => eb.or([eb("snapshots.schema_key", "<>", eb.ref("excluded.schema_key")), eb("snapshots.version", "<", eb.ref("excluded.version"))])),
      )
      .execute();
  }

  /** Removes the stream's snapshot. */
  async remove(aggregateType: string, aggregateId: string): Promise<void> {
    await this.db.withSchema(this.schema).deleteFrom("snapshots").where("aggregate_type", "=", aggregateType).where("aggregate_id", "=", aggregateId).execute();
  }
}
