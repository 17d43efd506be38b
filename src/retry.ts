import { setTimeout as delay } from "node:timers/promises";
import { assertWholeNumber } from "./arguments.js";

/**
 * Waits `ms` milliseconds, or less when `signal` aborts. Nothing stays attached to the signal once
 * the wait is over, however many waits share it.
 */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> => delay(ms, undefined, { signal }).catch(() => undefined);

/** The delay before the first retry, and the most any retry waits, in milliseconds. */
export const DEFAULT_BACKOFF = { baseMs: 5, capMs: 1000 } as const;

/**
 * Exponential backoff with full jitter: a random delay between 0 and `base * 2^(attempt-1)`, capped.
 * Randomness spreads retrying writers apart so that they stop colliding.
 */
export function backoffDelay(attempt: number): number {
  const ceiling = Math.min(DEFAULT_BACKOFF.capMs, DEFAULT_BACKOFF.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.random() * ceiling;
}

/**
 * Runs `work` (given the attempt's number, from 1) until it settles: an error that `retryable`
 * accepts runs it again after a {@link backoffDelay}, up to `maxAttempts` runs in all; any other
 * error, or the last one, is thrown.
 */
export async function withRetries<T>(maxAttempts: number, retryable: (error: unknown) => boolean, work: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      if (attempt >= maxAttempts || !retryable(error)) throw error;
      await sleep(backoffDelay(attempt));
    }
  }
}

/** Checks a `maxAttempts` option: a whole number of at least 1. */
export function assertMaxAttempts(value: unknown): asserts value is number {
  assertWholeNumber(value, "maxAttempts", 1);
}
