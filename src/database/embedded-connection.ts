import { AsyncLocalStorage } from "node:async_hooks";
import type { PGlite } from "@electric-sql/pglite";
import { type DatabaseConnection, type Dialect, type Driver, Kysely, type TransactionSettings } from "kysely";
import { InvalidArgumentError } from "../errors.js";
import { rowModeOf } from "./prepared-statements.js";

/**
 * An embedded PGlite instance as meowmx's public types name it: structural, because PGlite's own
 * declarations need @types/emscripten, which an application checking library types may not have.
 */
export interface EmbeddedDatabase {
  query(query: string, params?: unknown[], options?: { rowMode?: "array" | "object" }): Promise<unknown>;
  close(): Promise<void>;
}

/** A transaction that holds the embedded database's one connection, while it is open. */
interface Holder {
  readonly instance: EmbeddedDatabase;
  open: boolean;
}

const holders = new AsyncLocalStorage<Holder>();

// PGlite has one connection. Stores sharing an instance must share the Kysely driver that queues for
// it too, or one store's statements would land inside another's transaction.
const kyselies = new WeakMap<EmbeddedDatabase, Kysely<any>>();

/** The Kysely instance over an embedded database, one per PGlite instance. */
export async function embeddedKysely(instance: EmbeddedDatabase): Promise<Kysely<any>> {
  let db = kyselies.get(instance);
  if (db === undefined) {
    const { PGliteDialect } = await import("kysely-pglite-dialect");
    db = kyselies.get(instance) ?? new Kysely<any>({ dialect: refusingNestedUse(new PGliteDialect(arrayRowsWhenMarked(instance) as PGlite), instance) });
    kyselies.set(instance, db);
  }
  return db;
}

/**
 * Runs `work` in a transaction on the embedded database. A call that needs the connection from
 * inside `work` (the store itself rather than `tx`) would wait for it for ever: it fails at once.
 */
export async function embeddedTransaction<T>(db: Kysely<any>, instance: EmbeddedDatabase, work: (trx: Kysely<any>) => Promise<T>): Promise<T> {
  const holder: Holder = { instance, open: true };
  try {
    return await db.transaction().execute((trx) => holders.run(holder, () => work(trx)));
  } finally {
    // Work started inside and still going (a timer, an unawaited promise) may use the store later.
    holder.open = false;
  }
}

/** The instance as the dialect sees it: a statement marked PREPARED_ARRAYS gets its rows as arrays. */
function arrayRowsWhenMarked(instance: EmbeddedDatabase): EmbeddedDatabase {
  return { query: (text, params) => instance.query(text, params, rowModeOf(text)), close: () => instance.close() };
}

/** The dialect, whose driver refuses to queue for the connection that the caller's own transaction holds. */
function refusingNestedUse(dialect: Dialect, instance: EmbeddedDatabase): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createDriver: (): Driver => {
      const driver = dialect.createDriver();
      return {
        init: () => driver.init(),
        acquireConnection: () => {
          const holder = holders.getStore();
          if (holder?.open === true && holder.instance === instance) {
            return Promise.reject(
              new InvalidArgumentError(
                "the embedded database has one connection, and the transaction this call runs in holds it: " +
                  "inside store.transaction, a subscription handler or a projection, use tx (tx.append, tx.load, tx.repository, tx.db), not the store",
              ),
            );
          }
          return driver.acquireConnection();
        },
        beginTransaction: (connection: DatabaseConnection, settings: TransactionSettings) => driver.beginTransaction(connection, settings),
        commitTransaction: (connection: DatabaseConnection) => driver.commitTransaction(connection),
        rollbackTransaction: (connection: DatabaseConnection) => driver.rollbackTransaction(connection),
        releaseConnection: (connection: DatabaseConnection) => driver.releaseConnection(connection),
        destroy: () => driver.destroy(),
      };
    },
  };
}
