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
  if (isStorable(value, new Set(), 0)) return;
  // Only now is the path of the offending part worth building.
  const problem = findJsonProblem(value, what, new Set(), 0)!;
  throw new InvalidEventError(`${problem.path} ${problem.reason}`);
}

/** The check of {@link findJsonProblem} without paths: the common case, a value that passes, builds no strings. */
function isStorable(value: unknown, ancestors: Set<object>, depth: number): boolean {
  switch (typeof value) {
    case "string":
      return checkString(value, "") === undefined;
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object": {
      if (value === null) return true;
      if (depth >= MAX_JSON_DEPTH || ancestors.has(value)) return false;
      const isArray = Array.isArray(value);
      if (!isArray && !isPlainObject(value)) return false;
      ancestors.add(value);
      try {
        if (isArray) {
          for (let i = 0; i < value.length; i++) if (!isStorable(value[i], ancestors, depth + 1)) return false;
          return true;
        }
        for (const key of Object.keys(value)) {
          if (checkString(key, "") !== undefined || !isStorable((value as Record<string, unknown>)[key], ancestors, depth + 1)) return false;
        }
        return true;
      } finally {
        ancestors.delete(value);
      }
    }
    default:
      return false;
  }
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
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
  if (!isArray && !isPlainObject(value)) {
    const name = (value.constructor as { name?: string } | undefined)?.name ?? "object";
    return { path, reason: `is a ${name}, not a plain object or array` };
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
