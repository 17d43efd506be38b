import { connect } from "../store/connect.js";
import type { Store } from "../store/store.js";

/** The options every command takes: where the database is. */
export interface DatabaseOptions {
  /** A PostgreSQL URL; default MEOWMX_DATABASE_URL or DATABASE_URL. */
  readonly url?: string;
  /** An embedded PGlite folder. */
  readonly dataDir?: string;
  /** The schema of meowmx's tables. */
  readonly schema?: string;
  /** The SQL type of aggregate ids, when the tables are created. */
  readonly aggregateIdType?: string;
}

/**
 * Opens the store the options name (with neither `url` nor `dataDir`, what `connect()` picks), runs
 * `work`, and closes the store whatever happens. Only `migrate` creates tables.
 */
export async function withStore<T>(options: DatabaseOptions, work: (store: Store) => Promise<T>, migrate = false): Promise<T> {
  const store = await connect({
    ...(options.url === undefined ? {} : { connectionString: options.url }),
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(options.schema === undefined ? {} : { schema: options.schema }),
    ...(options.aggregateIdType === undefined ? {} : { aggregateIdType: options.aggregateIdType }),
    migrate,
  });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
