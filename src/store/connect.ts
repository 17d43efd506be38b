import type pg from "pg";
import { type BackendTarget, configuredAggregateIdType, openBackend, readAggregateIdType } from "../database/backend.js";
import type { EmbeddedDatabase } from "../database/embedded-connection.js";
import { ReadReplica } from "../database/read-replica.js";
import { assertSchemaName, assertTypeName } from "../database/identifiers.js";
import { InvalidArgumentError } from "../errors.js";
import { Commits } from "../notifications/commits.js";
import { CONSOLE_LOGGER, type Logger } from "../logger.js";
import { PersonalData } from "../personal-data/personal-data.js";
import { PersonalDataKeys } from "../tables/personal-data-keys.js";
import { migrate } from "../migrations/migrate.js";
import { assertLogFromThisCluster, type PositionRepair, renumberPositions } from "../migrations/restored-log.js";
import type { Projection } from "../projections/define-projection.js";
import { Telemetry } from "../telemetry/telemetry.js";
import { Store } from "./store.js";

/** The schema meowmx's tables live in unless `schema` says otherwise. */
export const DEFAULT_SCHEMA = "meowmx";
/** The SQL type of aggregate ids unless `aggregateIdType` says otherwise. */
export const DEFAULT_AGGREGATE_ID_TYPE = "text";

/** Options of {@link connect}. Give at most one of `dataDir`, `pglite`, `connectionString` and `pool`. */
export interface ConnectConfig {
  /** Embedded PGlite kept in this folder ("memory://" for memory only). */
  readonly dataDir?: string;
  /** An embedded PGlite instance to use; it stays open when the store closes. */
  readonly pglite?: EmbeddedDatabase;
  /** A PostgreSQL connection string; the store opens and closes its own pool. */
  readonly connectionString?: string;
  /** An existing pg.Pool; it stays open when the store closes. */
  readonly pool?: pg.Pool;
  /** With `connectionString`: the most connections the store's pool opens; default 10. */
  readonly poolSize?: number;
  /**
   * With `connectionString`: how long a call waits for a free connection before it fails, in
   * milliseconds; default 30,000 (0 waits for ever).
   */
  readonly connectionTimeoutMs?: number;
  /** The schema of meowmx's tables; default {@link DEFAULT_SCHEMA}. */
  readonly schema?: string;
  /** Whether to create or upgrade the tables on connect; default true. */
  readonly migrate?: boolean;
  /** The SQL type of aggregate ids when the tables are created: "text", "uuid", "char(20)"...; default "text". */
  readonly aggregateIdType?: string;
  /**
   * Whether subscriptions LISTEN for commits made by other processes (PostgreSQL only); default true.
   * Turn it off behind a transaction-pooling proxy such as PgBouncer, where LISTEN cannot work:
   * workers then poll, backing off up to their `maxSleepMs`.
   */
  readonly listen?: boolean;
  /**
   * Whether the statements run on every append and load are prepared once per connection (PostgreSQL
   * only); default true, which saves planning them each time. Turn it off behind a proxy that cannot
   * keep prepared statements, such as PgBouncer in transaction mode before 1.21 or without
   * `max_prepared_statements`.
   */
  readonly preparedStatements?: boolean;
  /**
   * Projections to fold inside the transaction of every append to their categories: once an append
   * returns, `store.projection(P).get(key)` shows its effect; a reducer that throws rolls it back.
   */
  readonly inlineProjections?: ReadonlyArray<Projection<any, any>>;
  /** Where background work reports; default warnings and errors to the console. */
  readonly logger?: Logger;
  /**
   * Whether to report spans and metrics through `@opentelemetry/api` when the application has it
   * installed (an optional peer dependency); default true. Without an OpenTelemetry SDK registered
   * nothing is recorded either way.
   */
  readonly telemetry?: boolean;
  /**
   * A streaming replica of the database (PostgreSQL only) for `read`, `readAll`, `follow`,
   * `correlated`, `checkEvents`, and the event reads of subscriptions and projection rebuilds.
   * Appends, transactions, loads, repositories and checkpoints stay on the primary. A replica that
   * does not answer is left for the primary for a few seconds, then tried again.
   */
  readonly readReplica?: ReadReplicaConfig;
  /**
   * Wraps the keys that seal personal data (see `personalData`): 32 bytes, as a Uint8Array, 64 hex
   * digits or base64. Without it the keys table holds the data keys as they are.
   */
  readonly encryptionKey?: string | Uint8Array;
  /**
   * Whether appends (of up to 16 events) arriving while others of this store are in flight are sent
   * together: one statement and one commit for the group, each append checked and answered as if
   * alone. Never waits when a slot is free. Default true on PostgreSQL; on the embedded database
   * each append goes alone.
   */
  readonly coalesceAppends?: boolean;
}

/** Where the read replica is: a connection string (the store opens its own pool) or a pg.Pool. */
export type ReadReplicaConfig =
  | {
      readonly connectionString: string;
      /** The most connections the replica's pool opens; default 10. */
      readonly poolSize?: number;
      /** How long a read waits to connect before it goes to the primary, in milliseconds; default 5,000. */
      readonly connectionTimeoutMs?: number;
      readonly pool?: undefined;
    }
  | { readonly pool: pg.Pool; readonly connectionString?: undefined };

/** How long a read waits by default to connect to the replica before it goes to the primary. */
const REPLICA_CONNECTION_TIMEOUT_MS = 5_000;

/**
 * Opens an event store. With no options it uses `MEOWMX_DATABASE_URL` or `DATABASE_URL` when set,
 * and an embedded in-memory PGlite otherwise.
 *
 * @example
 * ```ts
 * import { connect } from "meowmx";
 * const store = await connect();                                          // embedded, in memory
 * const onDisk = await connect({ dataDir: "./.meowmx" });                  // embedded, kept on disk
 * const server = await connect({ connectionString: process.env.DATABASE_URL });
 * await Promise.all([store.close(), onDisk.close(), server.close()]);
 * ```
 */
export async function connect(config: ConnectConfig = {}): Promise<Store> {
  const schema = assertSchemaName(config.schema ?? DEFAULT_SCHEMA);
  const configuredIdType = assertTypeName(config.aggregateIdType ?? DEFAULT_AGGREGATE_ID_TYPE);
  const logger = config.logger ?? CONSOLE_LOGGER;
  const personalData = new PersonalData(new PersonalDataKeys(schema), config.encryptionKey);
  const target = resolveTarget(config);
  const replicaTarget = resolveReplicaTarget(config, target);
  const backend = await openBackend(target, logger);
  let replica: ReadReplica | undefined;
  try {
    if (replicaTarget !== undefined) replica = new ReadReplica(await openBackend(replicaTarget, logger), logger);
    if (config.migrate ?? true) await migrate(backend.db, { schema, aggregateIdType: configuredIdType });
    const existing = await readAggregateIdType(backend.db, schema);
    if (existing !== undefined) await assertLogFromThisCluster(backend.db, schema);
    const aggregateIdType = existing ?? configuredAggregateIdType(configuredIdType);
    const commits = new Commits({ db: backend.db, schema, openClient: backend.openClient, listen: config.listen !== false, logger });
    const inlineProjections = config.inlineProjections ?? [];
    const store = new Store({
      backend,
      telemetry: config.telemetry === false ? Telemetry.off : await Telemetry.load(),
      inlineProjections,
      target: { schema, aggregateIdType: configuredIdType },
      aggregateIdType,
      commits,
      logger,
      replica,
      personalData,
      // The embedded database's one connection runs one statement at a time, and a group sent for
      // appends from several callers could not tell the one whose transaction holds it.
      coalesceAppends: backend.kind === "postgres" && (config.coalesceAppends ?? true),
    });
    // Before the first migration there is nothing to rebuild (nor the table that would tell).
    if (existing !== undefined) {
      for (const projection of inlineProjections) await store.projection(projection).rebuildIfOutdated();
    }
    return store;
  } catch (error) {
    await replica?.close();
    await backend.close();
    throw error;
  }
}

/** Where the read replica is; undefined without one. */
function resolveReplicaTarget(config: ConnectConfig, primary: BackendTarget): BackendTarget | undefined {
  const replica = config.readReplica;
  if (replica === undefined) return undefined;
  if (primary.kind !== "postgres") throw new InvalidArgumentError("a read replica needs PostgreSQL: the embedded database has none");
  if ((replica.pool === undefined) === (replica.connectionString === undefined)) {
    throw new InvalidArgumentError("readReplica needs a connectionString or a pool, not both");
  }
  const server = { kind: "postgres", preparedStatements: config.preparedStatements } as const;
  if (replica.pool !== undefined) return { ...server, pool: replica.pool };
  return {
    ...server,
    connectionString: replica.connectionString,
    poolSize: replica.poolSize,
    connectionTimeoutMs: replica.connectionTimeoutMs ?? REPLICA_CONNECTION_TIMEOUT_MS,
  };
}

/**
 * Repairs a log restored from another cluster's logical copy (pg_dump and restore, logical
 * replication), which `connect` refuses with a `RestoredLogError`: renumbers the stored positions in
 * one transaction, order kept and before anything new, and moves checkpoints, parked events and
 * projection positions with them. Idempotent: undefined when there is nothing to repair. What
 * `npx meowmx repair-positions` runs.
 */
export async function repairPositions(config: Omit<ConnectConfig, "migrate" | "inlineProjections" | "listen" | "readReplica"> = {}): Promise<PositionRepair | undefined> {
  const schema = assertSchemaName(config.schema ?? DEFAULT_SCHEMA);
  const backend = await openBackend(resolveTarget(config), config.logger ?? CONSOLE_LOGGER);
  try {
    const existing = await readAggregateIdType(backend.db, schema);
    if (existing === undefined) return undefined;
    // A dump of an older release's tables: bring them up to date first, as connect would.
    await migrate(backend.db, { schema, aggregateIdType: existing.declared });
    return await renumberPositions(backend.db, schema);
  } finally {
    await backend.close();
  }
}

function resolveTarget(config: ConnectConfig): BackendTarget {
  const given = (["dataDir", "pglite", "connectionString", "pool"] as const).filter((key) => config[key] !== undefined);
  if (given.length > 1) throw new InvalidArgumentError(`give only one of ${given.join(", ")}`);
  if (config.pglite !== undefined) return { kind: "pglite", instance: config.pglite };
  if (config.dataDir !== undefined) return { kind: "pglite", dataDir: config.dataDir };
  const server = { kind: "postgres", preparedStatements: config.preparedStatements } as const;
  if (config.pool !== undefined) return { ...server, pool: config.pool };
  const connectionString = config.connectionString ?? (process.env.MEOWMX_DATABASE_URL || process.env.DATABASE_URL || undefined);
  if (connectionString === undefined) return { kind: "pglite" };
  return { ...server, connectionString, poolSize: config.poolSize, connectionTimeoutMs: config.connectionTimeoutMs };
}
