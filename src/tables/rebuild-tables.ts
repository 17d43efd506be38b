import type { MeowmxTables } from "../database/tables.js";
import { randomUUID } from "node:crypto";
import { type Kysely, sql } from "kysely";
import { MeowmxError } from "../errors.js";
import { ProjectionStates } from "./projection-states.js";

/**
 * A rebuild that has shown no progress for this long is taken for dead (its process crashed), and
 * the next rebuild of its projection removes its rows. A live one notices at its next batch and fails.
 */
const ABANDONED_AFTER = sql`interval '5 minutes'`;

/**
 * The rows of rebuilds in progress: each folds into its own states in projection_rebuild_states,
 * a batch at a time, then swaps them in. projection_rebuilds tells live rebuilds from abandoned ones.
 * Two rebuilds of one projection never share rows; their swaps take turns.
 */
export class RebuildTables {
  /** A rebuild's states, named by the rebuild's id. */
  readonly states: ProjectionStates;

  constructor(private readonly schema: string) {
    this.states = new ProjectionStates(schema, "projection_rebuild_states");
  }

  private table(name: "projection_rebuilds" | "projection_rebuild_states") {
    return sql.id(this.schema, name);
  }

  /** Registers a new rebuild of `projection` and returns its id, first removing its abandoned ones. */
  async begin(db: Kysely<MeowmxTables>, projection: string): Promise<string> {
    const { rows } = await sql<{ id: string }>`
      delete from ${this.table("projection_rebuilds")}
      where name = ${projection} and heartbeat_at < now() - ${ABANDONED_AFTER} returning id`.execute(db);
    if (rows.length > 0) await this.removeStates(db, rows.map((row) => row.id));
    const id = randomUUID();
    await sql`insert into ${this.table("projection_rebuilds")} (id, name) values (${id}, ${projection})`.execute(db);
    return id;
  }

  /** Records that the rebuild is alive; throws when another rebuild has removed it as abandoned. */
  async heartbeat(db: Kysely<MeowmxTables>, id: string, projection: string): Promise<void> {
    const { rows } = await sql`
      update ${this.table("projection_rebuilds")} set heartbeat_at = now() where id = ${id} returning id`.execute(db);
    if (rows.length === 0) throw abandoned(projection);
  }

  /**
   * Replaces every state of `projection` with the rebuild's, and removes the rebuild; in the caller's
   * transaction, so that readers see the old states or the new ones. Returns how many keys it has.
   */
  async swapIn(db: Kysely<MeowmxTables>, id: string, projection: string): Promise<number> {
    const { rows } = await sql`delete from ${this.table("projection_rebuilds")} where id = ${id} returning id`.execute(db);
    if (rows.length === 0) throw abandoned(projection);
    await sql`delete from ${sql.id(this.schema, "projection_states")} where name = ${projection}`.execute(db);
    const inserted = await sql`
      insert into ${sql.id(this.schema, "projection_states")} (name, key, state, position)
      select ${projection}, key, state, position from ${this.table("projection_rebuild_states")} where name = ${id}`.execute(db);
    await this.removeStates(db, [id]);
    return Number(inserted.numAffectedRows ?? 0n);
  }

  /** Removes a failed rebuild's rows. */
  async discard(db: Kysely<MeowmxTables>, id: string): Promise<void> {
    await sql`delete from ${this.table("projection_rebuilds")} where id = ${id}`.execute(db);
    await this.removeStates(db, [id]);
  }

  private async removeStates(db: Kysely<MeowmxTables>, ids: ReadonlyArray<string>): Promise<void> {
    await sql`delete from ${this.table("projection_rebuild_states")} where name = any(${[...ids]}::text[])`.execute(db);
  }
}

function abandoned(projection: string): MeowmxError {
  return new MeowmxError(
    "REBUILD_ABANDONED",
    `the rebuild of projection ${projection} made no progress for too long and another rebuild removed it as abandoned; run it again`,
  );
}
