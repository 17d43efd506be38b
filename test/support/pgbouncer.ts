import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { asPostgres, giveToPostgres } from "./postgres-user.js";
import { freePort } from "./throwaway-cluster.js";

/** A PgBouncer of the test run's own, in transaction mode, in front of a PostgreSQL. */
export interface Pooler {
  /** The URL of the same database, through the pooler. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts PgBouncer in transaction mode on a free port in front of `serverUrl`'s server. It refuses
 * to run as root: as root, it runs as the postgres user. Throws when it cannot be started.
 */
export async function startPgBouncer(serverUrl: string): Promise<Pooler> {
  const server = new URL(serverUrl);
  const dir = await mkdtemp(join(tmpdir(), "meowmx-pgbouncer-"));
  const port = await freePort();
  const user = decodeURIComponent(server.username || "postgres");
  await writeFile(join(dir, "users.txt"), `"${user}" ""\n`);
  await writeFile(
    join(dir, "pgbouncer.ini"),
    [
      "[databases]",
      `* = host=${server.hostname} port=${server.port || "5432"}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${join(dir, "users.txt")}`,
      "pool_mode = transaction",
      "max_client_conn = 1000",
      "default_pool_size = 40",
      // node-postgres may send these at startup; PgBouncer would refuse the connection.
      "ignore_startup_parameters = extra_float_digits,options,statement_timeout",
      `logfile = ${join(dir, "pgbouncer.log")}`,
      `pidfile = ${join(dir, "pgbouncer.pid")}`,
      "",
    ].join("\n"),
  );
  await giveToPostgres(dir, join(dir, "users.txt"), join(dir, "pgbouncer.ini"));
  // Debian installs it outside a user's PATH.
  const binary = existsSync("/usr/sbin/pgbouncer") ? "/usr/sbin/pgbouncer" : "pgbouncer";
  const child: ChildProcess = spawn(...asPostgres(binary, [join(dir, "pgbouncer.ini")]), { stdio: "ignore" });
  const url = new URL(serverUrl);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  // Signalled by its own pid: runuser, in between as root, would not pass the signal on.
  const stop = async () => {
    const pid = Number(await readFile(join(dir, "pgbouncer.pid"), "utf8").catch(() => ""));
    if (pid > 0) {
      process.kill(pid, "SIGINT");
      for (let waited = 0; waited < 100 && alive(pid); waited++) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  };
  for (let attempt = 0; ; attempt++) {
    const client = new pg.Client({ connectionString: url.toString() });
    try {
      await client.connect();
      await client.query("select 1");
      await client.end();
      return { url: url.toString(), stop };
    } catch (error) {
      await client.end().catch(() => undefined);
      if (attempt >= 50 || child.exitCode !== null) {
        const log = await readFile(join(dir, "pgbouncer.log"), "utf8").catch(() => "");
        await stop();
        throw new Error(`PgBouncer did not start: ${String(error)}\n${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
