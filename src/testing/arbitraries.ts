import fc from "fast-check";
import type { z } from "zod";
import type { Aggregate, AggregateEvent, EventSchemas } from "../aggregates/define-aggregate.js";
import { MeowmxError } from "../errors.js";
import { encodePosition } from "../log/position.js";

/** A zod schema the deriver cannot turn into an arbitrary; names the path and the zod type. */
export class UnsupportedSchemaError extends MeowmxError {
  constructor(
    readonly path: string,
    readonly zodType: string,
    reason: string,
  ) {
    super("UNSUPPORTED_SCHEMA", `cannot generate ${zodType} at ${path}: ${reason}`);
  }
}

/** Options of the arbitraries. */
export interface ArbitraryOptions {
  /** How many times a z.lazy schema may recurse; default 3. */
  readonly maxDepth?: number;
}

/** Options of {@link arbitraryEvents}. */
export interface ArbitraryEventsOptions extends ArbitraryOptions {
  /** At most this many events; default 20. */
  readonly maxLength?: number;
  /** At least this many events; default 0. */
  readonly minLength?: number;
  /** The stream's id; default "stream-1". */
  readonly aggregateId?: string;
}

/** How many candidates in a row a refinement may reject before the deriver gives up. */
export const MAX_REJECTIONS_IN_A_ROW = 1000;

/**
 * An arbitrary of values that pass `schema`, as `schema.parse` outputs them (defaults applied).
 *
 * @example
 * ```ts
 * import fc from "fast-check";
 * import { z } from "zod";
 * import { arbitraryEventData } from "meowmx/testing";
 * const schema = z.object({ total: z.number().nonnegative(), email: z.email() });
 * fc.assert(fc.property(arbitraryEventData(schema), (data) => schema.safeParse(data).success));
 * ```
 */
export function arbitraryEventData<S extends z.ZodType>(schema: S, options: ArbitraryOptions = {}): fc.Arbitrary<z.output<S>> {
  const input = derive(schema, { path: "data", depth: 0, maxDepth: options.maxDepth ?? 3 });
  return input.map((value) => {
    const result = schema.safeParse(value);
    if (!result.success) throw new Error(`generated a value that fails its schema at data: ${result.error.message}`);
    return result.data;
  });
}

/**
 * An arbitrary of one recorded event of an aggregate, of any of its types, with valid data.
 *
 * @example
 * ```ts
 * import fc from "fast-check";
 * import { arbitraryEvent } from "meowmx/testing";
 * import { Order } from "./order.js";
 * fc.assert(fc.property(arbitraryEvent(Order), (event) => Order.evolve(Order.initialState, event) !== undefined));
 * ```
 */
export function arbitraryEvent<T extends string, E extends EventSchemas, S>(
  aggregate: Aggregate<T, E, S>,
  options: ArbitraryOptions = {},
): fc.Arbitrary<AggregateEvent<E>> {
  return arbitraryEvents(aggregate, { ...options, minLength: 1, maxLength: 1 }).map((events) => events[0]!);
}

/**
 * An arbitrary of a stream's history: events of any types, versions 1..n.
 *
 * @example
 * ```ts
 * import fc from "fast-check";
 * import { arbitraryEvents } from "meowmx/testing";
 * import { Order } from "./order.js";
 * fc.assert(fc.property(arbitraryEvents(Order, { maxLength: 50 }), (events) => Order.fold(events) !== undefined));
 * ```
 */
export function arbitraryEvents<T extends string, E extends EventSchemas, S>(
  aggregate: Aggregate<T, E, S>,
  options: ArbitraryEventsOptions = {},
): fc.Arbitrary<Array<AggregateEvent<E>>> {
  const kinds = Object.keys(aggregate.schemas).map((type) =>
    arbitraryEventData(aggregate.schemas[type]!, options).map((data) => ({ type, data })),
  );
  const aggregateId = options.aggregateId ?? "stream-1";
  return fc
    .array(fc.oneof(...kinds), { minLength: options.minLength ?? 0, maxLength: options.maxLength ?? 20 })
    .map((events) => events.map(({ type, data }, i) => syntheticEvent(aggregate.type, aggregateId, i + 1, type, data) as AggregateEvent<E>));
}

/** A recorded event made up for tests: the given stream, version, type and data. */
export function syntheticEvent(aggregateType: string, aggregateId: string, version: number, type: string, data: unknown) {
  return {
    id: `00000000-0000-4000-8000-${version.toString(16).padStart(12, "0")}`,
    aggregateType,
    aggregateId,
    version,
    type,
    data,
    metadata: {},
    position: syntheticPosition(version),
    createdAt: new Date(0),
    schemaVersion: 1,
  };
}

/** The n-th position of a made-up log. */
export function syntheticPosition(n: number): string {
  return encodePosition({ transactionId: 0n, sequence: BigInt(n) });
}

interface Context {
  readonly path: string;
  readonly depth: number;
  readonly maxDepth: number;
}

// Thrown where a z.lazy recursion is deeper than allowed; a container with room for nothing catches it.
class TooDeep extends Error {}

type Def = { type: string; [key: string]: any };
type Check = { check: string; [key: string]: any };

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

function checksOf(def: Def): Check[] {
  return ((def.checks ?? []) as Array<{ _zod: { def: Check } }>).map((check) => check._zod.def);
}

function derive(schema: z.ZodType, context: Context): fc.Arbitrary<unknown> {
  const def = defOf(schema);
  const checks = checksOf(def);
  const base = deriveBase(def, checks, context);
  return checks.some((check) => check.check === "custom") ? refined(base, schema, context, def.type) : base;
}

function deriveBase(def: Def, checks: Check[], context: Context): fc.Arbitrary<unknown> {
  const unsupported = (reason: string) => new UnsupportedSchemaError(context.path, def.type, reason);
  switch (def.type) {
    case "string":
      return deriveString(def, checks, context);
    case "number":
      return deriveNumber(def, checks);
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "any":
    case "unknown":
      return fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.parse(JSON.stringify(value).replaceAll("\\u0000", "")));
    case "literal": {
      const values = def.values as unknown[];
      if (values.some((value) => typeof value === "bigint" || value === undefined)) {
        throw unsupported("JSON holds no bigint or undefined literal");
      }
      return fc.constantFrom(...values);
    }
    case "enum":
      return fc.constantFrom(...enumValues(def.entries as Record<string, string | number>));
    case "union": {
      const options = (def.options as z.ZodType[]).flatMap((option, i) => tryDerive(option, { ...context, path: `${context.path}|${i}` }));
      if (options.length === 0) throw new TooDeep();
      return fc.oneof(...options);
    }
    case "object":
      return deriveObject(def, context);
    case "array": {
      const min = checks.find((c) => c.check === "min_length")?.minimum ?? checks.find((c) => c.check === "length_equals")?.length ?? 0;
      const max = checks.find((c) => c.check === "max_length")?.maximum ?? checks.find((c) => c.check === "length_equals")?.length ?? Math.max(min, 5);
      const items = tryDerive(def.element as z.ZodType, { ...context, path: `${context.path}[]` });
      if (items.length === 0) {
        if (min > 0) throw new TooDeep();
        return fc.constant([]);
      }
      return fc.array(items[0]!, { minLength: min, maxLength: max });
    }
    case "tuple": {
      const items = (def.items as z.ZodType[]).map((item, i) => derive(item, { ...context, path: `${context.path}[${i}]` }));
      if (def.rest) {
        const rest = derive(def.rest as z.ZodType, { ...context, path: `${context.path}[...]` });
        return fc.tuple(fc.tuple(...items), fc.array(rest, { maxLength: 3 })).map(([head, tail]) => [...head, ...tail]);
      }
      return fc.tuple(...items);
    }
    case "record": {
      const keyDef = defOf(def.keyType as z.ZodType);
      const value = derive(def.valueType as z.ZodType, { ...context, path: `${context.path}{}` });
      if (keyDef.type === "enum") {
        const keys = enumValues(keyDef.entries as Record<string, string | number>).map(String);
        return fc.record(Object.fromEntries(keys.map((key) => [key, value])));
      }
      const key = derive(def.keyType as z.ZodType, { ...context, path: `${context.path} key` }) as fc.Arbitrary<string>;
      return fc.dictionary(key, value, { maxKeys: 5 });
    }
    case "optional":
    case "readonly":
    case "nonoptional":
    case "catch":
      return derive(def.innerType as z.ZodType, context);
    case "default":
    case "prefault":
      return fc.oneof(derive(def.innerType as z.ZodType, context), fc.constant(undefined));
    case "nullable": {
      const inner = tryDerive(def.innerType as z.ZodType, context);
      return inner.length === 0 ? fc.constant(null) : fc.option(inner[0]!, { nil: null });
    }
    case "lazy": {
      if (context.depth >= context.maxDepth) throw new TooDeep();
      return derive((def.getter as () => z.ZodType)(), { ...context, depth: context.depth + 1 });
    }
    case "pipe":
      // Generate what the pipe takes in; its output comes from parsing that.
      return derive(def.in as z.ZodType, context);
    case "bigint":
      throw unsupported("JSON has no bigint; store it as a string or number");
    default:
      throw unsupported("not a JSON value (or not supported yet)");
  }
}

/** An enum's values; a TypeScript enum's reverse entries (2 -> "Green") are not values. */
function enumValues(entries: Record<string, string | number>): Array<string | number> {
  const numbers = Object.values(entries).filter((value) => typeof value === "number");
  return Object.entries(entries)
    .filter(([key]) => !numbers.includes(Number(key)))
    .map(([, value]) => value);
}

/** Derives an arbitrary, or nothing when the schema only recurses deeper than allowed. */
function tryDerive(schema: z.ZodType, context: Context): fc.Arbitrary<unknown>[] {
  try {
    return [derive(schema, context)];
  } catch (error) {
    if (error instanceof TooDeep) return [];
    throw error;
  }
}

function deriveObject(def: Def, context: Context): fc.Arbitrary<unknown> {
  const shape = def.shape as Record<string, z.ZodType>;
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  const requiredKeys: string[] = [];
  for (const [key, value] of Object.entries(shape)) {
    const optional = ["optional", "default", "prefault"].includes(defOf(value).type);
    const derived = tryDerive(value, { ...context, path: `${context.path}.${key}` });
    if (derived.length === 0) {
      if (!optional) throw new TooDeep();
      continue;
    }
    model[key] = derived[0]!;
    if (!optional) requiredKeys.push(key);
  }
  const object = fc.record(model, { requiredKeys });
  const catchall = def.catchall === undefined ? undefined : defOf(def.catchall as z.ZodType).type;
  if (catchall === undefined || catchall === "never") return object;
  // A loose object takes keys it does not declare: add some, of JSON values.
  const extra = fc.dictionary(
    fc.string({ minLength: 1, maxLength: 6 }).filter((key) => !(key in shape) && key !== "__proto__"),
    derive(def.catchall as z.ZodType, { ...context, path: `${context.path}.*` }),
    { maxKeys: 3 },
  );
  return fc.tuple(object, extra).map(([declared, more]) => ({ ...more, ...declared }));
}

const TEXT_UNIT = fc.oneof({ weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 1 }) }, { weight: 1, arbitrary: fc.constantFrom("é", "ß", "ж", "漢", "\n", "\"", "\\") });

function deriveString(def: Def, checks: Check[], context: Context): fc.Arbitrary<string> {
  const format: string | undefined = def.format ?? checks.find((c) => c.check === "string_format")?.format;
  const exact = checks.find((c) => c.check === "length_equals")?.length as number | undefined;
  const min = exact ?? (checks.find((c) => c.check === "min_length")?.minimum as number | undefined) ?? 0;
  const max = exact ?? (checks.find((c) => c.check === "max_length")?.maximum as number | undefined);
  const fits = (s: string) => s.length >= min && (max === undefined || s.length <= max);
  const formatted = (() => {
    switch (format) {
      case undefined:
        return undefined;
      case "email":
        return fc
          .tuple(fc.stringMatching(/^[a-z0-9]{1,10}$/), fc.stringMatching(/^[a-z]{1,10}$/), fc.constantFrom("com", "org", "io", "net"))
          .map(([user, host, tld]) => `${user}@${host}.${tld}`);
      case "uuid":
      case "guid":
        return fc.uuid();
      case "url":
        return fc.webUrl();
      case "datetime":
        return isoDate().map((date) => date.toISOString());
      case "date":
        return isoDate().map((date) => date.toISOString().slice(0, 10));
      case "regex": {
        const pattern = checks.find((c) => c.check === "string_format" && c.format === "regex")?.pattern as RegExp;
        return fc.stringMatching(pattern);
      }
      default: {
        const pattern = (def.pattern ?? checks.find((c) => c.check === "string_format")?.pattern) as RegExp | undefined;
        if (pattern === undefined) throw new UnsupportedSchemaError(context.path, `string (${format})`, "no pattern to generate from");
        return fc.stringMatching(pattern);
      }
    }
  })();
  if (formatted !== undefined) return rejectingTooOften(formatted, fits, context, `string (${format})`);
  return fc.array(TEXT_UNIT, { minLength: min, maxLength: max ?? Math.max(min, 12) }).map((units) => units.join(""));
}

function isoDate(): fc.Arbitrary<Date> {
  return fc.date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("2999-12-31T23:59:59Z"), noInvalidDate: true });
}

function deriveNumber(def: Def, checks: Check[]): fc.Arbitrary<number> {
  const integer = def.format === "safeint" || def.format === "int32" || def.format === "uint32" || checks.some((c) => c.check === "number_format");
  let min = -1e9;
  let max = 1e9;
  let minExcluded = false;
  let maxExcluded = false;
  for (const check of checks) {
    if (check.check === "greater_than" && check.value >= min) [min, minExcluded] = [check.value, !check.inclusive];
    if (check.check === "less_than" && check.value <= max) [max, maxExcluded] = [check.value, !check.inclusive];
  }
  const step = checks.find((c) => c.check === "multiple_of")?.value as number | undefined;
  if (step !== undefined) {
    const low = Math.ceil((minExcluded ? min + step / 2 : min) / step);
    const high = Math.floor((maxExcluded ? max - step / 2 : max) / step);
    return fc.integer({ min: low, max: high }).map((k) => (k * step === 0 ? 0 : k * step));
  }
  if (integer) {
    return fc.integer({ min: Math.ceil(minExcluded ? min + 1 : min), max: Math.floor(maxExcluded ? max - 1 : max) });
  }
  // JSON keeps no negative zero: generate 0 instead.
  return fc.double({ min, max, minExcluded, maxExcluded, noNaN: true, noDefaultInfinity: true }).map((n) => (n === 0 ? 0 : n));
}

function refined(base: fc.Arbitrary<unknown>, schema: z.ZodType, context: Context, zodType: string): fc.Arbitrary<unknown> {
  return rejectingTooOften(base, (value) => schema.safeParse(value).success, context, `${zodType} with a refinement`);
}

function rejectingTooOften<T>(arbitrary: fc.Arbitrary<T>, accept: (value: T) => boolean, context: Context, zodType: string): fc.Arbitrary<T> {
  let rejectedInARow = 0;
  return arbitrary.filter((value) => {
    if (accept(value)) {
      rejectedInARow = 0;
      return true;
    }
    if (++rejectedInARow >= MAX_REJECTIONS_IN_A_ROW) {
      rejectedInARow = 0;
      throw new UnsupportedSchemaError(context.path, zodType, `its checks rejected ${MAX_REJECTIONS_IN_A_ROW} generated values in a row; generate such data yourself`);
    }
    return false;
  });
}
