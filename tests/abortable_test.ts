// The deadline pieces: a timeout that aborts with a TimeoutError, whose timer
// dispose clears, one shared timer that holds no process open once nothing is
// pending, and abortable's outcome either way.
import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  abortable,
  abortedBy,
  scheduleExpiry,
  timeout,
  withinTimeout,
} from "../cluster/abortable.ts";
import { heldEntries, timerHeld } from "../cluster/_expiries.ts";

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

Deno.test("scheduleExpiry: expiries of any lengths fire in due order, cancelled ones never; none holds a timer once none is pending", async () => {
  const fired: number[] = [];
  const cancels = [40, 10, 30, 20, 25, 5].map((ms) => scheduleExpiry(ms, () => fired.push(ms)));
  cancels[2](); // 30
  cancels[4](); // 25
  cancels[4]();
  const longest = Promise.withResolvers<void>();
  scheduleExpiry(50, () => {
    // Scheduled from an expiry's own callback.
    scheduleExpiry(1, () => longest.resolve());
  });
  await longest.promise;
  assertEquals(fired, [5, 10, 20, 40]);
  assert(!timerHeld(), "no timer once every expiry fired");
  const unanswered = Array.from({ length: 2_000 }, () => scheduleExpiry(60_000, () => {}));
  assert(timerHeld());
  for (const cancel of unanswered) cancel();
  assert(!timerHeld(), "no timer holds the process once every expiry is cancelled");
  assertEquals(heldEntries(), 0, "the cancelled expiries are dropped");
});

Deno.test("scheduleExpiry: after every expiry was cancelled, later ones fire on time, longer or shorter", async () => {
  const started = performance.now();
  scheduleExpiry(30, () => {})(); // leaves the timer due at 30 ms, idle
  const fired: [number, number][] = [];
  const done = Promise.withResolvers<void>();
  scheduleExpiry(80, () => {
    fired.push([80, performance.now() - started]);
    done.resolve();
  });
  scheduleExpiry(10, () => fired.push([10, performance.now() - started]));
  await done.promise;
  assertEquals(fired.map(([ms]) => ms), [10, 80]);
  for (const [ms, at] of fired) assert(at >= ms - 1, `${ms} ms expiry fired at ${at} ms`);
  assert(!timerHeld());
});

Deno.test("scheduleExpiry: a cancelled expiry does not keep a process alive", async () => {
  const module = new URL("../cluster/_expiries.ts", import.meta.url).href;
  const script = `import { scheduleExpiry } from "${module}";
    scheduleExpiry(60_000, () => console.log("fired"))();
    scheduleExpiry(30_000, () => {})();`;
  const started = performance.now();
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assertEquals(code, 0);
  assertEquals(new TextDecoder().decode(stdout), "");
  const ms = performance.now() - started;
  assert(ms < 20_000, `the process exited after ${ms} ms`);
});

Deno.test("withinTimeout: the work's outcome, or timedOut() once the time is up", async () => {
  assertEquals(await withinTimeout(Promise.resolve(7), 60_000, () => new Error("late")), 7);
  await assertRejects(
    () => withinTimeout(Promise.reject(new Error("own")), 60_000, () => new Error("late")),
    Error,
    "own",
  );
  await assertRejects(
    () => withinTimeout(new Promise(() => {}), 5, () => new RangeError("late")),
    RangeError,
    "late",
  );
});
