import type { MeowmxConfig } from "../config.js";

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
