import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { asPostgres, giveToPostgres } from "./postgres-user.js";

const run = promisify(execFile);

/** A PostgreSQL of the test's own: its lifecycle is the test's to play with, never the shared server's. */
export interface ThrowawayCluster {
  readonly url: string;
  /** Stops the server (fast: open sessions are ended) and starts it again on the same port. */
  restart(): Promise<void>;
  /** Runs SQL as the superuser, outside any store. */
  psql(sql: string): Promise<string>;
  /** A logical dump of one schema (pg_dump, plain SQL), as a file's path. */
  dump(schema: string): Promise<string>;
  /** Runs a SQL file (such as a dump) as the superuser, stopping at the first error. */
  restore(file: string): Promise<void>;
  /** Stops the server (fast) and leaves it stopped. */
  stop(): Promise<void>;
  /** Starts a stopped server again on the same port. */
  start(): Promise<void>;
  /**
   * A hot standby of this cluster, streaming from it: a base backup (`pg_basebackup -R`) started on
   * a port of its own. Destroy it before its primary.
   */
  standby(): Promise<ThrowawayCluster>;
  /** Stops the server and removes its files. */
  destroy(): Promise<void>;
}

/** The folder of the PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup), or undefined when there are none. */
export async function serverBinaries(): Promise<string | undefined> {
  const root = "/usr/lib/postgresql";
  const versions = await readdir(root).catch(() => []);
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  return newest === undefined ? undefined : join(root, newest, "bin");
}

/** A TCP port nothing listens on now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * Starts a PostgreSQL cluster in a temporary folder (initdb, then pg_ctl on a free port). Resolves to
 * undefined where the server binaries are missing. PostgreSQL refuses to run as root: as root, the
 * cluster runs as the postgres user.
 */
export async function startThrowawayCluster(settings: Record<string, string> = {}): Promise<ThrowawayCluster | undefined> {
  const bin = await serverBinaries();
  if (bin === undefined) return undefined;
  const server = await serverFolder(bin);
  await server.as("initdb", ["-D", server.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  return startCluster(server, settings);
}

/** A temporary folder for one server, owned by the user it runs as, and how to run its commands. */
interface ServerFolder {
  readonly bin: string;
  readonly dir: string;
  readonly data: string;
  as(command: string, args: string[]): Promise<{ stdout: string }>;
}

async function serverFolder(bin: string): Promise<ServerFolder> {
  const dir = await mkdtemp(join(tmpdir(), "meowmx-pg-"));
  await giveToPostgres(dir);
  return { bin, dir, data: join(dir, "data"), as: (command, args) => run(...asPostgres(join(bin, command), args)) };
}

/** Starts the server of a data folder on a free port, and hands it to the test. */
async function startCluster(server: ServerFolder, settings: Record<string, string>): Promise<ThrowawayCluster> {
  const { bin, dir, data, as } = server;
  const port = await freePort();
  const options = [`-p ${port}`, `-k ${dir}`, "-c listen_addresses=127.0.0.1", "-c fsync=off", ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(" ");
  const start = async () => {
    await as("pg_ctl", ["-D", data, "-o", options, "-l", join(dir, "log"), "-w", "start"]);
  };
  const stop = async () => {
    await as("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
  };
  await start();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    restart: async () => {
      await stop();
      await start();
    },
    stop,
    start,
    psql: async (sql) => (await run(join(bin, "psql"), [url, "-Atc", sql])).stdout,
    dump: async (schema) => {
      const file = join(dir, `${schema}-${Date.now()}.sql`);
      await run(join(bin, "pg_dump"), [url, "--schema", schema, "--file", file]);
      return file;
    },
    restore: async (file) => {
      await run(join(bin, "psql"), [url, "--quiet", "-v", "ON_ERROR_STOP=1", "--file", file]);
    },
    standby: async () => {
      const copy = await serverFolder(bin);
      await copy.as("pg_basebackup", ["-d", url, "-D", copy.data, "-R", "-X", "stream", "-c", "fast", "--no-sync"]);
      return startCluster(copy, settings);
    },
    destroy: async () => {
      await stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
