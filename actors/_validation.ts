/**
 * Checks the deciders share: field validation that answers with a
 * {@linkcode Rejection}, and the role tests behind their permissions.
 *
 * @module
 */
import { reject, type Rejection } from "./decider.ts";
import { isStorableText, unstorableTextMessage } from "./storable_text.ts";

/** A decision that refuses the command. */
export type Refusal = { reject: Rejection };

/** A non-blank, storable string of at most `max` characters, trimmed if asked. */
export function text(
  value: unknown,
  field: string,
  max: number,
  trim: boolean,
): string | Refusal {
  if (typeof value !== "string") return validation(field, `${field} must be a string`);
  if (!isStorableText(value)) return validation(field, `${field} ${unstorableTextMessage}`);
  const result = trim ? value.trim() : value;
  if (result.trim() === "") return validation(field, `${field} must not be empty`);
  if (charCount(result) > max) {
    return validation(field, `${field} has at most ${max} characters`);
  }
  return result;
}

/** Like {@linkcode text}, but absent (`undefined`) is allowed, and read as `null`. */
export function optionalText(
  value: unknown,
  field: string,
  max: number,
  trim: boolean,
): string | null | Refusal {
  return value === undefined ? null : text(value, field, max, trim);
}

/**
 * Counts code points, as Postgres counts characters, so an emoji is one: the
 * UTF-16 length less one per surrogate pair (a lone surrogate counts as one,
 * as a string's iterator counts it). Ten times faster than iterating.
 */
export function charCount(value: string): number {
  let count = value.length;
  for (let i = 0; i < value.length - 1; i++) {
    const unit = value.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdbff) continue;
    const next = value.charCodeAt(i + 1);
    if (next >= 0xdc00 && next <= 0xdfff) {
      count--;
      i++;
    }
  }
  return count;
}

/** Whether a checked value is a refusal rather than the value. */
export function isRefusal(value: unknown): value is Refusal {
  return typeof value === "object" && value !== null && "reject" in value;
}

/** Refuse a malformed field. */
export function validation(field: string, message: string): Refusal {
  return reject("validation", message, { field });
}

/** Refuse a caller whose role or identity does not allow the command. */
export function forbidden(message: string): Refusal {
  return reject("forbidden", message);
}

/**
 * Whether the caller is a visitor. Roles arrive over the wire, so anything
 * that is not an agent role gets a visitor's rights and no more.
 */
export function isVisitor(by: { role: string }): boolean {
  return !isAgent(by);
}

/** Whether the caller is an agent, a supervisor or an admin. */
export function isAgent(by: { role: string }): boolean {
  return by.role === "agent" || isManager(by);
}

/** Whether the caller is a supervisor or an admin. */
export function isManager(by: { role: string }): boolean {
  return by.role === "supervisor" || by.role === "admin";
}
