/**
 * A local stand-in for `jsr:@std/assert`, which this project cannot fetch from
 * its build machines. Names, signatures, equality rules and failure messages
 * follow the real package, so that swapping it back in is a one-line change to
 * the `@std/assert` entry of deno.json. Diffs are drawn by `node:assert`.
 *
 * @module
 */
import nodeAssert from "node:assert";
import { equal } from "./_equal.ts";
import { describeDifference, format } from "./_format.ts";
import { objectSubset } from "./_object_subset.ts";

export { equal };

/** Error thrown when an assertion fails. */
export class AssertionError extends Error {
  /** Make an assertion error with `message`; `options.cause` is kept as `cause`. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AssertionError";
  }
}

/** Any constructor. */
// deno-lint-ignore no-explicit-any
export type AnyConstructor = new (...args: any[]) => any;

/** The instance type a constructor makes. */
export type GetConstructorType<T extends AnyConstructor> = InstanceType<T>;

/** An array-like object (`Array`, `Uint8Array`, …) that is not a string. */
export type ArrayLikeArg<T> = ArrayLike<T> & object;

// deno-lint-ignore no-explicit-any
type ErrorClass<E extends Error> = abstract new (...args: any[]) => E;

/** Assert that `expr` is truthy. */
export function assert(expr: unknown, msg = ""): asserts expr {
  if (!expr) throw new AssertionError(msg);
}

/**
 * Assert that `actual` and `expected` are deeply equal, by the rules of
 * {@linkcode equal}.
 */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (equal(actual, expected)) return;
  const diff = describeDifference(nodeAssert.deepStrictEqual, actual, expected);
  throw new AssertionError(`Values are not equal${suffix(msg)}\n\n${diff}`);
}

/** Assert that `actual` and `expected` are not deeply equal. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  if (!equal(actual, expected)) return;
  throw new AssertionError(
    `Expected actual: ${format(actual)} not to be: ${format(expected)}${suffix(msg)}`,
  );
}

/** Assert that `actual` and `expected` are the same value, by `Object.is`. */
export function assertStrictEquals<T>(
  actual: unknown,
  expected: T,
  msg?: string,
): asserts actual is T {
  if (Object.is(actual, expected)) return;
  const headline = format(actual) === format(expected)
    ? "Values have the same structure but are not reference-equal"
    : "Values are not strictly equal";
  const diff = describeDifference(nodeAssert.strictEqual, actual, expected);
  throw new AssertionError(`${headline}${suffix(msg)}\n\n${diff}`);
}

/** Assert that `actual` is neither `null` nor `undefined`. */
export function assertExists<T>(actual: T, msg?: string): asserts actual is NonNullable<T> {
  if (actual === undefined || actual === null) {
    throw new AssertionError(
      `Expected actual: "${actual}" to not be null or undefined${suffix(msg)}`,
    );
  }
}

/**
 * Assert that `error` is an `Error`, optionally an instance of `ErrorClass`
 * whose message includes (or matches) `msgMatches`.
 */
export function assertIsError<E extends Error = Error>(
  error: unknown,
  ErrorClass?: ErrorClass<E>,
  msgMatches?: string | RegExp,
  msg?: string,
): asserts error is E {
  if (!(error instanceof Error)) {
    throw new AssertionError(`Expected "error" to be an Error object${suffix(msg)}`);
  }
  if (ErrorClass && !(error instanceof ErrorClass)) {
    throw new AssertionError(
      `Expected error to be instance of "${ErrorClass.name}", but was "${error.constructor?.name}"${
        suffix(msg)
      }`,
    );
  }
  if (!msgMatches) return;
  const message = stripAnsi(error.message);
  const matches = typeof msgMatches === "string"
    ? message.includes(stripAnsi(msgMatches))
    : msgMatches.test(message);
  if (!matches) {
    const wanted = typeof msgMatches === "string"
      ? JSON.stringify(msgMatches)
      : msgMatches.toString();
    throw new AssertionError(
      `Expected error message to include ${wanted}, but got ${JSON.stringify(error.message)}${
        suffix(msg)
      }`,
    );
  }
}

/** Call `fn` and assert that it throws; returns what it threw. */
export function assertThrows(fn: () => unknown, msg?: string): unknown;
/**
 * Call `fn` and assert that it throws an `ErrorClass` whose message includes
 * `msgIncludes`; returns the error.
 */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  ErrorClass: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
): E;
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  errorClassOrMsg?: ErrorClass<E> | string,
  msgIncludesOrMsg?: string,
  msg?: string,
): E | unknown {
  const expect = expectation(errorClassOrMsg, msgIncludesOrMsg, msg);
  try {
    fn();
  } catch (error) {
    return checkThrown(error, expect, "thrown");
  }
  throw new AssertionError(`Expected function to throw${suffix(expect.msg)}`);
}

/** Call `fn` and assert that the promise it returns rejects; resolves to the reason. */
export function assertRejects(fn: () => PromiseLike<unknown>, msg?: string): Promise<unknown>;
/**
 * Call `fn` and assert that the promise it returns rejects with an
 * `ErrorClass` whose message includes `msgIncludes`; resolves to the error.
 */
export function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  ErrorClass: ErrorClass<E>,
  msgIncludes?: string,
  msg?: string,
): Promise<E>;
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  errorClassOrMsg?: ErrorClass<E> | string,
  msgIncludesOrMsg?: string,
  msg?: string,
): Promise<E | unknown> {
  const expect = expectation(errorClassOrMsg, msgIncludesOrMsg, msg);
  let returned: unknown;
  try {
    returned = fn();
  } catch {
    throw new AssertionError(`Function throws when expected to reject${suffix(expect.msg)}`);
  }
  if (!isThenable(returned)) {
    throw new AssertionError(`Function throws when expected to reject${suffix(expect.msg)}`);
  }
  try {
    await returned;
  } catch (error) {
    return checkThrown(error, expect, "rejected");
  }
  throw new AssertionError(`Expected function to reject${suffix(expect.msg)}`);
}

/** Assert that `actual` matches the pattern `expected`. */
export function assertMatch(actual: string, expected: RegExp, msg?: string): void {
  if (expected.test(actual)) return;
  throw new AssertionError(`Expected actual: "${actual}" to match: "${expected}"${suffix(msg)}`);
}

/**
 * Assert that `actual` holds, deeply, every key and value of `expected`;
 * other keys of `actual` are ignored.
 */
export function assertObjectMatch(
  // deno-lint-ignore no-explicit-any
  actual: Record<PropertyKey, any>,
  expected: Record<PropertyKey, unknown>,
  msg?: string,
): void {
  assertEquals(objectSubset(actual, expected), objectSubset(expected, expected), msg);
}

/** Assert that `actual` contains every value of `expected`, deeply compared. */
export function assertArrayIncludes<T>(
  actual: ArrayLikeArg<T>,
  expected: ArrayLikeArg<NoInfer<T>>,
  msg?: string,
): void {
  const missing: T[] = [];
  for (let i = 0; i < expected.length; i++) {
    const item = expected[i];
    const found = item === null || (typeof item !== "object" && typeof item !== "function")
      ? Array.prototype.includes.call(actual, item)
      : Array.prototype.some.call(actual, (candidate) => equal(item, candidate));
    if (!found) missing.push(item);
  }
  if (missing.length === 0) return;
  throw new AssertionError(
    `Expected actual: "${format(actual)}" to include: "${format(expected)}"${
      suffix(msg)
    }\nmissing: ${format(missing)}`,
  );
}

/** Assert that `actual > expected`. */
export function assertGreater<T>(actual: T, expected: T, msg?: string): void {
  if (actual > expected) return;
  throw new AssertionError(msg ?? `Expect ${format(actual)} > ${format(expected)}`);
}

/** Assert that `actual >= expected`. */
export function assertGreaterOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (actual >= expected) return;
  throw new AssertionError(msg ?? `Expect ${format(actual)} >= ${format(expected)}`);
}

/** Assert that `actual < expected`. */
export function assertLess<T>(actual: T, expected: T, msg?: string): void {
  if (actual < expected) return;
  throw new AssertionError(msg ?? `Expect ${format(actual)} < ${format(expected)}`);
}

/** Assert that `actual <= expected`. */
export function assertLessOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (actual <= expected) return;
  throw new AssertionError(msg ?? `Expect ${format(actual)} <= ${format(expected)}`);
}

/**
 * Assert that `actual` is within `tolerance` of `expected`. The default
 * tolerance is one ten-millionth of `expected` (1e-7 when it is not finite).
 */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance?: number,
  msg?: string,
): void {
  if (Object.is(actual, expected)) return;
  const delta = Math.abs(expected - actual);
  const limit = tolerance ?? (isFinite(expected) ? Math.abs(expected * 1e-7) : 1e-7);
  if (delta <= limit) return;
  const f = (n: number) => Number.isInteger(n) ? n : n.toExponential();
  throw new AssertionError(
    `Expected actual: "${f(actual)}" to be close to "${f(expected)}": delta "${
      f(delta)
    }" is greater than "${f(limit)}"${suffix(msg)}`,
  );
}

/** Assert that `actual` is an instance of `expectedType`. */
// deno-lint-ignore no-explicit-any
export function assertInstanceOf<T extends abstract new (...args: any[]) => any>(
  actual: unknown,
  expectedType: T,
  msg = "",
): asserts actual is InstanceType<T> {
  if (actual instanceof expectedType) return;
  const expectedName = expectedType.name;
  const actualName = actual === null
    ? "null"
    : typeof actual === "object"
    ? actual.constructor?.name ?? "Object"
    : typeof actual;
  const detail = expectedName === actualName
    ? ""
    : actualName === "function"
    ? " but was not an instanced object"
    : ` but was "${actualName}"`;
  throw new AssertionError(
    `Expected object to be an instance of "${expectedName}"${detail}${suffix(msg)}`,
  );
}

/** Assert that the string `actual` contains `expected`. */
export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  if (actual.includes(expected)) return;
  throw new AssertionError(`Expected actual: "${actual}" to contain: "${expected}"${suffix(msg)}`);
}

/** Fail the test now. */
export function fail(msg?: string): never {
  throw new AssertionError(`Failed assertion${suffix(msg)}`);
}

/** Mark code that must never run; throws when it does. */
export function unreachable(msg?: string): never {
  throw new AssertionError(`Unreachable${suffix(msg)}`);
}

interface Expectation<E extends Error> {
  ErrorClass?: ErrorClass<E>;
  msgIncludes?: string;
  msg?: string;
}

// Mirrors std's overload resolution: a second argument that is not an Error
// class is read as the failure message.
function expectation<E extends Error>(
  errorClassOrMsg: ErrorClass<E> | string | undefined,
  msgIncludesOrMsg: string | undefined,
  msg: string | undefined,
): Expectation<E> {
  if (typeof errorClassOrMsg === "string") return { msg: errorClassOrMsg };
  const isErrorClass = errorClassOrMsg !== undefined &&
    (errorClassOrMsg.prototype instanceof Error || errorClassOrMsg.prototype === Error.prototype);
  if (errorClassOrMsg === undefined || isErrorClass) {
    return { ErrorClass: errorClassOrMsg, msgIncludes: msgIncludesOrMsg, msg };
  }
  return { msg: msgIncludesOrMsg };
}

function checkThrown<E extends Error>(
  error: unknown,
  expect: Expectation<E>,
  verb: "thrown" | "rejected",
): unknown {
  if (expect.ErrorClass) {
    if (!(error instanceof Error)) {
      throw new AssertionError(`A non-Error object was ${verb}${suffix(expect.msg)}`);
    }
    assertIsError(error, expect.ErrorClass, expect.msgIncludes, expect.msg);
  }
  return error;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null &&
    typeof (value as PromiseLike<unknown>).then === "function";
}

function suffix(msg: string | undefined): string {
  return msg ? `: ${msg}` : ".";
}

// Messages may carry terminal colours; like std, match them without.
const ANSI =
  // deno-lint-ignore no-control-regex
  /[\u001B\u009B][[\]()#;?]*(?:(?:(?:;[-a-zA-Z\d/#&.:=?%@~_]+)*|[a-zA-Z\d]+(?:;[-a-zA-Z\d/#&.:=?%@~_]*)*)?\u0007|(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PR-TZcf-nq-uy=><~])/g;

function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}
