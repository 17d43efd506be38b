import { createHash } from "node:crypto";
import { type Kysely, sql } from "kysely";

/** The NOTIFY channel of a schema: at most 63 bytes, as PostgreSQL requires. */
export function notifyChannel(schema: string): string {
  const channel = `meowmx_${schema}`;
  return channel.length <= 63 ? channel : `meowmx_${createHash("sha256").update(schema).digest("hex").slice(0, 32)}`;
}

/** Sends an empty notification on `channel`, in a transaction of its own. */
export async function sendNotify(db: Kysely<any>, channel: string, payload = ""): Promise<void> {
  await sql`select pg_notify(${channel}, ${payload})`.execute(db);
}
