/**
 * Lets a worker sleep until it is woken or a timeout passes. A wake that comes while the worker is
 * busy is kept, so the next sleep returns at once and no notification is lost between two polls.
 */
export class WakeSignal {
  private woken = false;
  private release: (() => void) | undefined;

  /** Ends the current sleep, or the next one if none is under way. */
  wake(): void {
    this.woken = true;
    this.release?.();
  }

  /** Resolves after `ms`, or at once when woken since the last sleep. */
  async sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.release = done;
    });
    this.release = undefined;
    this.woken = false;
  }
}
