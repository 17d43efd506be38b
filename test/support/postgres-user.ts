import { execFile } from "node:child_process";
import { chown } from "node:fs/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Whether the tests run as root: PostgreSQL and PgBouncer refuse to, so they run as the postgres user. */
const asRoot = process.getuid?.() === 0;

/** Gives `paths` to the postgres user when the tests run as root (a server's folder, its config). */
export async function giveToPostgres(...paths: string[]): Promise<void> {
  if (!asRoot) return;
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])]);
  for (const path of paths) await chown(path, Number(uid.trim()), Number(gid.trim()));
}

/** The command and arguments that run `command args` as the postgres user when the tests run as root. */
export function asPostgres(command: string, args: ReadonlyArray<string>): [string, string[]] {
  return asRoot ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, [...args]];
}
