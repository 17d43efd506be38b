import { InvalidEventError } from "./errors.js";

/** A value that JSON can carry and PostgreSQL's jsonb can store. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** How deeply JSON may nest before it is refused; PostgreSQL's parser recurses per level. */
export const MAX_JSON_DEPTH = 1000;

/**
 * Checks that `value` is JSON that jsonb stores as given, and throws {@link InvalidEventError}
 * naming the path of the first offending part otherwise. `what` names the value in the message.
 */
export function assertJson(value: unknown, what: string): asserts value is JsonValue {
  const problem = findJsonProblem(value, what, new Set(), 0);
  if (problem !== undefined) throw new InvalidEventError(`${problem.path} ${problem.reason}`);
}

interface JsonProblem {
  path: string;
  reason: string;
}

function findJsonProblem(value: unknown, path: string, ancestors: Set<object>, depth: number): JsonProblem | undefined {
  switch (typeof value) {
    case "string":
      return checkString(value, path);
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : { path, reason: `is ${value}, which JSON cannot hold` };
    case "object":
      if (value === null) return undefined;
      return findContainerProblem(value, path, ancestors, depth);
    default:
      return { path, reason: `is ${typeof value === "bigint" ? "a BigInt" : `of type ${typeof value}`}, which JSON cannot hold` };
  }
}

function findContainerProblem(value: object, path: string, ancestors: Set<object>, depth: number): JsonProblem | undefined {
  if (depth >= MAX_JSON_DEPTH) return { path, reason: `nests deeper than ${MAX_JSON_DEPTH} levels` };
  if (ancestors.has(value)) return { path, reason: "refers back to itself (a cycle)" };
  const isArray = Array.isArray(value);
  if (!isArray) {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value.constructor as { name?: string } | undefined)?.name ?? "object";
      return { path, reason: `is a ${name}, not a plain object or array` };
    }
  }
  ancestors.add(value);
  try {
    if (isArray) {
      for (let i = 0; i < value.length; i++) {
        const problem = findJsonProblem(value[i], `${path}[${i}]`, ancestors, depth + 1);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    for (const [key, child] of Object.entries(value)) {
      const keyProblem = checkString(key, `${path} key ${JSON.stringify(key)}`);
      if (keyProblem !== undefined) return keyProblem;
      const problem = findJsonProblem(child, `${path}.${key}`, ancestors, depth + 1);
      if (problem !== undefined) return problem;
    }
    return undefined;
  } finally {
    ancestors.delete(value);
  }
}

function checkString(value: string, path: string): JsonProblem | undefined {
  if (value.includes("\u0000")) return { path, reason: "contains a NUL character (\\u0000), which jsonb cannot store" };
  if (!value.isWellFormed()) return { path, reason: "contains a lone UTF-16 surrogate, which jsonb cannot store" };
  return undefined;
}
