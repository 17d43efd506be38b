/**
 * Runs work one at a time per key, in the order it was queued, and different keys at once. Each
 * piece of work gets what the one before it under the same key returned (undefined when that one
 * failed or the queue was empty). A repository queues the commands of one stream here, so commands
 * of the same process never race each other for the stream's next version, and each starts from
 * the state the previous one left instead of loading the stream again.
 */
export class KeyedQueue<V> {
  private readonly tails = new Map<string, Promise<V | undefined>>();

  /** Runs `work` after the work queued before it under `key`. */
  run<T extends V>(key: string, work: (previous: V | undefined) => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve(undefined);
    const result = before.then(work);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

/** What a command leaves for the next command of its stream: the definition it ran under, and the stream as it left it. */
export interface LeftByCommand {
  /** The aggregate definition: a state is only reused under the same one. */
  readonly aggregate: object;
  readonly state: unknown;
  readonly version: number;
  /** The version of the stream's newest snapshot. */
  readonly snapshotVersion: number;
}
