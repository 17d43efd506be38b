import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import type { Logger } from "../logger.js";
import { type EmbeddedDatabase, embeddedKysely, embeddedTransaction } from "./embedded-connection.js";
import { preparingPool } from "./prepared-statements.js";

/** How meowmx reaches its database: an embedded PGlite or a PostgreSQL pool. */
export interface Backend {
  readonly kind: "pglite" | "postgres";
  /** The Kysely instance over the whole database. */
  readonly db: Kysely<any>;
  /** Runs `work` in one transaction. */
  transaction<T>(work: (trx: Kysely<any>) => Promise<T>): Promise<T>;
  /**
   * Opens a connection of its own, outside the pool, with the pool's settings (PostgreSQL only; an
   * embedded database has one connection and no other process to hear from).
   */
  openClient?(): Promise<pg.Client>;
  /** Ends what this backend opened (not what the caller passed in). */
  close(): Promise<void>;
}

/** Where to connect, after defaults and the environment are applied. */
export type BackendTarget =
  | { readonly kind: "pglite"; readonly dataDir?: string; readonly instance?: EmbeddedDatabase }
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
export async function openBackend(target: BackendTarget, logger: Logger): Promise<Backend> {
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
    const idleError = (error: Error) => logger.warn("a pooled connection was lost", { error: String(error) });
    pool.on("error", idleError);
    // Kysely ends the pool it is given on destroy; a pool the caller passed in stays theirs.
    const db = new Kysely<any>({
      dialect: new PostgresDialect({ pool: preparingPool(quietClients(pool), owned, target.preparedStatements ?? true) as unknown as pg.Pool }),
    });
    return {
      kind: "postgres",
      db,
      transaction: (work) => db.transaction().execute(work),
      openClient: () => openClient(pool.options),
      close: async () => {
        await db.destroy();
        pool.off("error", idleError);
      },
    };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const owned = target.instance === undefined;
  const instance = target.instance ?? (await PGlite.create(target.dataDir ?? "memory://"));
  const db = await embeddedKysely(instance);
  return {
    kind: "pglite",
    db,
    transaction: (work) => embeddedTransaction(db, instance, work),
    // Destroying the Kysely instance would close a PGlite that the caller still uses.
    close: async () => {
      if (owned) await db.destroy();
    },
  };
}

/**
 * The pool, handing out connections that cannot end the process: a connection ended while checked
 * out errors on the client as well as on its query. The query carries the error to the caller; the
 * client's event, unheard, would end the process.
 */
function quietClients(pool: pg.Pool): Pick<pg.Pool, "connect" | "end"> {
  const quiet = new WeakSet<pg.PoolClient>();
  return {
    connect: async () => {
      const client = await pool.connect();
      if (!quiet.has(client)) {
        quiet.add(client);
        client.on("error", () => {});
      }
      return client;
    },
    end: () => pool.end(),
  };
}

/** Opens one connection outside any pool, with the pool's settings. */
async function openClient(options: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client(options);
  // From its first moment: a connection ended by the server must never be an uncaught error, even
  // before the caller has listened for errors itself.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
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
