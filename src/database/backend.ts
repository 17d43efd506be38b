import { createHash } from "node:crypto";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import type { PGlite } from "@electric-sql/pglite";
import type { Logger } from "../logger.js";
import { NotificationListener } from "./notification-listener.js";
import { preparingPool } from "./prepared-statements.js";

/** How meowmx reaches its database: an embedded PGlite or a PostgreSQL pool. */
export interface Backend {
  readonly kind: "pglite" | "postgres";
  /** The Kysely instance over the whole database. */
  readonly db: Kysely<any>;
  /**
   * Starts listening for notifications on `channel` on a connection of its own (PostgreSQL only;
   * an embedded database has no other process to hear from).
   */
  listen?(channel: string, onNotify: () => void, logger: Logger): NotificationListener;
  /** Ends what this backend opened (not what the caller passed in). */
  close(): Promise<void>;
}

/** Where to connect, after defaults and the environment are applied. */
export type BackendTarget =
  | { readonly kind: "pglite"; readonly dataDir?: string; readonly instance?: PGlite }
  | {
      readonly kind: "postgres";
      readonly connectionString?: string;
      readonly pool?: pg.Pool;
      readonly poolSize?: number;
      readonly connectionTimeoutMs?: number;
      readonly preparedStatements?: boolean;
    };

/** The connections a pool opens by default for a connection string. */
export const DEFAULT_POOL_SIZE = 10;
/** How long a caller waits for a free connection by default before failing, in milliseconds. */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 30_000;

/** Opens the database a target names. PGlite is loaded only when it is used. */
export async function openBackend(target: BackendTarget): Promise<Backend> {
  if (target.kind === "postgres") {
    const owned = target.pool === undefined;
    const pool =
      target.pool ??
      new pg.Pool({
        connectionString: target.connectionString,
        max: target.poolSize ?? DEFAULT_POOL_SIZE,
        connectionTimeoutMillis: target.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      });
    // An idle connection the server ends (restart, pg_terminate_backend) is an error event on the
    // pool; unheard, it would end the process. The pool replaces the connection by itself.
    if (owned) {
      pool.on("error", () => {});
      // A connection ended while checked out errors on the client as well as on its query; the query
      // carries the error to the caller, the event must not end the process.
      pool.on("connect", (client) => client.on("error", () => {}));
    }
    // Kysely ends the pool it is given on destroy; a pool the caller passed in stays theirs.
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: preparingPool(pool, owned, target.preparedStatements ?? true) as unknown as pg.Pool }) });
    return {
      kind: "postgres",
      db,
      listen: (channel, onNotify, logger) => {
        const listener = new NotificationListener(() => pool.connect(), channel, onNotify, logger);
        listener.start();
        return listener;
      },
      close: () => db.destroy(),
    };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const owned = target.instance === undefined;
  const instance = target.instance ?? (await PGlite.create(target.dataDir ?? "memory://"));
  const db = await kyselyOf(instance);
  return {
    kind: "pglite",
    db,
    // Destroying the Kysely instance would close a PGlite that the caller still uses.
    close: async () => {
      if (owned) await db.destroy();
    },
  };
}

// PGlite has one connection. Stores sharing an instance must share the Kysely driver that queues for
// it too, or one store's statements would land inside another's transaction.
const pgliteDrivers = new WeakMap<PGlite, Kysely<any>>();

async function kyselyOf(instance: PGlite): Promise<Kysely<any>> {
  let db = pgliteDrivers.get(instance);
  if (db === undefined) {
    const { PGliteDialect } = await import("kysely-pglite-dialect");
    db = pgliteDrivers.get(instance) ?? new Kysely<any>({ dialect: new PGliteDialect(instance) });
    pgliteDrivers.set(instance, db);
  }
  return db;
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

/**
 * The events table's aggregate_id type: `declared` as written in DDL ("character varying(8)") and
 * `cast`, the same type without its length, for casting parameters. An explicit cast to
 * `varchar(8)` would cut a long id short; a cast to `varchar` lets the column refuse it.
 */
export interface AggregateIdType {
  readonly declared: string;
  readonly cast: string;
}

/** Reads the aggregate id type of an existing events table; undefined when there is none yet. */
export async function readAggregateIdType(db: Kysely<any>, schema: string): Promise<AggregateIdType | undefined> {
  const { rows } = await sql<{ declared: string; cast: string }>`
    select format_type(a.atttypid, a.atttypmod) as declared, format('%I.%I', n.nspname, t.typname) as cast
    from pg_attribute a join pg_type t on t.oid = a.atttypid join pg_namespace n on n.oid = t.typnamespace
    where a.attrelid = to_regclass(${`"${schema}".events`}) and a.attname = 'aggregate_id'`.execute(db);
  return rows[0];
}

/** The aggregate id type that a configured type name will give once the tables are created. */
export function configuredAggregateIdType(declared: string): AggregateIdType {
  const base = declared.replace(/\s*\(.*\)$/, "");
  // Without a length, "char" and "character" mean char(1); bpchar is the same type with no limit.
  return { declared, cast: base === "char" || base === "character" ? "bpchar" : base };
}
