import type { Store } from "../store/store.js";
import type { Explorer, ExplorerOptions } from "./options.js";

/**
 * Serves the explorer, a web page over the store: categories and streams, a stream's events and its
 * state at any version (for aggregates given in `aggregates`), the live log, subscriptions with their
 * lag and parked events, projections and their states, and causation trees. It binds 127.0.0.1 by
 * default and answers only requests addressed to the host it is bound to.
 *
 * @example
 * ```ts
 * import { connect, startExplorer } from "meowmx";
 * const store = await connect();
 * const explorer = await startExplorer(store, { port: 4000 });
 * console.log(`open ${explorer.url}`);
 * ```
 */
export async function startExplorer(store: Store, options: ExplorerOptions = {}): Promise<Explorer> {
  // The web server loads only when an explorer starts.
  const { serveExplorer } = await import("./server.js");
  return serveExplorer(store, options);
}
