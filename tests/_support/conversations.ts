// Conversations for tests that need one already open.
import { assert } from "@std/assert";
import { isAnonymousVisitorId } from "../../actors/session.ts";
import type { ApiServer } from "./api_server.ts";

/** Open a conversation the way the widget bootstrap does: an `open` command. */
export async function openConversation(
  api: ApiServer,
  visitor: string,
  tenant = "acme",
): Promise<{ id: string; token: string }> {
  const id = `c${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
  const response = await api.runtime.host.dispatch({
    address: { kind: "session", tenant, id },
    op: "command",
    command: {
      type: "open",
      by: { sub: visitor, role: "visitor" },
      visitor: { id: visitor, verified: !isAnonymousVisitorId(visitor) },
      agentsOnline: 1,
    },
    commandId: `open:${id}`,
    deadline: Date.now() + 5000,
  });
  assert(response.ok, JSON.stringify(response));
  return { id, token: await api.token({ sub: visitor, role: "visitor", tenant }) };
}
