import type { Aggregate } from "./aggregates/define-aggregate.js";
import type { Projection } from "./projections/define-projection.js";
import type { ConnectConfig } from "./store/connect.js";
import type { TransactionSession } from "./store/store.js";
import type { SubscriptionConfig } from "./subscriptions/subscription-config.js";

/** What `meowmx.config.ts` exports by default, for the CLI. */
export interface MeowmxConfig {
  /** Where the database is, unless `--url` or `--data-dir` say otherwise. */
  readonly connect?: ConnectConfig;
  /** Projections that `meowmx rebuild <name>` can rebuild. */
  readonly projections?: ReadonlyArray<Projection<any, any>>;
  /** Aggregates whose stored events `meowmx check` reads through them. */
  readonly aggregates?: ReadonlyArray<Aggregate<string, any, any>>;
  /** Subscriptions whose parked events `meowmx subscriptions replay-parked <name>` can replay. */
  readonly subscriptions?: ReadonlyArray<SubscriptionConfig<TransactionSession, any>>;
}

/**
 * Declares the CLI's configuration, with types: the file `meowmx.config.ts` exports it by default.
 *
 * @example
 * ```ts
 * import { defineConfig } from "meowmx";
 * import { CustomerTotals } from "./src/customer-totals.js";
 * export default defineConfig({ connect: { schema: "shop" }, projections: [CustomerTotals] });
 * ```
 */
export function defineConfig(config: MeowmxConfig): MeowmxConfig {
  return config;
}
