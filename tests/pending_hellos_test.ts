// The per-address cap on sockets waiting for hello, without sockets.
import { assert, assertEquals } from "@std/assert";
import { PendingHellos } from "../edge/ws/pending_hellos.ts";

Deno.test("pending hellos: capped per address; authenticated or closed sockets leave, and so do empty addresses", () => {
  const cap = new PendingHellos(2);
  const a = { pending: true }, b = { pending: true };
  cap.add("10.0.0.1", a);
  cap.add("10.0.0.1", b);
  assert(!cap.admits("10.0.0.1"));
  assert(cap.admits("10.0.0.2"), "other addresses are not affected");
  a.pending = false;
  assert(cap.admits("10.0.0.1"));
  b.pending = false;
  cap.sweep();
  assertEquals(cap.size, 0);
});
