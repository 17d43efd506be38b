import { z } from "zod";
import { InvalidArgumentError } from "../errors.js";

/** What {@link personalData} takes. */
export interface PersonalDataOptions<T> {
  /** What the field reads as once its subject is forgotten; must pass the field's schema. */
  readonly forgotten: T;
}

// The schemas marked personal, with what they read as once forgotten.
const marked = new WeakMap<z.ZodType, { readonly forgotten: unknown }>();

/**
 * Marks a field of an event schema as personal data: it is stored encrypted with its subject's key
 * (see `personalDataSubject` on the aggregate) and reads as `forgotten` once `store.forget(subject)`
 * destroyed that key. Any depth: inside objects, arrays, tuples, records, unions, optional,
 * nullable and lazy schemas (not inside intersections).
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { personalData } from "meowmx";
 * const Registered = z.object({ email: personalData(z.string().email(), { forgotten: "forgotten@invalid" }), plan: z.string() });
 * ```
 */
export function personalData<S extends z.ZodType>(schema: S, options: PersonalDataOptions<z.output<S>>): S {
  if (!(schema instanceof z.ZodType)) throw new InvalidArgumentError("personalData takes a zod schema");
  if (options === null || typeof options !== "object" || !("forgotten" in options)) {
    throw new InvalidArgumentError("personalData needs { forgotten }: what the field reads as once its subject is forgotten");
  }
  const checked = schema.safeParse(options.forgotten);
  if (!checked.success) {
    throw new InvalidArgumentError(`personalData: the forgotten value ${JSON.stringify(options.forgotten)} does not pass the field's own schema: ${checked.error.issues[0]?.message}`);
  }
  const copy = schema.clone() as S;
  marked.set(copy, { forgotten: checked.data });
  return copy;
}

/** Turns a personal value into what is stored in its place. */
export type Sealer = (value: unknown, forgotten: unknown) => unknown;

type Def = Record<string, unknown> & { type: string };
const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

// Whether a schema holds a personal field somewhere, per schema (lazy ones are unwrapped once).
const holds = new WeakMap<z.ZodType, boolean>();

/** Whether `schema` marks a personal field anywhere inside it. */
export function holdsPersonalData(schema: z.ZodType): boolean {
  const known = holds.get(schema);
  if (known !== undefined) return known;
  holds.set(schema, false); // a recursive (lazy) schema meets itself: no personal field on that path
  const found = marked.has(schema) || childrenOf(schema).some(holdsPersonalData);
  holds.set(schema, found);
  return found;
}

function childrenOf(schema: z.ZodType): z.ZodType[] {
  const def = defOf(schema);
  switch (def.type) {
    case "object":
      return [...Object.values(def.shape as Record<string, z.ZodType>), ...(def.catchall === undefined ? [] : [def.catchall as z.ZodType])];
    case "array":
      return [def.element as z.ZodType];
    case "tuple":
      return [...(def.items as z.ZodType[]), ...(def.rest ? [def.rest as z.ZodType] : [])];
    case "record":
      return [def.valueType as z.ZodType];
    case "union":
      return def.options as z.ZodType[];
    case "pipe":
      return [def.out as z.ZodType];
    case "lazy":
      return [(def.getter as () => z.ZodType)()];
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
    case "nonoptional":
    case "catch":
      return [def.innerType as z.ZodType];
    default:
      return [];
  }
}

/**
 * A parsed value with every personal field `schema` marks replaced by `seal(value, forgotten)`;
 * the value itself when it has none. Values are copied only where something changes.
 */
export function sealPersonalData(schema: z.ZodType, value: unknown, seal: Sealer): unknown {
  if (value === undefined || !holdsPersonalData(schema)) return value;
  const mark = marked.get(schema);
  if (mark !== undefined) return seal(value, mark.forgotten);
  const def = defOf(schema);
  switch (def.type) {
    case "object": {
      if (!isRecord(value)) return value;
      const shape = def.shape as Record<string, z.ZodType>;
      const entries = Object.entries(value).map(([key, field]) => {
        const fieldSchema = shape[key] ?? (def.catchall as z.ZodType | undefined);
        return [key, fieldSchema === undefined ? field : sealPersonalData(fieldSchema, field, seal)];
      });
      return Object.fromEntries(entries);
    }
    case "record":
      return isRecord(value) ? Object.fromEntries(Object.entries(value).map(([key, field]) => [key, sealPersonalData(def.valueType as z.ZodType, field, seal)])) : value;
    case "array":
      return Array.isArray(value) ? value.map((item) => sealPersonalData(def.element as z.ZodType, item, seal)) : value;
    case "tuple": {
      if (!Array.isArray(value)) return value;
      const items = def.items as z.ZodType[];
      return value.map((item, i) => {
        const itemSchema = items[i] ?? (def.rest as z.ZodType | undefined);
        return itemSchema === undefined ? item : sealPersonalData(itemSchema, item, seal);
      });
    }
    case "union": {
      // The value is one option's output: the first option that takes it is taken to be that one.
      const option = (def.options as z.ZodType[]).find((candidate) => candidate.safeParse(value).success);
      return option === undefined ? value : sealPersonalData(option, value, seal);
    }
    case "nullable":
      return value === null ? value : sealPersonalData(def.innerType as z.ZodType, value, seal);
    default: {
      const [inner] = childrenOf(schema);
      return inner === undefined ? value : sealPersonalData(inner, value, seal);
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
