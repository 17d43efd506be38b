/**
 * Tells whoever waits for new events that some have committed. Local listeners hear at once; other
 * processes hear through `broadcast` (a NOTIFY sent after the commit, in a transaction of its own,
 * because a NOTIFY inside the appending transaction serialises every commit). While one broadcast is
 * in flight, further commits fold into a single next one.
 */
export class CommitNotifier {
  private readonly listeners = new Set<() => void>();
  private sending = false;
  private pending = false;

  constructor(
    private readonly broadcast: (() => Promise<void>) | undefined,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Called after events have committed. */
  committed(): void {
    for (const listener of this.listeners) listener();
    if (this.broadcast !== undefined) void this.flush(this.broadcast);
  }

  /** Calls `listener` after every local commit of events; returns the function that stops it. */
  onCommit(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once no broadcast is in flight, so that closing the pool loses none. */
  async drained(): Promise<void> {
    while (this.sending) await new Promise((resolve) => setTimeout(resolve, 1));
  }

  private async flush(broadcast: () => Promise<void>): Promise<void> {
    if (this.sending) {
      this.pending = true;
      return;
    }
    this.sending = true;
    try {
      do {
        this.pending = false;
        await broadcast();
      } while (this.pending);
    } catch (error) {
      this.onError(error);
    } finally {
      this.sending = false;
    }
  }
}
