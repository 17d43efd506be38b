import { createHash } from "node:crypto";
import { sql } from "kysely";
import type pg from "pg";

const MARKER = "/* meowmx:prepared */";

/**
 * Put first in a statement that runs often with the same text: on PostgreSQL it is then prepared once
 * per connection under a name of its own, and planned once instead of on every call. Planning the
 * append statement costs more than running it. Only statements whose plan cannot depend on their
 * parameters should be marked: after a few runs PostgreSQL may keep one generic plan for all.
 */
export const PREPARED = sql.raw(`${MARKER} `);

/** A statement text marked as {@link PREPARED}, for statements built once and run without Kysely's builder. */
export function markPrepared(text: string): string {
  return `${MARKER} ${text}`;
}

/** What Kysely's PostgreSQL dialect needs of a pool. */
interface DialectPool {
  connect(): Promise<pg.PoolClient>;
  end(): Promise<void>;
}

/**
 * A pool for Kysely whose connections run statements marked {@link PREPARED} as named prepared
 * statements, unless `prepare` is false. `end` ends the underlying pool only when `owned`.
 */
export function preparingPool(pool: DialectPool, owned: boolean, prepare: boolean): DialectPool {
  const wrapped = new WeakMap<pg.PoolClient, pg.PoolClient>();
  return {
    connect: async () => {
      const client = await pool.connect();
      if (!prepare) return client;
      let preparing = wrapped.get(client);
      if (preparing === undefined) {
        preparing = preparingClient(client);
        wrapped.set(client, preparing);
      }
      return preparing;
    },
    end: () => (owned ? pool.end() : Promise.resolve()),
  };
}

function preparingClient(client: pg.PoolClient): pg.PoolClient {
  const query = (text: unknown, values?: unknown[]) =>
    typeof text === "string" && text.startsWith(MARKER)
      ? client.query({ name: statementName(text), text, values })
      : client.query(text as string, values);
  return { query, release: (destroy?: boolean) => client.release(destroy) } as unknown as pg.PoolClient;
}

// Names by text, so that one name never stands for two statements on a connection. The texts are few
// (a handful per schema), but a process that opens stores over many schemas must not grow forever.
const names = new Map<string, string>();
const MAX_NAMES = 1000;

function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    if (names.size >= MAX_NAMES) names.clear();
    name = `meowmx_${createHash("sha256").update(text).digest("hex").slice(0, 32)}`;
    names.set(text, name);
  }
  return name;
}
