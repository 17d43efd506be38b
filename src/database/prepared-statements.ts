import { createHash } from "node:crypto";
import { sql } from "kysely";
import type pg from "pg";

const MARKED = "/* meowmx:prepared";
const MARKER = `${MARKED} */`;
const ARRAYS_MARKER = `${MARKED}, rows as arrays */`;

/**
 * Put first in a statement that runs often with the same text: on PostgreSQL it is then prepared once
 * per connection under a name of its own, and planned once instead of on every call. Planning the
 * append statement costs more than running it. Only statements whose plan cannot depend on their
 * parameters should be marked: after a few runs PostgreSQL may keep one generic plan for all.
 */
export const PREPARED = sql.raw(`${MARKER} `);

/**
 * {@link PREPARED}, and each row comes as an array of its values in the order selected rather than
 * as an object, on PostgreSQL and PGlite alike: for statements that return many rows (a stream's
 * events), where the driver building one object per row is a tenth of the read.
 */
export const PREPARED_ARRAYS = sql.raw(`${ARRAYS_MARKER} `);

/** How rows of this statement text come: as arrays for a statement marked {@link PREPARED_ARRAYS}. */
export function rowModeOf(text: string): { rowMode: "array" } | undefined {
  return text.startsWith(ARRAYS_MARKER) ? { rowMode: "array" } : undefined;
}

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
 * statements, unless `prepare` is false, and return rows as {@link PREPARED_ARRAYS} asks. `end`
 * ends the underlying pool only when `owned`.
 */
export function preparingPool(pool: DialectPool, owned: boolean, prepare: boolean): DialectPool {
  const wrapped = new WeakMap<pg.PoolClient, pg.PoolClient>();
  return {
    connect: async () => {
      const client = await pool.connect();
      let preparing = wrapped.get(client);
      if (preparing === undefined) {
        preparing = preparingClient(client, prepare);
        wrapped.set(client, preparing);
      }
      return preparing;
    },
    end: () => (owned ? pool.end() : Promise.resolve()),
  };
}

function preparingClient(client: pg.PoolClient, prepare: boolean): pg.PoolClient {
  const query = (text: unknown, values?: unknown[]) => {
    if (typeof text !== "string" || !text.startsWith(MARKED)) return client.query(text as string, values);
    return client.query({ ...(prepare ? { name: statementName(text) } : {}), text, values, ...rowModeOf(text) });
  };
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
