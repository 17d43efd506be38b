import { type Kysely, type SelectQueryBuilder, sql } from "kysely";
import type { MeowmxTables } from "../database/tables.js";

/** A key's new state (null: delete it) and the position of the last event folded into it. */
export interface StateChange<S> {
  readonly state: S | null;
  readonly position: string;
}

/** A key's state as stored, with the position of the last event folded into it. */
export interface StoredState<S> {
  readonly key: string;
  readonly state: S;
  readonly position: string;
  readonly updatedAt: Date;
}

// Rows per statement when a whole projection is written at once.
const CHUNK = 1000;

/**
 * The projection_states table: one row per projection and key. A rebuild's rows in progress have the
 * same shape in projection_rebuild_states, named by the rebuild.
 */
export class ProjectionStates {
  constructor(
    private readonly schema: string,
    private readonly tableName: "projection_states" | "projection_rebuild_states" = "projection_states",
  ) {}

  private get table() {
    return sql.id(this.schema, this.tableName);
  }

  /** Whether the projection `name` has any state. */
  async any(db: Kysely<MeowmxTables>, name: string): Promise<boolean> {
    const { rows } = await sql<{ found: boolean }>`select exists (select 1 from ${this.table} where name = ${name}) as found`.execute(db);
    return rows[0]?.found === true;
  }

  /** The states of `keys` (missing keys are absent from the map). */
  async load<S>(db: Kysely<MeowmxTables>, name: string, keys: ReadonlyArray<string>): Promise<Map<string, S>> {
    if (keys.length === 0) return new Map();
    const { rows } = await sql<{ key: string; state: S }>`
      select key, state from ${this.table} where name = ${name} and key = any(${[...keys]}::text[])`.execute(db);
    return new Map(rows.map((row) => [row.key, row.state]));
  }

  /**
   * Serialises writers of the same keys until the transaction ends: an advisory lock per key, taken
   * in one order so that two writers never wait for each other.
   */
  async lockKeys(db: Kysely<MeowmxTables>, name: string, keys: ReadonlyArray<string>): Promise<void> {
    const sorted = [...new Set(keys)].sort();
    await sql`select pg_advisory_xact_lock(hashtextextended(${name} || chr(31) || k, 0)) from unnest(${sorted}::text[]) as k`.execute(db);
  }

  /** Lets this transaction write the projection's states; waits while a rebuild swaps them. */
  async lockForWriting(db: Kysely<MeowmxTables>, name: string): Promise<void> {
    await sql`select pg_advisory_xact_lock_shared(${rebuildLockKey(name)})`.execute(db);
  }

  /** Keeps every other writer of the projection's states out until this transaction ends. */
  async lockForRebuild(db: Kysely<MeowmxTables>, name: string): Promise<void> {
    await sql`select pg_advisory_xact_lock(${rebuildLockKey(name)})`.execute(db);
  }

  /** Removes the state of `key` from each of the projections `names`, once their writers of that key are done. */
  async removeKey(db: Kysely<MeowmxTables>, names: ReadonlyArray<string>, key: string): Promise<void> {
    for (const name of [...names].sort()) {
      await this.lockForWriting(db, name);
      await this.lockKeys(db, name, [key]);
      await sql`delete from ${this.table} where name = ${name} and key = ${key}`.execute(db);
    }
  }

  /**
   * Removes every state, built or being rebuilt, whose JSON text contains one of `texts`, and returns
   * the names of the projections that had one.
   */
  async removeContaining(db: Kysely<MeowmxTables>, texts: ReadonlyArray<string>): Promise<string[]> {
    if (texts.length === 0) return [];
    const patterns = texts.map((text) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    const { rows } = await sql<{ name: string }>`
      with built as (delete from ${sql.id(this.schema, "projection_states")} where state::text like any(${patterns}::text[]) returning name),
      rebuilding as (
        delete from ${sql.id(this.schema, "projection_rebuild_states")} as s using ${sql.id(this.schema, "projection_rebuilds")} as r
        where s.name = r.id and s.state::text like any(${patterns}::text[]) returning r.name
      )
      select distinct name from (select name from built union all select name from rebuilding) as removed`.execute(db);
    return rows.map((row) => row.name);
  }

  /** Writes new states and deletes the keys whose state became null. */
  async write<S>(db: Kysely<MeowmxTables>, name: string, changes: ReadonlyMap<string, StateChange<S>>): Promise<void> {
    const upserts = [...changes].filter(([, change]) => change.state !== null);
    const deletes = [...changes].filter(([, change]) => change.state === null).map(([key]) => key);
    for (let i = 0; i < upserts.length; i += CHUNK) {
      const rows = upserts.slice(i, i + CHUNK).map(([key, change]) => ({ key, state: change.state, position: change.position }));
      await sql`
        insert into ${this.table} (name, key, state, position)
        select ${name}, x.key, x.state, x.position from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(key text, state jsonb, position text)
        on conflict (name, key) do update set state = excluded.state, position = excluded.position, updated_at = now()`.execute(db);
    }
    if (deletes.length > 0) await sql`delete from ${this.table} where name = ${name} and key = any(${deletes}::text[])`.execute(db);
  }

  /** The keys after `after` (in order) with their states: a page of the projection, for the explorer. */
  async page<S>(db: Kysely<MeowmxTables>, name: string, after: string, limit: number): Promise<StoredState<S>[]> {
    const { rows } = await sql<{ key: string; state: S; position: string; updated_at: Date }>`
      select key, state, position, updated_at from ${this.table} where name = ${name} and key > ${after} order by key limit ${limit}`.execute(db);
    return rows.map((row) => ({ key: row.key, state: row.state, position: row.position, updatedAt: row.updated_at }));
  }

  /** Every projection that has states: how many keys and when one last changed. */
  async summaries(db: Kysely<MeowmxTables>): Promise<Array<{ name: string; keys: number; lastChange: Date }>> {
    const { rows } = await sql<{ name: string; keys: number; last_change: Date }>`
      select name, count(*)::int as keys, max(updated_at) as last_change from ${this.table} group by name order by name`.execute(db);
    return rows.map((row) => ({ name: row.name, keys: row.keys, lastChange: row.last_change }));
  }

  /** A query over one projection's rows (key, state, position, updated_at), for callers to filter and sort. */
  query(db: Kysely<MeowmxTables>, name: string): SelectQueryBuilder<MeowmxTables, "projection_states", {}> {
    return db.withSchema(this.schema).selectFrom("projection_states").where("name", "=", name);
  }

  /** Every key of a projection, in order. */
  async keys(db: Kysely<MeowmxTables>, name: string): Promise<string[]> {
    const { rows } = await sql<{ key: string }>`select key from ${this.table} where name = ${name} order by key`.execute(db);
    return rows.map((row) => row.key);
  }
}

function rebuildLockKey(name: string) {
  return sql`hashtextextended(${`meowmx projection ${name}`}, 0)`;
}
