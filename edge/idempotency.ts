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

/**
 * The command id of a request that came without a key: one only the edge
 * holds, so the runtime keeps no record of it unless it wrote events
 * (`ActorRequest.unkeyed`).
 */
export function keylessCommand(): { commandId: string; unkeyed: true } {
  return { commandId: crypto.randomUUID(), unkeyed: true };
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
  return createHash("sha256").update(canonicalJson(request)).digest("base64url");
}

// `JSON.stringify` of the value with every object's keys sorted, so equal
// requests hash alike however their JSON was written; written out directly
// rather than through sorted copies of every object.
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) {
    let json = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) json += ",";
      json += omitted(value[i]) ? "null" : canonicalJson(value[i]);
    }
    return json + "]";
  }
  const object = value as Record<string, unknown>;
  let json = "{";
  for (const key of sortedKeys(object)) {
    if (omitted(object[key])) continue;
    if (json.length > 1) json += ",";
    json += JSON.stringify(key) + ":" + canonicalJson(object[key]);
  }
  return json + "}";
}

// Sorted, except that integer keys come first in numeric order: the order
// the sorted copies of the earlier fingerprints had (an object lists its
// integer keys first whatever their insertion order), which stored
// fingerprints must keep matching.
function sortedKeys(object: Record<string, unknown>): string[] {
  const keys = Object.keys(object);
  let integers = 0;
  while (integers < keys.length && isIndex(keys[integers])) integers++;
  if (integers === 0) return keys.sort();
  return [...keys.slice(0, integers), ...keys.slice(integers).sort()];
}

function isIndex(key: string): boolean {
  return /^(?:0|[1-9]\d*)$/.test(key) && Number(key) < 2 ** 32 - 1;
}

// What JSON leaves out of objects (and writes as null in arrays).
function omitted(value: unknown): boolean {
  return value === undefined || typeof value === "function" || typeof value === "symbol";
}
