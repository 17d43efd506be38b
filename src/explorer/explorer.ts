import type { MeowmxConfig } from "../config.js";
import type { Store } from "../store/store.js";

/** Where the explorer listens unless told otherwise. */
export const EXPLORER_DEFAULTS = { host: "127.0.0.1", port: 4000 } as const;

/** How to start the explorer: where it listens, what it may change, and the definitions it reads through. */
export interface ExplorerOptions extends Pick<MeowmxConfig, "aggregates" | "projections" | "subscriptions"> {
  /** The address to bind; default 127.0.0.1 (this machine only). */
  readonly host?: string;
  /** The port; default 4000; 0 takes any free port. */
  readonly port?: number;
  /**
   * Lets the page replay parked events and rebuild projections (those in `subscriptions` and
   * `projections`). Every write then needs the token the page gets from the explorer; default false.
   */
  readonly allowWrites?: boolean;
}

/** A running explorer. */
export interface Explorer {
  /** Its address, e.g. `http://127.0.0.1:4000/`. */
  readonly url: string;
  /** Stops serving: open pages lose their live streams. The store stays open. */
  close(): Promise<void>;
}

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
