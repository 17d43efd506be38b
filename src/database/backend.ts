import { createHash } from "node:crypto";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import type { PGlite } from "@electric-sql/pglite";

/** How meowmx reaches its database: an embedded PGlite or a PostgreSQL pool. */
export interface Backend {
  readonly kind: "pglite" | "postgres";
  /** The Kysely instance over the whole database. */
  readonly db: Kysely<any>;
  /** The pg pool, on PostgreSQL. */
  readonly pool?: pg.Pool;
  /** Ends what this backend opened (not what the caller passed in). */
  close(): Promise<void>;
}

/** Where to connect, after defaults and the environment are applied. */
export type BackendTarget =
  | { readonly kind: "pglite"; readonly dataDir?: string; readonly instance?: PGlite }
  | { readonly kind: "postgres"; readonly connectionString?: string; readonly pool?: pg.Pool };

/** The connections a pool opens by default for a connection string. */
export const DEFAULT_POOL_SIZE = 10;

/** Opens the database a target names. PGlite is loaded only when it is used. */
export async function openBackend(target: BackendTarget): Promise<Backend> {
  if (target.kind === "postgres") {
    const owned = target.pool === undefined;
    const pool = target.pool ?? new pg.Pool({ connectionString: target.connectionString, max: DEFAULT_POOL_SIZE });
    // Kysely ends the pool it is given on destroy; a pool the caller passed in stays theirs.
    const dialectPool = owned ? pool : { connect: () => pool.connect(), end: async () => {} };
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: dialectPool as pg.Pool }) });
    return { kind: "postgres", db, pool, close: () => db.destroy() };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGliteDialect } = await import("kysely-pglite-dialect");
  const owned = target.instance === undefined;
  const instance = target.instance ?? (await PGlite.create(target.dataDir ?? "memory://"));
  const dialect = new PGliteDialect(instance);
  const db = new Kysely<any>({ dialect });
  return {
    kind: "pglite",
    db,
    // Destroying the Kysely instance would close a PGlite that the caller still uses.
    close: async () => {
      if (owned) await db.destroy();
    },
  };
}

/** The NOTIFY channel of a schema: at most 63 bytes, as PostgreSQL requires. */
export function notifyChannel(schema: string): string {
  const channel = `meowmx_${schema}`;
  return channel.length <= 63 ? channel : `meowmx_${createHash("sha256").update(schema).digest("hex").slice(0, 32)}`;
}

/** Sends an empty notification on `channel`, in a transaction of its own. */
export async function sendNotify(db: Kysely<any>, channel: string): Promise<void> {
  await sql`select pg_notify(${channel}, '')`.execute(db);
}

/** The SQL type of the events table's aggregate_id column, or undefined when the table does not exist. */
export async function readAggregateIdType(db: Kysely<any>, schema: string): Promise<string | undefined> {
  const { rows } = await sql<{ type: string }>`
    select format_type(a.atttypid, a.atttypmod) as type from pg_attribute a
    where a.attrelid = to_regclass(${`"${schema}".events`}) and a.attname = 'aggregate_id'`.execute(db);
  return rows[0]?.type;
}
