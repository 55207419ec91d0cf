// The gap-free stream of one conversation to one socket, with no socket:
// a fake log and a fake client.
import { assertEquals } from "@std/assert";
import {
  ConversationStream,
  type MessageData,
  type Numbering,
  type StreamPort,
} from "../edge/ws/conversation_stream.ts";

function message(seq: number, publicSeq = seq, internal = false): MessageData {
  return { seq, publicSeq, internal, kind: internal ? "note" : "text", body: `m${seq}` };
}

class FakePort implements StreamPort {
  log: MessageData[] = [];
  delivered: number[] = [];
  backlog = 0;
  open = true;
  highWater = 100;
  stallMs = 50;
  stalls = 0;
  reads = 0;

  history(_conversation: string, numbering: Numbering, after: number, limit: number) {
    this.reads++;
    const items = this.log.filter((m) => Number(m[numbering]) > after)
      .filter((m) => numbering === "seq" || m.internal !== true);
    return Promise.resolve({
      items: items.slice(0, limit),
      nextCursor: items.length > limit ? "more" : null,
    });
  }
  deliver(_conversation: string, number: number) {
    this.delivered.push(number);
  }
  stalled() {
    this.stalls++;
  }
  failed() {}
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("stream: backfill then live, in order, each once", async () => {
  const port = new FakePort();
  port.log = [1, 2, 3].map((n) => message(n));
  const stream = new ConversationStream("c", 0, "seq", port);
  await stream.backfill();
  port.log.push(message(4));
  stream.offer(message(3));
  stream.offer(message(4));
  stream.offer(message(4));
  assertEquals(port.delivered, [1, 2, 3, 4]);
});

Deno.test("stream: a push past a gap backfills the gap before it", async () => {
  const port = new FakePort();
  port.log = [1, 2, 3, 4, 5].map((n) => message(n));
  const stream = new ConversationStream("c", 2, "seq", port);
  stream.offer(message(5));
  await settle();
  assertEquals(port.delivered, [3, 4, 5]);
  assertEquals(stream.last, 5);
});

Deno.test("stream: pushes during a backfill wait and follow it in order", async () => {
  const port = new FakePort();
  port.log = [1, 2].map((n) => message(n));
  const stream = new ConversationStream("c", 0, "seq", port);
  const backfill = stream.backfill();
  stream.offer(message(3));
  stream.offer(message(2));
  port.log.push(message(3));
  await backfill;
  assertEquals(port.delivered, [1, 2, 3]);
});

Deno.test("stream: a visitor's stream numbers by publicSeq and never sees notes", async () => {
  const port = new FakePort();
  port.log = [message(1, 1), message(2, 1, true), message(3, 2)];
  const stream = new ConversationStream("c", 0, "publicSeq", port);
  await stream.backfill();
  stream.offer(message(2, 1, true));
  stream.offer(message(4, 3));
  assertEquals(port.delivered, [1, 2, 3]);
});

Deno.test("stream: a rewind redelivers from the client's point", async () => {
  const port = new FakePort();
  port.log = [1, 2, 3].map((n) => message(n));
  const stream = new ConversationStream("c", 0, "seq", port);
  await stream.backfill();
  await stream.rewind(1);
  await stream.rewind(3);
  assertEquals(port.delivered, [1, 2, 3, 2, 3]);
});

Deno.test("stream: a lost last push is found by the head and delivered", async () => {
  const port = new FakePort();
  port.log = [1, 2].map((n) => message(n));
  const stream = new ConversationStream("c", 0, "seq", port);
  await stream.backfill();
  port.log.push(message(3)); // committed, but its push never arrives
  const reads = port.reads;
  stream.head({ seq: 2, publicSeq: 2 });
  assertEquals(port.reads, reads, "a head already delivered reads nothing");
  stream.head({ seq: 3, publicSeq: 3 });
  await settle();
  assertEquals(port.delivered, [1, 2, 3]);
});

Deno.test("stream: a client that stops reading during a backfill is given up on", async () => {
  const port = new FakePort();
  port.log = [1, 2].map((n) => message(n));
  port.backlog = 1000;
  const stream = new ConversationStream("c", 0, "seq", port);
  await stream.backfill();
  assertEquals([port.stalls, port.delivered], [1, []]);
});

Deno.test("stream: a stopped stream delivers nothing more", async () => {
  const port = new FakePort();
  port.log = [1, 2].map((n) => message(n));
  const stream = new ConversationStream("c", 0, "seq", port);
  stream.stop();
  await stream.backfill();
  stream.offer(message(1));
  assertEquals(port.delivered, []);
});
