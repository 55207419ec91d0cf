// The local @std/assert must pass and fail exactly where jsr:@std/assert does,
// or tests would change verdict when the real package is swapped back in.
import {
  assert,
  assertAlmostEquals,
  assertArrayIncludes,
  assertEquals,
  assertExists,
  assertGreater,
  assertGreaterOrEqual,
  assertInstanceOf,
  AssertionError,
  assertLess,
  assertLessOrEqual,
  assertMatch,
  assertNotEquals,
  assertObjectMatch,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
  fail,
  unreachable,
} from "@std/assert";

/** Run `fn` and return the AssertionError it throws, failing if it does not. */
function failure(fn: () => unknown): AssertionError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AssertionError) return error;
    throw new Error(`expected an AssertionError, got ${error}`);
  }
  throw new Error("expected an AssertionError, got none");
}

Deno.test("AssertionError is a named Error that keeps its cause", () => {
  const error = new AssertionError("boom", { cause: 42 });
  if (!(error instanceof Error) || error.name !== "AssertionError") throw new Error("bad class");
  if (error.message !== "boom" || error.cause !== 42) throw new Error("bad fields");
});

Deno.test("assert", () => {
  assert(1);
  assert("yes");
  const error = failure(() => assert(0, "zero"));
  if (error.message !== "zero") throw new Error(error.message);
  failure(() => assert(""));
});

Deno.test("assertEquals passes on deep equality with std rules", () => {
  assertEquals({ a: [1, { b: 2 }], c: new Map([[1, new Set([2])]]) }, {
    a: [1, { b: 2 }],
    c: new Map([[1, new Set([2])]]),
  });
  assertEquals(NaN, NaN);
  assertEquals(0, -0);
  assertEquals(Object.assign(Object.create(null), { a: 1 }), { a: 1 });
  assertEquals(new Date(5), new Date(5));
  assertEquals(new Uint8Array([1, 2]), new Uint8Array([1, 2]));
  assertEquals(/a/g, /a/g);
  assertEquals(new URL("http://x/y"), new URL("http://x/y"));
  assertEquals(new Map([[{ k: 1 }, "v"]]), new Map([[{ k: 1 }, "v"]]));
  const cyclic: Record<string, unknown> = { x: 1 };
  cyclic.self = cyclic;
  const twin: Record<string, unknown> = { x: 1 };
  twin.self = twin;
  assertEquals(cyclic, twin);
});

Deno.test("assertEquals fails on any difference and names the message", () => {
  const error = failure(() => assertEquals({ a: 1, b: [1, 2] }, { a: 1, b: [1, 3] }, "ctx"));
  assertStringIncludes(error.message, "Values are not equal: ctx");
  assertStringIncludes(error.message, "+ actual - expected");
  failure(() => assertEquals(1, "1" as unknown as number));
  failure(() => assertEquals({ a: undefined }, {}));
  failure(() => assertEquals([1, 2], [1, 2, 3]));
  failure(() => assertEquals(new Uint8Array([1]), new Uint16Array([1]) as unknown as Uint8Array));
  failure(() => assertEquals(new Set([1]), new Set([2])));
  failure(() => assertEquals(new Date(1), new Date(2)));
  class Point {
    constructor(readonly x: number) {}
  }
  failure(() => assertEquals(new Point(1), { x: 1 }));
});

Deno.test("assertNotEquals", () => {
  assertNotEquals({ a: 1 }, { a: 2 });
  const error = failure(() => assertNotEquals([1], [1]));
  assertStringIncludes(error.message, "not to be");
});

Deno.test("assertStrictEquals compares with Object.is", () => {
  const shared = { a: 1 };
  assertStrictEquals(shared, shared);
  assertStrictEquals(NaN, NaN);
  const error = failure(() => assertStrictEquals({ a: 1 }, { a: 1 }));
  assertStringIncludes(error.message, "same structure but are not reference-equal");
  assertStringIncludes(failure(() => assertStrictEquals(1, 2)).message, "not strictly equal");
  failure(() => assertStrictEquals(0, -0));
});

Deno.test("assertExists", () => {
  assertExists(0);
  assertExists("");
  failure(() => assertExists(null));
  failure(() => assertExists(undefined));
});

Deno.test("assertThrows returns the error and checks class and message", () => {
  const thrown = new RangeError("out of range");
  const error = assertThrows(
    () => {
      throw thrown;
    },
    RangeError,
    "of ran",
  );
  assertStrictEquals(error, thrown);
  assertStrictEquals(
    assertThrows(() => {
      throw "plain";
    }),
    "plain",
  );
  failure(() => assertThrows(() => {}));
  failure(() =>
    assertThrows(() => {
      throw new TypeError("x");
    }, RangeError)
  );
  const wrongText = failure(() =>
    assertThrows(
      () => {
        throw new Error("abc");
      },
      Error,
      "xyz",
    )
  );
  assertStringIncludes(wrongText.message, `Expected error message to include "xyz"`);
  failure(() =>
    assertThrows(() => {
      throw "plain";
    }, Error)
  );
  assertStringIncludes(failure(() => assertThrows(() => {}, "why")).message, ": why");
});

Deno.test("assertRejects resolves to the error and checks class and message", async () => {
  const error = await assertRejects(
    () => Promise.reject(new TypeError("bad type")),
    TypeError,
    "bad",
  );
  assertInstanceOf(error, TypeError);
  assertStrictEquals(await assertRejects(() => Promise.reject(7)), 7);
  const cases: (() => Promise<unknown>)[] = [
    () => assertRejects(() => Promise.resolve()),
    () => assertRejects(() => Promise.reject(new TypeError("x")), RangeError),
    () => assertRejects(() => Promise.reject(new Error("abc")), Error, "xyz"),
    () => assertRejects(() => Promise.reject("plain"), Error),
    () =>
      assertRejects(
        (() => {
          throw new Error("sync");
        }) as () => Promise<unknown>,
      ),
  ];
  for (const run of cases) {
    let caught: unknown;
    await run().catch((e) => caught = e);
    assertInstanceOf(caught, AssertionError);
  }
});

Deno.test("assertMatch", () => {
  assertMatch("ticket/demo/01", /^ticket\//);
  failure(() => assertMatch("session/x", /^ticket\//));
});

Deno.test("assertObjectMatch ignores extra keys, checks nested ones", () => {
  assertObjectMatch({ a: 1, b: { c: 2, d: 3 }, e: [{ f: 1, g: 2 }] }, {
    b: { c: 2 },
    e: [{ f: 1 }],
  });
  assertObjectMatch({ re: /x/i, m: new Map([["k", { v: 1, w: 2 }]]) }, {
    re: /x/i,
    m: new Map([["k", { v: 1 }]]),
  });
  failure(() => assertObjectMatch({ a: 1 }, { a: 2 }));
  failure(() => assertObjectMatch({ a: 1 }, { a: 1, b: 2 }));
  failure(() => assertObjectMatch({ b: { c: 2 } }, { b: { c: 3 } }));
  failure(() => assertObjectMatch({ e: [1] }, { e: [1, 2] }));
  failure(() => assertObjectMatch({ re: /x/i }, { re: /x/g }));
});

Deno.test("assertArrayIncludes compares items deeply", () => {
  assertArrayIncludes([1, { a: 2 }, "x"], [{ a: 2 }, 1]);
  assertArrayIncludes(new Uint8Array([1, 2, 3]), [3]);
  assertArrayIncludes([NaN], [NaN]);
  const error = failure(() => assertArrayIncludes([1, 2], [2, 3]));
  assertStringIncludes(error.message, "missing: [\n  3,\n]");
  failure(() => assertArrayIncludes([{ a: 1 }], [{ a: 2 }]));
});

Deno.test("assertGreater, assertGreaterOrEqual, assertLess, assertLessOrEqual", () => {
  assertGreater(2, 1);
  assertGreaterOrEqual(1, 1);
  assertLess(1, 2);
  assertLessOrEqual(2, 2);
  assertGreater("b", "a");
  assertStringIncludes(failure(() => assertGreater(1, 1)).message, "Expect 1 > 1");
  failure(() => assertGreaterOrEqual(0, 1));
  failure(() => assertLess(2, 2));
  failure(() => assertLessOrEqual(3, 2));
  // A message replaces the generated one rather than extending it.
  assertStrictEquals(failure(() => assertLess(2, 1, "custom")).message, "custom");
});

Deno.test("assertAlmostEquals", () => {
  assertAlmostEquals(0.1 + 0.2, 0.3);
  assertAlmostEquals(1.000000001e-8, 1.000000002e-8);
  assertAlmostEquals(0.01, 0.02, 0.1);
  assertAlmostEquals(Infinity, Infinity);
  failure(() => assertAlmostEquals(0.01, 0.02));
  failure(() => assertAlmostEquals(1e-8, 1e-9));
  failure(() => assertAlmostEquals(0.1 + 0.2, 0.3, 1e-17));
});

Deno.test("assertInstanceOf", () => {
  assertInstanceOf(new Date(), Date);
  assertInstanceOf(new RangeError(), Error);
  const error = failure(() => assertInstanceOf(new Date(), Map));
  assertStringIncludes(error.message, `instance of "Map" but was "Date"`);
  failure(() => assertInstanceOf(null, Object));
  failure(() => assertInstanceOf(1, Number));
});

Deno.test("assertStringIncludes", () => {
  assertStringIncludes("switchboard", "board");
  failure(() => assertStringIncludes("switchboard", "bored"));
});

Deno.test("fail and unreachable always throw", () => {
  assertStrictEquals(failure(() => fail()).message, "Failed assertion.");
  assertStrictEquals(failure(() => fail("why")).message, "Failed assertion: why");
  assertStrictEquals(failure(() => unreachable()).message, "Unreachable.");
  assertStrictEquals(failure(() => unreachable("here")).message, "Unreachable: here");
});
