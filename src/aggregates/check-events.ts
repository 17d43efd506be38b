import { type EventValidationError, InvalidArgumentError, type ValidationIssue } from "../errors.js";
import type { RecordedEvent } from "../log/events.js";
import type { Aggregate } from "./define-aggregate.js";

/** How many failures a report keeps in full. */
export const MAX_REPORTED_FAILURES = 100;

/** An event that its definition cannot read. */
export interface EventCheckFailure {
  readonly position: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly version: number;
  readonly eventType: string;
  readonly schemaVersion: number;
  readonly issues: ReadonlyArray<ValidationIssue>;
  /** The whole message of the error, with the failing step. */
  readonly message: string;
}

/** What `store.checkEvents` found. */
export interface EventCheckReport {
  /** Events read. */
  readonly checked: number;
  /** Events their definition cannot read. */
  readonly failed: number;
  /** Events read, by "aggregateType/EventType@schemaVersion". */
  readonly counts: Record<string, number>;
  /** The first {@link MAX_REPORTED_FAILURES} failures, in commit order. */
  readonly failures: EventCheckFailure[];
}

/** Progress of a check, reported every {@link CHECK_PROGRESS_EVERY} events and at the end. */
export interface EventCheckProgress {
  readonly events: number;
  readonly failed: number;
  readonly position: string;
}

/** How often a check reports progress, in events. */
export const CHECK_PROGRESS_EVERY = 1000;

/**
 * Reads every event through its definition, as loads will after a deploy, counting what it meets
 * and keeping what fails. Holds one event at a time: `events` may be the whole log.
 */
export async function checkEvents(
  aggregates: ReadonlyArray<Aggregate<string, any, any>>,
  events: AsyncIterable<RecordedEvent>,
  onProgress?: (progress: EventCheckProgress) => void,
): Promise<EventCheckReport> {
  const byType = definitionsByType(aggregates);
  const counts: Record<string, number> = {};
  const failures: EventCheckFailure[] = [];
  let checked = 0;
  let failed = 0;
  let position = "";
  for await (const event of events) {
    const key = `${event.aggregateType}/${event.type}@${event.schemaVersion}`;
    counts[key] = (counts[key] ?? 0) + 1;
    try {
      byType.get(event.aggregateType)?.parseEvent(event);
    } catch (error) {
      // By code, not class: definitions from a config file may come with their own copy of meowmx.
      if ((error as { code?: unknown } | null)?.code !== "EVENT_VALIDATION") throw error;
      failed++;
      if (failures.length < MAX_REPORTED_FAILURES) failures.push(failureOf(event, error as EventValidationError));
    }
    checked++;
    position = event.position;
    if (checked % CHECK_PROGRESS_EVERY === 0) onProgress?.({ events: checked, failed, position });
  }
  onProgress?.({ events: checked, failed, position });
  return { checked, failed, counts, failures };
}

/** The definitions by category; two definitions of one category are refused. */
export function definitionsByType(aggregates: ReadonlyArray<Aggregate<string, any, any>>): Map<string, Aggregate<string, any, any>> {
  const byType = new Map<string, Aggregate<string, any, any>>();
  for (const aggregate of aggregates) {
    if (byType.has(aggregate.type) && byType.get(aggregate.type) !== aggregate) {
      throw new InvalidArgumentError(`two definitions of the category ${aggregate.type}: give one per category`);
    }
    byType.set(aggregate.type, aggregate);
  }
  return byType;
}

function failureOf(event: RecordedEvent, error: EventValidationError): EventCheckFailure {
  return {
    position: event.position,
    aggregateType: event.aggregateType,
    aggregateId: event.aggregateId,
    version: event.version,
    eventType: event.type,
    schemaVersion: event.schemaVersion,
    issues: error.issues,
    message: error.message,
  };
}
