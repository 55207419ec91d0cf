// A process that does nothing but validate ticket bodies, a slice per timer
// tick, for the profile attribution test to profile.
import * as v from "valibot";
import { createTicketBody } from "../../edge/http/schemas.ts";

const body = { subject: "Printer on fire", body: "It is still burning.", tags: ["a", "b"] };
setInterval(() => {
  for (let i = 0; i < 2000; i++) v.parse(createTicketBody, body);
}, 1);
