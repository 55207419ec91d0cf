// Request fingerprints are kept with idempotency records, so a retry after
// an upgrade must fingerprint as before: these values were computed by the
// earlier implementation (sorted copies of every object, then JSON).
import { assertEquals, assertNotEquals } from "@std/assert";
import { fingerprintOf } from "../edge/idempotency.ts";

const send = {
  type: "send",
  by: { sub: "v1", role: "visitor" },
  body: "héllo",
  kind: "text",
  clientMessageId: "m1",
};

Deno.test("fingerprints: key order does not matter, and the values stay those stored before", () => {
  const reordered = {
    kind: "text",
    clientMessageId: "m1",
    body: "héllo",
    by: { role: "visitor", sub: "v1" },
    type: "send",
  };
  assertEquals(fingerprintOf(["c1", send]), "2fagasFkKxUbbjBin4ipllbVkPUC0RztTztmtSCcpJw");
  assertEquals(fingerprintOf(["c1", reordered]), fingerprintOf(["c1", send]));
  // Integer keys first in numeric order, undefined left out of objects and null in arrays.
  const body = {
    subject: "s",
    tags: ["b", "a"],
    custom: { "10": 1, "2": 2, z: null, a: [undefined, 1.5] },
    skip: undefined,
  };
  assertEquals(
    fingerprintOf(["POST", "/v1/tickets", body]),
    "08Ye9mHQ3kXocOsj9yWJEjq-qOzyhK8pj1TNdK28adU",
  );
});

Deno.test("fingerprints: any other request differs", () => {
  assertNotEquals(fingerprintOf(["c1", { ...send, body: "hello" }]), fingerprintOf(["c1", send]));
  assertNotEquals(fingerprintOf(["c2", send]), fingerprintOf(["c1", send]));
  assertNotEquals(
    fingerprintOf(["c1", { ...send, by: { sub: "v2", role: "visitor" } }]),
    fingerprintOf(["c1", send]),
  );
});
