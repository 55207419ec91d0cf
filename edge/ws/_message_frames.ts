// A pushed message as its `msg` frame, encoded once for all the sockets of
// an edge that get it: the hub hands the same decoded push to each of its
// watchers in turn, and their frames differ only by numbering and encoding.
import type { MessageData } from "./conversation_stream.ts";
import { encodeFrame } from "./frames.ts";

interface Encoded {
  data: MessageData;
  conversation: string;
  number: number;
  binary: boolean;
  frame: string | Uint8Array;
}

// The last frame encoded: the next socket of the same fan-out asks for it
// again. One entry, not a cache: nothing outlives the fan-out but it.
let last: Encoded | undefined;

/** Message `number` of `conversation` as a `msg` frame, JSON or MessagePack. */
export function messageFrame(
  conversation: string,
  number: number,
  data: MessageData,
  binary: boolean,
): string | Uint8Array {
  if (
    last?.data === data && last.number === number && last.binary === binary &&
    last.conversation === conversation
  ) {
    return last.frame;
  }
  const frame = encodeFrame({
    t: "msg",
    conversation,
    seq: number,
    kind: data.kind as string,
    author: data.author,
    body: data.body as string,
    at: data.at as number,
    ...(typeof data.clientMessageId === "string" && { clientMessageId: data.clientMessageId }),
  }, binary);
  last = { data, conversation, number, binary, frame };
  return frame;
}
