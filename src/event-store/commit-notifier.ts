/**
 * Tells whoever waits for new events that some have committed. Local listeners hear at once; other
 * processes hear through `broadcast` (a NOTIFY sent after the commit, in a transaction of its own,
 * because a NOTIFY inside the appending transaction serialises every commit). While one broadcast is
 * in flight, further commits fold into a single next one.
 */
export class CommitNotifier {
  private readonly listeners = new Set<() => void>();
  private inFlight: Promise<void> | undefined;
  private pending = false;

  constructor(
    private readonly broadcast: (() => Promise<void>) | undefined,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Called after events have committed. */
  committed(): void {
    for (const listener of this.listeners) listener();
    if (this.broadcast === undefined) return;
    if (this.inFlight !== undefined) {
      this.pending = true;
      return;
    }
    this.inFlight = this.flush(this.broadcast).finally(() => (this.inFlight = undefined));
  }

  /** Calls `listener` after every local commit of events; returns the function that stops it. */
  onCommit(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once no broadcast is in flight, so that closing the pool loses none. */
  async drained(): Promise<void> {
    await this.inFlight;
  }

  private async flush(broadcast: () => Promise<void>): Promise<void> {
    try {
      do {
        this.pending = false;
        await broadcast();
      } while (this.pending);
    } catch (error) {
      this.onError(error);
    }
  }
}
