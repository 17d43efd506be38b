import type { MeowmxTables } from "../database/tables.js";
import type { Kysely } from "kysely";

/** A stored snapshot: a stream's state as of a version. */
export interface Snapshot {
  readonly version: number;
  readonly state: unknown;
  /** Where the stream was truncated (its first version kept), read with the snapshot: null when it never was. */
  readonly truncatedBefore: number | null;
}

/** Reads and writes the latest snapshot of each stream. */
export class SnapshotStore {
  constructor(
    private readonly db: Kysely<MeowmxTables>,
    private readonly schema: string,
  ) {}

  /**
   * The stream's snapshot made under `key`, or undefined when there is none or it was made under
   * another key; with where the stream was truncated, so that a load from it needs no other query.
   */
  async read(aggregateType: string, aggregateId: string, key: string): Promise<Snapshot | undefined> {
    return this.db
      .withSchema(this.schema)
      .selectFrom("snapshots as s")
      .leftJoin("stream_lifecycle as l", (join) => join.onRef("l.aggregate_type", "=", "s.aggregate_type").onRef("l.aggregate_id", "=", "s.aggregate_id"))
      .select(["s.version", "s.state", "l.truncated_before as truncatedBefore"])
      .where("s.aggregate_type", "=", aggregateType)
      .where("s.aggregate_id", "=", aggregateId)
      .where("s.schema_key", "=", key)
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

  /** Removes the snapshots of these streams, in one statement. */
  async remove(streams: ReadonlyArray<{ readonly aggregateType: string; readonly aggregateId: string }>): Promise<void> {
    if (streams.length === 0) return;
    await this.db
      .withSchema(this.schema)
      .deleteFrom("snapshots")
      .where((eb) => eb.or(streams.map((stream) => eb.and([eb("aggregate_type", "=", stream.aggregateType), eb("aggregate_id", "=", stream.aggregateId)]))))
      .execute();
  }
}
