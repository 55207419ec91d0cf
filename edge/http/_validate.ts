/**
 * Checking an input against its schema, answering 400 `validation` that names
 * the first field at fault.
 *
 * @module
 */
import * as v from "valibot";
import { unstorablePath, unstorableTextMessage } from "../../actors/storable_text.ts";
import { HttpError } from "./_responses.ts";

/**
 * The parsed `input`, or throws {@linkcode HttpError} 400 naming the field.
 * Any string in `input` (free-form parts and keys included) must be text
 * the store can keep.
 */
export function validate<T>(schema: v.GenericSchema<unknown, T>, input: unknown): T {
  const unstorable = unstorablePath(input);
  if (unstorable !== null) {
    const field = unstorable || undefined;
    throw new HttpError(400, "validation", `${field ?? "the input"} ${unstorableTextMessage}`, {
      field,
    });
  }
  const result = v.safeParse(schema, input, { abortEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  const field = v.getDotPath(issue) ?? undefined;
  throw new HttpError(400, "validation", problem(issue, field), { field });
}

function problem(issue: v.GenericIssue, field: string | undefined): string {
  const name = field ?? "the input";
  // Object schemas report missing and unknown keys with their own issue; the
  // schemas' messages all describe values.
  if (issue.type === "strict_object" || issue.type === "object") {
    if (issue.expected === "never") return `unknown field ${name}`;
    if (issue.received === "undefined") return `${name} is required`;
  }
  return `${name} ${issue.message}`;
}
