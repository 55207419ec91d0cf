/**
 * The WebSocket protocol's frames (DESIGN §8): one schema for JSON text
 * frames and MessagePack binary frames. Decoding tells apart data that is
 * not a frame at all (the socket closes with 1007), a frame over the size
 * limit (1009), and a well-formed message that is not a valid frame (an
 * `err` frame answers it and the socket lives on).
 *
 * @module
 */
import { decode, encode } from "@msgpack/msgpack";
import * as v from "valibot";
import { unstorablePath, unstorableTextMessage } from "../../actors/storable_text.ts";
import { addressPartPattern } from "../../cluster/actor_key.ts";

/** Frames larger than this close the socket with 1009. */
export const maxFrameBytes = 64 * 1024;

const id = v.pipe(v.string(), v.minLength(1), v.maxLength(128));
const conversation = v.pipe(v.string(), v.regex(addressPartPattern));
const seq = v.pipe(v.number(), v.integer(), v.minValue(0));
const resume = v.record(conversation, seq);
const names = v.pipe(
  v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(100))),
  v.maxLength(50),
);

/** Frames a client may send. */
export const clientFrame = v.variant("t", [
  v.strictObject({
    t: v.literal("hello"),
    token: v.optional(v.string()),
    resume: v.optional(resume),
  }),
  v.strictObject({ t: v.literal("resume"), conversations: resume }),
  v.strictObject({
    t: v.literal("send"),
    id,
    conversation,
    body: v.pipe(v.string(), v.minLength(1), v.maxLength(20_000)),
    kind: v.optional(v.picklist(["text", "note"])),
    clientMessageId: v.optional(id),
  }),
  v.strictObject({ t: v.literal("typing"), conversation, on: v.optional(v.boolean()) }),
  v.strictObject({ t: v.literal("read"), conversation, seq }),
  v.strictObject({
    t: v.literal("status"),
    status: v.picklist(["online", "away", "offline"]),
    capacity: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(100))),
    skills: v.optional(names),
    languages: v.optional(names),
    teams: v.optional(names),
  }),
  v.strictObject({ t: v.literal("claim"), id, conversation }),
  v.strictObject({
    t: v.literal("transfer"),
    id,
    conversation,
    to: id,
    reason: v.optional(v.pipe(v.string(), v.maxLength(500))),
  }),
  v.strictObject({ t: v.literal("resolve"), id, conversation }),
  v.strictObject({ t: v.literal("close"), id, conversation }),
  v.strictObject({
    t: v.literal("rate"),
    id,
    conversation,
    score: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(5)),
    comment: v.optional(v.pipe(v.string(), v.maxLength(2000))),
  }),
  v.strictObject({ t: v.literal("ping"), id: v.optional(id) }),
  v.strictObject({ t: v.literal("pong"), id: v.optional(id) }),
  ...(["accept", "decline"] as const).map((t) =>
    v.strictObject({
      t: v.literal(t),
      id,
      conversation: v.optional(conversation),
      ticket: v.optional(conversation),
    })
  ),
]);

/** A validated client frame. */
export type ClientFrame = v.InferOutput<typeof clientFrame>;

/** A frame the server sends. */
export type ServerFrame =
  | {
    t: "welcome";
    sub: string;
    role: string;
    tenant: string;
    heartbeatMs: number;
    /** An agent's unread messages per assigned conversation. */
    unread?: Record<string, number>;
  }
  /** Messages of a watched conversation this participant has not read, on any device. */
  | { t: "unread"; conversation: string; count: number }
  | { t: "ack"; id: string; conversation: string; seq: number }
  | {
    t: "msg";
    conversation: string;
    seq: number;
    kind: string;
    author: unknown;
    body: string;
    at: number;
    clientMessageId?: string;
  }
  | { t: "typing"; conversation: string; sub: string; role: string; on: boolean }
  | { t: "read"; conversation: string; sub: string; seq: number }
  | { t: "assigned"; conversation: string; agent: string | null }
  | { t: "close"; conversation: string; reason: string }
  | {
    t: "queue";
    conversation?: string;
    position?: number;
    waiting: number;
    /** For a visitor's conversation: the wait the queue expects, null until it can tell. */
    estimatedWaitMs?: number | null;
    conversations?: string[];
  }
  /** Work offered to this agent: answer `accept` or `decline` before `deadline` (epoch ms). */
  | { t: "offer"; conversation?: string; ticket?: string; deadline: number }
  | { t: "err"; id?: string; code: string; message: string; retryAfterMs?: number; field?: string }
  | { t: "ping"; id?: string }
  | { t: "pong"; id?: string };

/** The outcome of decoding one WebSocket message. */
export type Decoded =
  | { ok: true; frame: ClientFrame }
  | { ok: false; close: 1007 | 1009; reason: string }
  | {
    ok: false;
    close?: undefined;
    error: { id?: string; code: string; message: string; field?: string };
  };

/** Decode and validate one WebSocket message. */
export function decodeFrame(data: string | ArrayBuffer | Uint8Array): Decoded {
  if (byteLength(data) > maxFrameBytes) {
    return { ok: false, close: 1009, reason: `frames are limited to ${maxFrameBytes} bytes` };
  }
  let value: unknown;
  try {
    value = typeof data === "string" ? JSON.parse(data) : decode(data);
  } catch {
    return {
      ok: false,
      close: 1007,
      reason: typeof data === "string" ? "not JSON" : "not MessagePack",
    };
  }
  // Text the store cannot keep would fail the commit of everyone's events with it.
  const unstorable = unstorablePath(value);
  if (unstorable !== null) return refused(value, "validation", unstorable, unstorableTextMessage);
  const parsed = v.safeParse(clientFrame, value);
  if (parsed.success) return { ok: true, frame: parsed.output };
  const issue = parsed.issues[0];
  return refused(value, "invalid_frame", v.getDotPath(issue) ?? "", issue.message);
}

function refused(value: unknown, code: string, field: string, problem: string): Decoded {
  const requestId = typeof value === "object" && value !== null &&
      typeof (value as { id?: unknown }).id === "string" &&
      (value as { id: string }).id.isWellFormed()
    ? (value as { id: string }).id
    : undefined;
  return {
    ok: false,
    error: {
      ...(requestId && { id: requestId }),
      code,
      message: field ? `${field}: ${problem}` : problem,
      ...(field && { field }),
    },
  };
}

/** Encode a server frame the way the client speaks: MessagePack or JSON. */
export function encodeFrame(frame: ServerFrame, binary: boolean): string | Uint8Array {
  return binary ? encode(frame) : JSON.stringify(frame);
}

function byteLength(data: string | ArrayBuffer | Uint8Array): number {
  if (typeof data !== "string") return data.byteLength;
  // A UTF-16 unit is at most three UTF-8 bytes: skip the encoding when it cannot matter.
  return data.length * 3 <= maxFrameBytes ? data.length : new TextEncoder().encode(data).byteLength;
}
