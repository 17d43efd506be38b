/**
 * Runs work one at a time per key, in the order it was queued, and different keys at once. A
 * repository queues the commands of one stream here, so commands of the same process never race
 * each other for the stream's next version; only other processes' writes cause retries.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `work` after the work queued before it under `key`. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
