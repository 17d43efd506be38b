import { z } from "zod";
import { EventValidationError, InvalidArgumentError, type ValidationIssue } from "../errors.js";
import { assertJson } from "../json.js";
import type { EventSchemas } from "./event-schemas.js";

type Output<F> = F extends z.ZodType ? z.output<F> : never;
type LastIndex<T> = T extends readonly [...infer Init, unknown] ? `${Init["length"]}` : never;

/** What a retired event type's step must return: an event of a current type, with data in its shape. */
export type CurrentEvent<E extends EventSchemas> = { [K in keyof E & string]: { type: K; data: z.input<E[K]> } }[keyof E & string];

/**
 * One entry of `upcast`, typed from what is written: for a current event type, steps oldest first,
 * each `{ from, up }` whose `up` gets `z.output<from>`, the last one returning the current input
 * type; for a retired type, one `{ from, up }` whose `up` returns a current event.
 */
export type UpcastEntry<T, E extends EventSchemas, Current> = {
  [P in keyof T]: P extends "up"
    ? (old: Output<T["from" & keyof T]>) => CurrentEvent<E>
    : P extends "from"
      ? T[P]
      : { readonly from: T[P]; readonly up: (old: Output<T[P]>) => P extends LastIndex<T> ? Current : unknown };
};

/** The `upcast` option of `defineAggregate`, for the event schemas `E`; `U` is inferred from it. */
export type UpcastConfig<E extends EventSchemas, U> = { [K in keyof U]: UpcastEntry<U[K], E, K extends keyof E ? z.input<E[K]> : never> };

/** A step as stored data is lifted through it. */
interface Step {
  readonly from: z.ZodType;
  readonly up: (old: unknown) => unknown;
}

/** Where a stored event is, for error messages. */
export interface StoredAt {
  readonly aggregateType: string;
  readonly aggregateId?: string | undefined;
  readonly version?: number | undefined;
}

/**
 * The upcasters of one aggregate, checked at definition: per current type its steps, per retired
 * type its one step to a current event.
 */
export class Upcasters {
  private readonly steps = new Map<string, ReadonlyArray<Step>>();
  private readonly retired = new Map<string, Step>();

  constructor(
    private readonly aggregateType: string,
    private readonly schemas: EventSchemas,
    config: unknown,
  ) {
    if (config === undefined) return;
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
      throw new InvalidArgumentError(`aggregate ${aggregateType}: upcast must be an object of steps by event type`);
    }
    for (const [eventType, entry] of Object.entries(config)) {
      if (eventType in schemas) {
        if (!Array.isArray(entry) || entry.length === 0) {
          throw new InvalidArgumentError(
            `aggregate ${aggregateType}: upcast.${eventType} must be an array of steps, oldest first ({ from, up } each): ${eventType} is a current event type`,
          );
        }
        this.steps.set(eventType, entry.map((step, index) => checkedStep(step, `${aggregateType}: upcast.${eventType}[${index}]`)));
      } else {
        if (Array.isArray(entry)) {
          throw new InvalidArgumentError(`aggregate ${aggregateType}: upcast.${eventType} names a retired event type: give one { from, up } that returns a current event`);
        }
        this.retired.set(eventType, checkedStep(entry, `${aggregateType}: upcast.${eventType}`));
      }
    }
  }

  /** Whether there is any step at all. */
  get any(): boolean {
    return this.steps.size > 0 || this.retired.size > 0;
  }

  /** The schema version that appends store for `eventType`: 1 + its number of steps. */
  currentVersion(eventType: string): number {
    return (this.steps.get(eventType)?.length ?? 0) + 1;
  }

  /** Whether `eventType` is a retired type that a step maps to a current one. */
  isRetired(eventType: string): boolean {
    return this.retired.has(eventType);
  }

  /**
   * Stored data lifted to the current shape, step by step from `schemaVersion`, each step's `from`
   * checked first; the current schema is for the caller to apply. Throws {@link EventValidationError}.
   */
  lift(eventType: string, schemaVersion: number, data: unknown, at: StoredAt): { type: string; data: unknown } {
    const retired = this.retired.get(eventType);
    if (retired !== undefined) {
      this.assertNotNewer(eventType, schemaVersion, 1, at);
      const lifted = this.run(retired, data, { eventType, schemaVersion, step: 1, at });
      if (typeof lifted !== "object" || lifted === null || typeof (lifted as { type?: unknown }).type !== "string" || !((lifted as { type: string }).type in this.schemas)) {
        throw this.failure(eventType, schemaVersion, at, 1, [
          { path: ["type"], code: "upcast_type", message: `the step returned no current event type of ${this.aggregateType} (got ${JSON.stringify((lifted as { type?: unknown } | null)?.type)})` },
        ]);
      }
      return { type: (lifted as { type: string }).type, data: (lifted as { data?: unknown }).data };
    }
    const steps = this.steps.get(eventType) ?? [];
    this.assertNotNewer(eventType, schemaVersion, steps.length + 1, at);
    let lifted = data;
    for (let index = schemaVersion - 1; index < steps.length; index++) {
      lifted = this.run(steps[index]!, lifted, { eventType, schemaVersion, step: index + 1, at });
    }
    return { type: eventType, data: lifted };
  }

  /** Where lifting can start: each step's stored shape, with the event type and schema version it reads. */
  starts(): Array<{ readonly eventType: string; readonly schemaVersion: number; readonly from: z.ZodType }> {
    return [
      ...[...this.steps].flatMap(([eventType, steps]) => steps.map((step, index) => ({ eventType, schemaVersion: index + 1, from: step.from }))),
      ...[...this.retired].map(([eventType, step]) => ({ eventType, schemaVersion: 1, from: step.from })),
    ];
  }

  /** A short description of every step, for the snapshot key. */
  describe(describeSchema: (schema: z.ZodType) => unknown): unknown {
    const step = (s: Step) => ({ from: describeSchema(s.from), up: String(s.up) });
    return {
      steps: [...this.steps].map(([eventType, steps]) => [eventType, steps.map(step)]),
      retired: [...this.retired].map(([eventType, s]) => [eventType, step(s)]),
    };
  }

  private assertNotNewer(eventType: string, schemaVersion: number, current: number, at: StoredAt): void {
    if (Number.isSafeInteger(schemaVersion) && schemaVersion >= 1 && schemaVersion <= current) return;
    throw this.failure(eventType, schemaVersion, at, undefined, [
      {
        path: [],
        code: "schema_version",
        message: `stored at schema version ${schemaVersion}, but this definition knows versions 1 to ${current}: it was written by newer code`,
      },
    ]);
  }

  /** One step: its `from` checks the data, `up` lifts it; what it returns must be JSON. */
  private run(step: Step, data: unknown, where: { eventType: string; schemaVersion: number; step: number; at: StoredAt }): unknown {
    const fail = (issues: ValidationIssue[]) => this.failure(where.eventType, where.schemaVersion, where.at, where.step, issues);
    const parsed = step.from.safeParse(data);
    if (!parsed.success) throw fail(parsed.error.issues.map((issue) => ({ path: issue.path, code: issue.code, message: issue.message })));
    let lifted: unknown;
    try {
      lifted = step.up(parsed.data);
    } catch (error) {
      throw fail([{ path: [], code: "upcast_threw", message: `the step threw: ${error instanceof Error ? error.message : String(error)}` }]);
    }
    try {
      assertJson(lifted, "the step's result");
    } catch (error) {
      throw fail([{ path: [], code: "upcast_not_json", message: (error as Error).message }]);
    }
    return lifted;
  }

  private failure(eventType: string, schemaVersion: number, at: StoredAt, step: number | undefined, issues: ReadonlyArray<ValidationIssue>): EventValidationError {
    return new EventValidationError({ ...at, eventType, schemaVersion, step, issues });
  }
}

function checkedStep(step: unknown, where: string): Step {
  if (typeof step !== "object" || step === null || !((step as { from?: unknown }).from instanceof z.ZodType) || typeof (step as { up?: unknown }).up !== "function") {
    throw new InvalidArgumentError(`aggregate ${where} must be { from: a zod schema, up: a function }`);
  }
  return step as Step;
}
