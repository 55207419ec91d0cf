/**
 * Text the event store can keep. Postgres refuses U+0000 in `text` and
 * `jsonb`, and a lone UTF-16 surrogate has no UTF-8 form, so either fails the
 * whole statement it is in. Every validator (HTTP, WebSocket, deciders)
 * refuses such text up front with this one check.
 *
 * @module
 */

/** Why {@linkcode isStorableText} refused a string, for error messages. */
export const unstorableTextMessage = "must not contain U+0000 or unpaired UTF-16 surrogates";

/** Whether Postgres can store `value`: no U+0000, no unpaired surrogate. */
export function isStorableText(value: string): boolean {
  return value.isWellFormed() && !value.includes("\u0000");
}

/**
 * The dot path of a string (a value or an object key) in `value` that
 * Postgres cannot store, `""` for `value` itself, or null when all of it is
 * storable. Walks without recursion: the input may be nested deeper than
 * the call stack.
 *
 * @example
 * ```ts
 * unstorablePath({ tags: ["ok", "bad\u0000"] }); // "tags.1"
 * ```
 */
export function unstorablePath(value: unknown): string | null {
  const pending: [unknown, string][] = [[value, ""]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, path] = next;
    if (typeof item === "string") {
      if (!isStorableText(item)) return path;
    } else if (typeof item === "object" && item !== null && !ArrayBuffer.isView(item)) {
      for (const [key, child] of Object.entries(item)) {
        const at = path === "" ? key : `${path}.${key}`;
        if (!isStorableText(key)) return at;
        pending.push([child, at]);
      }
    }
  }
  return null;
}
