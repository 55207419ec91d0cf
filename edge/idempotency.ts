/**
 * Idempotency keys from clients, made safe to hand to actors: scoped to the
 * principal that sent them, so no client key can equal a system id (those
 * start `s:`) and one principal's key never replays another's outcome; and
 * bound to a fingerprint of the request they came with, so the same key on
 * a different request is refused rather than answered with the first one's
 * outcome.
 *
 * @example
 * ```ts
 * const { commandId, fingerprint } = clientCommand(principal, key, ["POST", path, body]);
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";

/** A client's command id and the fingerprint of its request. */
export interface ClientCommand {
  commandId: string;
  fingerprint: string;
}

/**
 * The command id of `key` for this principal, and the fingerprint of
 * `request` (any JSON value: method, path and body for HTTP, the
 * conversation and command for a WebSocket frame).
 */
export function clientCommand(
  principal: { sub: string; role: string },
  key: string,
  request: unknown,
): ClientCommand {
  return { commandId: clientCommandId(principal, key), fingerprint: fingerprintOf(request) };
}

/** The command id a client's `key` gets in the log: scoped to its principal, never a system id. */
export function clientCommandId(principal: { sub: string; role: string }, key: string): string {
  // The sub is escaped, so a `:` in it cannot shift where the key begins.
  return `c:${principal.role}:${encodeURIComponent(principal.sub)}:${key}`;
}

/**
 * SHA-256 of the canonical JSON of `request` (keys sorted), base64url
 * without padding. Synchronous on purpose: `crypto.subtle.digest` settles
 * off the event loop's order, which would reorder a socket's frames.
 */
export function fingerprintOf(request: unknown): string {
  return createHash("sha256").update(JSON.stringify(canonical(request))).digest("base64url");
}

// Objects with their keys in one order, so equal requests hash alike
// however their JSON was written.
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== "object") return value;
  const object = value as Record<string, unknown>;
  return Object.fromEntries(Object.keys(object).sort().map((key) => [key, canonical(object[key])]));
}
