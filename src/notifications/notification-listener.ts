import type pg from "pg";
import type { Logger } from "../logger.js";

/** The longest wait between two attempts to reconnect the LISTEN connection. */
export const MAX_RECONNECT_DELAY_MS = 5000;

/** How long a probe notification may take to arrive before the listener warns that none will. */
export const PROBE_TIMEOUT_MS = 2000;

/** The payload of the notification a listener sends itself, through the pool, once it listens. */
export const PROBE_PAYLOAD = "probe";

/**
 * Holds one connection that LISTENs on a channel and calls `onNotify` for every notification. When
 * the connection is lost (server restart, pg_terminate_backend) it reconnects by itself with backoff,
 * and calls `onNotify` once reconnected, since notifications sent in between are gone. Once it
 * listens, it sends a probe through `probe` (the store's pool): when that does not arrive, as behind
 * a pooler in transaction mode, it warns that workers will only poll, and says what to do.
 */
export class NotificationListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private reconnectDelay = 100;
  private timer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connect: () => Promise<pg.Client>,
    private readonly channel: string,
    private readonly onNotify: () => void,
    private readonly logger: Logger,
    private readonly probe: () => Promise<void>,
  ) {}

  /** Opens the connection; failures are retried in the background. */
  start(): void {
    void this.open();
  }

  /** Closes the connection and stops reconnecting. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.probeTimer);
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return;
    await client.end().catch(() => undefined);
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    let client: pg.Client | undefined;
    try {
      client = await this.connect();
      client.on("notification", (message) => {
        if (message.channel !== this.channel) return;
        if (message.payload === PROBE_PAYLOAD) clearTimeout(this.probeTimer);
        this.onNotify();
      });
      client.on("error", (error) => this.lost(client!, error));
      await client.query(`listen "${this.channel}"`);
      if (this.stopped) {
        await client.end();
        return;
      }
      this.client = client;
      this.reconnectDelay = 100;
      this.onNotify();
      this.sendProbe();
    } catch (error) {
      if (client !== undefined) this.lost(client, error as Error);
      else this.retry(error);
    }
  }

  private sendProbe(): void {
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => {
      this.logger.warn(
        `notifications on ${this.channel} do not arrive: a pooler in transaction mode (PgBouncer) cannot deliver them. ` +
          "Workers see other processes' commits only by polling (up to maxSleepMs late); connect with listen: false to say so, " +
          "or give the store a direct connection",
      );
    }, PROBE_TIMEOUT_MS);
    this.probeTimer.unref();
    // A probe that cannot be sent (the pool is closing) tells nothing.
    this.probe().catch(() => clearTimeout(this.probeTimer));
  }

  private lost(client: pg.Client, error: Error): void {
    if (this.client === client) this.client = undefined;
    client.removeAllListeners("notification");
    // Ending a broken connection can fail too; the error would add nothing.
    client.end().catch(() => undefined);
    this.retry(error);
  }

  private retry(error: unknown): void {
    if (this.stopped || this.timer !== undefined) return;
    this.logger.warn("LISTEN connection lost; reconnecting", { error: String(error), inMs: this.reconnectDelay });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.open();
    }, this.reconnectDelay);
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, MAX_RECONNECT_DELAY_MS);
  }
}
