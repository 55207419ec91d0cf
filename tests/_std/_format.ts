/**
 * Rendering of values and differences for assertion messages.
 *
 * @module
 */
import nodeAssert from "node:assert";

/** Render a value the way `@std/assert` does: fully expanded, keys sorted. */
export function format(value: unknown): string {
  return Deno.inspect(value, {
    depth: Infinity,
    sorted: true,
    trailingComma: true,
    compact: false,
    iterableLimit: Infinity,
    getters: true,
    strAbbreviateSize: Infinity,
  });
}

/**
 * The `+ actual - expected` diff node:assert draws for a failed `check`, without
 * its headline. Where node:assert sees no difference (its equality is looser
 * than std's in places) or cannot compare, both values are printed in full.
 */
export function describeDifference(
  check: (actual: unknown, expected: unknown) => void,
  actual: unknown,
  expected: unknown,
): string {
  try {
    check(actual, expected);
  } catch (error) {
    if (error instanceof nodeAssert.AssertionError) {
      return error.message.replace(/^[^\n]*\n+/, "").trimEnd();
    }
  }
  return `[Actual]\n${format(actual)}\n\n[Expected]\n${format(expected)}`;
}
