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

  /** Resolves after `ms`, or at once when woken since the last sleep: to true when woken. */
  async sleep(ms: number): Promise<boolean> {
    if (this.woken) {
      this.woken = false;
      return true;
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
    const woken = this.woken;
    this.woken = false;
    return woken;
  }
}
