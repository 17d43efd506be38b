import type { Store } from "../store/store.js";

/** Every subscription's lag (its partitions' summed) at one moment. */
export interface LagSample {
  readonly at: Date;
  readonly lags: Record<string, number>;
}

/** How often the lag is sampled, and how many samples are kept (ten minutes). */
const LAG_SAMPLE_MS = 5000;
const KEPT = 120;

/** The subscriptions' lag over the last minutes, sampled while the explorer runs. */
export class LagHistory {
  private readonly samples: LagSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastError: string | undefined;

  constructor(private readonly store: Store) {}

  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), LAG_SAMPLE_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The samples, oldest first, and why the last one failed when it did. */
  snapshot(): { samples: ReadonlyArray<LagSample>; error: string | undefined } {
    return { samples: this.samples, error: this.lastError };
  }

  private async sample(): Promise<void> {
    try {
      const lags: Record<string, number> = {};
      for (const row of await this.store.subscriptionStatus()) lags[row.name] = (lags[row.name] ?? 0) + row.lag;
      this.samples.push({ at: new Date(), lags });
      if (this.samples.length > KEPT) this.samples.shift();
      this.lastError = undefined;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
    }
  }
}
