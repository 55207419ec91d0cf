// What the widget says of the visitor's wait, from the queue's estimate.
import { assertEquals } from "@std/assert";
import { waitText } from "../edge/web/widget/_view.ts";

Deno.test("widget: the wait reads in whole minutes, and not at all before the queue has an estimate", () => {
  assertEquals(waitText(null), "");
  assertEquals(waitText(20_000), ", less than a minute");
  assertEquals(waitText(60_000), ", about 1 minute");
  assertEquals(waitText(170_000), ", about 3 minutes");
});
