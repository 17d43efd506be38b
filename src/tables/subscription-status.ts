import type { ReplicaStatus } from "../database/read-replica.js";

/** What operators see of one partition of a subscription. */
export interface SubscriptionStatus {
  readonly name: string;
  readonly partition: number;
  readonly partitions: number;
  /** The position of the last event handled ("" before the first). */
  readonly position: string;
  /** The worker that holds the lease, while it holds it. */
  readonly owner: string | null;
  readonly leaseUntil: Date | null;
  readonly lastError: string | null;
  /** Committed events of its categories and partition after its position. */
  readonly lag: number;
  /** Events it gave up on and moved past. */
  readonly parked: number;
  /**
   * When committed events wait for an older transaction that is still open (readers take events in
   * commit order), the oldest open transaction: its backend pid and when it began. Null otherwise.
   */
  readonly heldBackBy: HeldBackBy | null;
  readonly updatedAt: Date;
  /** With a read replica (which batches are read from): how far it is behind the primary. */
  readonly replica?: ReplicaStatus;
}

/** The open transaction that holds readers back. */
export interface HeldBackBy {
  /** Its backend's process id (`pg_terminate_backend(pid)` ends it). */
  readonly pid: number | null;
  readonly since: Date | null;
}

/** A parked event: the event and why its subscription gave up on it. */
export interface ParkedEvent {
  readonly subscription: string;
  readonly position: string;
  readonly error: string;
  readonly attempts: number;
  readonly parkedAt: Date;
}
