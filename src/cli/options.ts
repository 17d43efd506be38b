import type { MeowmxConfig } from "../config.js";
import { type ConnectConfig, connect } from "../store/connect.js";
import type { Store } from "../store/store.js";
import { loadConfig } from "./config-file.js";

/** The options every command takes: where the database is, and the config file. */
export interface DatabaseOptions {
  /** A PostgreSQL URL; default the config file's, then MEOWMX_DATABASE_URL or DATABASE_URL. */
  readonly url?: string;
  /** An embedded PGlite folder. */
  readonly dataDir?: string;
  /** The schema of meowmx's tables. */
  readonly schema?: string;
  /** The SQL type of aggregate ids, when the tables are created. */
  readonly aggregateIdType?: string;
  /** The config file; default meowmx.config.ts when it exists. */
  readonly config?: string;
}

/** The store the options and the config file name: the command line wins over the config file. */
export async function connectConfigOf(options: DatabaseOptions): Promise<{ connectConfig: ConnectConfig; config: MeowmxConfig }> {
  const config = await loadConfig(options.config);
  const fromFile = config.connect ?? {};
  const database =
    options.url !== undefined ? { connectionString: options.url } : options.dataDir !== undefined ? { dataDir: options.dataDir } : undefined;
  const { connectionString, dataDir, pool, pglite, ...rest } = fromFile;
  const connectConfig: ConnectConfig = {
    ...rest,
    ...(database ?? { connectionString, dataDir, pool, pglite }),
    ...(options.schema === undefined ? {} : { schema: options.schema }),
    ...(options.aggregateIdType === undefined ? {} : { aggregateIdType: options.aggregateIdType }),
  };
  return { connectConfig, config };
}

/**
 * Opens the store the options and the config file name, runs `work`, and closes the store whatever
 * happens. Only `migrate` creates tables.
 */
export async function withStore<T>(
  options: DatabaseOptions,
  work: (store: Store, config: MeowmxConfig) => Promise<T>,
  migrate = false,
): Promise<T> {
  const { connectConfig, config } = await connectConfigOf(options);
  const store = await connect({ ...connectConfig, migrate });
  try {
    return await work(store, config);
  } finally {
    await store.close();
  }
}
