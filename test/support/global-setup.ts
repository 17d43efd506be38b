import type { TestProject } from "vitest/node";
import { startPgBouncer } from "./pgbouncer.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The PostgreSQL the tests use, or "" when there is none (PGlite only). */
    postgresUrl: string;
    /** Whether `postgresUrl` goes through PgBouncer in transaction mode (MEOWMX_TEST_POOLER=pgbouncer). */
    pooled: boolean;
  }
}

/**
 * Finds a PostgreSQL for the tests: `DATABASE_URL` when set, else a testcontainers container when
 * Docker answers, else none, and the PostgreSQL half of the suite is skipped. With
 * MEOWMX_TEST_POOLER=pgbouncer, the tests reach it through a PgBouncer in transaction mode.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const wanted = (process.env.MEOWMX_TEST_BACKENDS ?? "pglite,postgres").split(",");
  let url = wanted.includes("postgres") ? (process.env.DATABASE_URL ?? "") : "";
  let stop = async (): Promise<void> => {};
  if (url === "" && wanted.includes("postgres")) {
    const started = await startContainer();
    if (started !== undefined) ({ url, stop } = started);
  }
  const pooled = url !== "" && process.env.MEOWMX_TEST_POOLER === "pgbouncer";
  if (pooled) {
    const pooler = await startPgBouncer(url);
    url = pooler.url;
    const stopServer = stop;
    stop = async () => {
      await pooler.stop();
      await stopServer();
    };
  }
  project.provide("postgresUrl", url);
  project.provide("pooled", pooled);
  return stop;
}

async function startContainer(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import("testcontainers");
  try {
    await getContainerRuntimeClient();
  } catch {
    console.warn("meowmx tests: no DATABASE_URL and no Docker; running on PGlite only");
    return undefined;
  }
  const container = await new GenericContainer("postgres:16")
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: "trust" })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  return {
    url: `postgres://postgres@${container.getHost()}:${container.getMappedPort(5432)}/postgres`,
    stop: async () => {
      await container.stop();
    },
  };
}
