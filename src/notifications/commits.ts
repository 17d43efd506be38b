import type { Kysely } from "kysely";
import type pg from "pg";
import type { Logger } from "../logger.js";
import { notifyChannel, sendNotify } from "./channel.js";
import { CommitNotifier } from "./commit-notifier.js";
import { NotificationListener, PROBE_PAYLOAD } from "./notification-listener.js";

/** What {@link Commits} needs: where to NOTIFY, how to LISTEN, and where to report. */
export interface CommitsConfig {
  /** The database (pool) that notifications are sent through. */
  readonly db: Kysely<any>;
  /** The schema of meowmx's tables, which names the channel. */
  readonly schema: string;
  /**
   * Opens a connection of its own for LISTEN; undefined on an embedded database, which has no other
   * process to tell or to hear from.
   */
  readonly openClient: (() => Promise<pg.Client>) | undefined;
  /** Whether to LISTEN for other processes' commits (false behind a transaction-mode pooler). */
  readonly listen: boolean;
  readonly logger: Logger;
}

/**
 * Everything about "events have committed": a local commit wakes this process's waiters at once and
 * is announced to other processes (NOTIFY, coalesced by {@link CommitNotifier}); once anything waits,
 * other processes' commits are heard (LISTEN, on a connection of its own, by
 * {@link NotificationListener}) and wake the waiters too.
 */
export class Commits {
  private readonly channel: string;
  private readonly notifier: CommitNotifier;
  private listener: NotificationListener | undefined;

  constructor(private readonly config: CommitsConfig) {
    this.channel = notifyChannel(config.schema);
    const broadcast = config.openClient === undefined ? undefined : () => sendNotify(config.db, this.channel);
    this.notifier = new CommitNotifier(broadcast, (error) => config.logger.warn("could not notify subscribers", { error }));
  }

  /** Called once events have committed here. */
  committed(): void {
    this.notifier.committed();
  }

  /**
   * Calls `waiter` after every commit, here or in another process; returns the function that stops
   * it. The first waiter starts listening.
   */
  onCommit(waiter: () => void): () => void {
    const stop = this.notifier.onCommit(waiter);
    this.listen();
    return stop;
  }

  /** Wakes every waiter without announcing anything: a checkpoint moved, the store closes. */
  wake(): void {
    this.notifier.heard();
  }

  /** Stops listening and sends what is still to be announced. */
  async close(): Promise<void> {
    await this.listener?.stop();
    await this.notifier.drained();
  }

  private listen(): void {
    const { openClient, listen, db, logger } = this.config;
    if (!listen || openClient === undefined || this.listener !== undefined) return;
    const probe = () => sendNotify(db, this.channel, PROBE_PAYLOAD);
    this.listener = new NotificationListener(openClient, this.channel, () => this.notifier.heard(), logger, probe);
    this.listener.start();
  }
}
