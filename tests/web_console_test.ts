// The console's thread of a conversation (edge/web/console/_thread.ts),
// without a browser: the newest page first, older pages on demand, live
// messages only where they extend the run, never a gap or a duplicate.
import { assertEquals } from "@std/assert";
import type { Api } from "../edge/web/console/_api.ts";
import { Thread } from "../edge/web/console/_thread.ts";
import type { MessageFrame, ProtocolClient } from "../edge/web/client/protocol_client.ts";

function history(head: number) {
  const asked: string[] = [];
  const api = {
    get(path: string) {
      asked.push(path);
      const query = new URL(path, "http://x").searchParams;
      const after = Number(query.get("after"));
      const limit = Number(query.get("limit"));
      const items = [];
      for (let seq = after + 1; seq <= Math.min(head, after + limit); seq++) {
        items.push({ seq, kind: "text", author: null, body: `m${seq}`, at: seq });
      }
      return Promise.resolve({ items });
    },
  } as unknown as Api;
  const watched: [string, number | undefined][] = [];
  const client = {
    watch: (id: string, after?: number) => watched.push([id, after]),
  } as unknown as ProtocolClient;
  return { api, client, asked, watched };
}

const live = (seq: number): MessageFrame => ({
  t: "msg",
  conversation: "c",
  seq,
  kind: "text",
  author: null,
  body: `m${seq}`,
  at: seq,
});

Deno.test("console thread: the newest page, then older pages back to the first message", async () => {
  const { api, client, asked, watched } = history(250);
  const thread = new Thread("c", api, client);
  thread.add(live(250)); // before it is open: the page brings it
  await thread.open(250);
  assertEquals([thread.oldest, thread.last], [151, 250]);
  assertEquals(watched, [["c", 250]], "followed from its last message");
  await thread.older();
  await thread.older();
  assertEquals([thread.oldest, thread.last, thread.complete], [1, 250, true]);
  assertEquals(
    thread.messages.value.map((m) => m.seq),
    Array.from({ length: 250 }, (_, i) => i + 1),
  );
  await thread.older();
  assertEquals(asked, [
    "/v1/conversations/c/messages?after=150&limit=100",
    "/v1/conversations/c/messages?after=50&limit=100",
    "/v1/conversations/c/messages?after=0&limit=50",
  ]);
});

Deno.test("console thread: live messages extend the run; duplicates and gaps are not shown", async () => {
  const { api, client } = history(20);
  const thread = new Thread("c", api, client);
  await thread.open(20);
  thread.add(live(21));
  thread.add(live(21));
  thread.add(live(20));
  thread.add(live(23)); // 22 is missing: the client asks the edge again, and 22 comes first
  assertEquals(thread.last, 21);
  thread.add(live(22));
  thread.add(live(23));
  assertEquals(thread.messages.value.map((m) => m.seq).slice(-4), [20, 21, 22, 23]);
});
