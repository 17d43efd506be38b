/**
 * The shortest time between two broadcasts, in milliseconds. Each broadcast is a transaction that
 * takes PostgreSQL's notification lock at commit; under a heavy stream of appends, one per commit
 * would cost a fifth of append throughput. Commits within the gap are announced together at its end.
 */
export const BROADCAST_INTERVAL_MS = 5;

/**
 * Tells whoever waits for new events that some have committed. Local listeners hear at once; other
 * processes hear through `broadcast` (a NOTIFY sent after the commit, in a transaction of its own,
 * because a NOTIFY inside the appending transaction serialises every commit). A commit after a quiet
 * spell is broadcast at once; commits that follow within {@link BROADCAST_INTERVAL_MS}, or while a
 * broadcast is in flight, fold into a single next one.
 */
export class CommitNotifier {
  private readonly listeners = new Set<() => void>();
  private inFlight: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pending = false;
  private lastSent = -Infinity;

  constructor(
    private readonly broadcast: (() => Promise<void>) | undefined,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Called after events have committed. */
  committed(): void {
    this.heard();
    if (this.broadcast === undefined) return;
    this.pending = true;
    this.schedule();
  }

  /** Called when another process announced a commit: tells local listeners, broadcasts nothing. */
  heard(): void {
    for (const listener of this.listeners) listener();
  }

  /** Calls `listener` after every commit of events, local or heard; returns the function that stops it. */
  onCommit(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sends a broadcast still waiting for its turn and resolves once none is in flight, so that closing the pool loses none. */
  async drained(): Promise<void> {
    while (this.inFlight !== undefined || this.timer !== undefined) {
      if (this.timer !== undefined) {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.send();
      }
      await this.inFlight;
    }
  }

  private schedule(): void {
    if (this.inFlight !== undefined || this.timer !== undefined) return;
    const wait = this.lastSent + BROADCAST_INTERVAL_MS - performance.now();
    if (wait <= 0) {
      this.send();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.send();
    }, wait);
  }

  private send(): void {
    const broadcast = this.broadcast!;
    this.pending = false;
    this.lastSent = performance.now();
    this.inFlight = broadcast()
      .catch((error: unknown) => this.onError(error))
      .finally(() => {
        this.inFlight = undefined;
        if (this.pending) this.schedule();
      });
  }
}
