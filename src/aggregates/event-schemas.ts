import type { z } from "zod";

/** Event schemas of an aggregate, by event type. */
export type EventSchemas = Record<string, z.ZodType>;
