// The deadline pieces: a timeout that aborts with a TimeoutError, whose timer
// dispose clears (the test sanitizer fails a test that leaves a timer behind),
// and abortable's outcome either way.
import { assert, assertEquals, assertRejects } from "@std/assert";
import { abortable, abortedBy, timeout } from "../cluster/abortable.ts";

Deno.test("timeout: aborts with a TimeoutError once its time is up", async () => {
  using expiry = timeout(5);
  const never = new Promise<never>(() => {});
  const error = await assertRejects(() => abortable(never, [expiry.signal]));
  assert(abortedBy(error, expiry.signal));
  assertEquals((error as DOMException).name, "TimeoutError");
});

Deno.test("timeout: disposed when the work is done, its timer never fires", async () => {
  let signal: AbortSignal;
  {
    using expiry = timeout(60_000);
    signal = expiry.signal;
    assertEquals(await abortable(Promise.resolve(42), [expiry.signal]), 42);
  }
  assert(!signal.aborted);
});
