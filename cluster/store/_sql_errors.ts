// Which driver errors are the fault of the statement's data, and which the
// unique violation of an index, for the store to tell its callers.

// SQLSTATE classes of errors in the statement's data rather than in the
// server: data exception (22: bad text, bad numbers), integrity constraint
// violation (23: a duplicate key) and program limit exceeded (54: a value too
// large). A timeout, a lost connection or a lack of resources is none of them.
const dataErrorClasses = new Set(["22", "23", "54"]);

/** Whether the driver refused the statement for its data: retrying it fails again. */
export function refusedData(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && dataErrorClasses.has(code.slice(0, 2));
}

/** Whether a store error wraps a driver's unique violation (SQLSTATE 23505). */
export function uniqueViolation(error: unknown): boolean {
  return ((error as Error).cause as { code?: unknown } | undefined)?.code === "23505";
}
