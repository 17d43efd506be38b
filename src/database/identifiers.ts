import { InvalidArgumentError } from "../errors.js";

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
// A type name with an optional modifier and array suffix: "text", "uuid", "char(20)", "numeric(20, 0)".
const TYPE_NAME = /^[a-z][a-z0-9_ ]{0,62}(\(\s*\d+\s*(,\s*\d+\s*)?\))?$/;

/**
 * Checks a PostgreSQL schema name: lower-case letters, digits and underscores, at most 63 bytes.
 * Names are also quoted wherever they appear; the check keeps them predictable in `psql` too.
 */
export function assertSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new InvalidArgumentError(
      `schema must be lower-case letters, digits and _ (at most 63), starting with a letter or _: ${JSON.stringify(schema)}`,
    );
  }
  return schema;
}

/** Checks the SQL type given as `aggregateIdType`, which is written into DDL and casts. */
export function assertTypeName(type: string): string {
  const normalised = type.trim().toLowerCase();
  if (!TYPE_NAME.test(normalised)) {
    throw new InvalidArgumentError(`aggregateIdType is not a plain SQL type name: ${JSON.stringify(type)}`);
  }
  return normalised;
}

/** Quotes an identifier for SQL text (the DDL that `migrationSql()` prints). */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
