import { randomBytes } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, afterEach, describe, inject } from "vitest";
import { type ConnectConfig, connect, type Store } from "../../src/index.js";
import { QUIET } from "./quiet-logger.js";

/** The backends a test file runs on. */
export type BackendKind = "pglite" | "postgres";

/** What a backend's tests get. */
export interface BackendContext {
  readonly kind: BackendKind;
  /** A store in a schema of its own, dropped after the test. */
  newStore(config?: Omit<ConnectConfig, "dataDir" | "pglite" | "connectionString" | "pool">): Promise<Store>;
  /** A fresh schema name, dropped after the test. */
  newSchema(): string;
  /** How a store reaches this backend: the file's PGlite, or the PostgreSQL of the run. */
  where(): Promise<ConnectConfig>;
  /** Runs SQL on the backend's database, outside any store. */
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
}

/** The PostgreSQL URL of this run, or "" when the tests run on PGlite only. */
export const postgresUrl = (): string => inject("postgresUrl");

/**
 * How a store reaches this run's PostgreSQL: through a pooler in transaction mode
 * (MEOWMX_TEST_POOLER), without LISTEN and without statements prepared per connection.
 */
export const postgresConnection = (): ConnectConfig => ({
  connectionString: postgresUrl(),
  ...(inject("pooled") ? { listen: false, preparedStatements: false } : {}),
});

/** The backends enabled for this run: PGlite always (unless narrowed), PostgreSQL when one is there. */
export function enabledBackends(): BackendKind[] {
  const wanted = (process.env.MEOWMX_TEST_BACKENDS ?? "pglite,postgres").split(",");
  return (["pglite", "postgres"] as const).filter((kind) => wanted.includes(kind) && (kind === "pglite" || postgresUrl() !== ""));
}

/**
 * Declares the same tests for every enabled backend. A file shares one PGlite (it takes seconds to
 * start) and one pg pool; every store gets a schema of its own, so tests can run in parallel.
 */
export function describeEachBackend(name: string, tests: (context: BackendContext) => void): void {
  for (const kind of enabledBackends()) {
    describe(`${name} [${kind}]`, () => tests(backendContext(kind)));
  }
}

/** Declares tests that need real concurrent connections: PostgreSQL only. */
export function describePostgres(name: string, tests: (context: BackendContext) => void): void {
  describe.runIf(enabledBackends().includes("postgres"))(`${name} [postgres]`, () => tests(backendContext("postgres")));
}

function backendContext(kind: BackendKind): BackendContext {
  let pglite: Promise<PGlite> | undefined;
  let pool: pg.Pool | undefined;
  const stores: Store[] = [];
  const schemas: string[] = [];

  const getPglite = (): Promise<PGlite> => (pglite ??= PGlite.create("memory://"));
  const getPool = (): pg.Pool => (pool ??= new pg.Pool({ connectionString: postgresUrl(), max: 30 }));
  const query = async <R>(text: string, params: unknown[] = []): Promise<R[]> =>
    kind === "pglite" ? ((await (await getPglite()).query(text, params)).rows as R[]) : (await getPool().query(text, params)).rows;
  const newSchema = (): string => {
    const schema = `t_${randomBytes(6).toString("hex")}`;
    schemas.push(schema);
    return schema;
  };

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    for (const schema of schemas.splice(0)) await query(`drop schema if exists "${schema}" cascade`);
  });
  afterAll(async () => {
    await (await pglite)?.close();
    await pool?.end();
  });

  const whereOf = async (): Promise<ConnectConfig> => (kind === "pglite" ? { pglite: await getPglite() } : postgresConnection());

  return {
    kind,
    newSchema,
    query,
    where: whereOf,
    async newStore(config = {}) {
      const where = await whereOf();
      if (config.schema !== undefined) schemas.push(config.schema);
      const store = await connect({ logger: QUIET, ...config, schema: config.schema ?? newSchema(), ...where });
      stores.push(store);
      return store;
    },
  };
}
