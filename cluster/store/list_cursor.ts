/**
 * The opaque cursor of a projection list's next page: the last row's
 * creation time and id, which order the list.
 *
 * @module
 */

/** The cursor of the page after the row created at `createdAt` with `id`. */
export function encodeCursor(createdAt: number, id: string): string {
  return btoa(JSON.stringify([createdAt, id])).replaceAll("=", "");
}

/** What `cursor` names; throws {@linkcode InvalidCursorError} if this store did not issue it. */
export function decodeCursor(cursor: string): [number, string] {
  try {
    const value = JSON.parse(atob(cursor));
    if (
      Array.isArray(value) && value.length === 2 && Number.isFinite(value[0]) &&
      typeof value[1] === "string"
    ) return [value[0], value[1]];
  } catch {
    // fall through to the error below
  }
  throw new InvalidCursorError();
}

/** The list cursor was not one this store issued. */
export class InvalidCursorError extends Error {
  override name = "InvalidCursorError";
  constructor() {
    super("cursor is not valid");
  }
}
