import type { MeowmxTables } from "../database/tables.js";
import { type Kysely, sql } from "kysely";

/** The projections table: which version of each projection's definition built its states. */
export class ProjectionVersions {
  constructor(private readonly schema: string) {}

  private get table() {
    return sql.id(this.schema, "projections");
  }

  /** The version recorded for the projection `name`, or undefined when none is. */
  async stored(db: Kysely<MeowmxTables>, name: string): Promise<number | undefined> {
    const { rows } = await sql<{ version: number }>`select version from ${this.table} where name = ${name}`.execute(db);
    return rows[0]?.version;
  }

  /** Every projection with a recorded version, by name. */
  async all(db: Kysely<MeowmxTables>): Promise<Array<{ name: string; version: number; rebuiltAt: Date | null }>> {
    const { rows } = await sql<{ name: string; version: number; rebuilt_at: Date | null }>`select name, version, rebuilt_at from ${this.table} order by name`.execute(db);
    return rows.map((row) => ({ name: row.name, version: row.version, rebuiltAt: row.rebuilt_at }));
  }

  /** Records that `version` built the states just now (a rebuild). */
  async rebuilt(db: Kysely<MeowmxTables>, name: string, version: number): Promise<void> {
    await sql`
      insert into ${this.table} (name, version, rebuilt_at) values (${name}, ${version}, now())
      on conflict (name) do update set version = excluded.version, rebuilt_at = excluded.rebuilt_at`.execute(db);
  }

  /** Records `version` for a projection that has none recorded yet (and no states to rebuild). */
  async adopt(db: Kysely<MeowmxTables>, name: string, version: number): Promise<void> {
    await sql`insert into ${this.table} (name, version) values (${name}, ${version}) on conflict (name) do nothing`.execute(db);
  }

  /** Records that the states of `names` are no longer what their definition builds: each rebuilds at its next start. */
  async outdated(db: Kysely<MeowmxTables>, names: ReadonlyArray<string>): Promise<void> {
    if (names.length === 0) return;
    await sql`
      insert into ${this.table} (name, version) select unnest(${[...names]}::text[]), ${OUTDATED}
      on conflict (name) do update set version = excluded.version`.execute(db);
  }
}

/** The version recorded for states that no definition built as they are: below every definition's own. */
export const OUTDATED = -1;
