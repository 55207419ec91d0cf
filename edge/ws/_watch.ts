/**
 * A conversation one socket watches: its delivery (a
 * {@linkcode ConversationStream}) and what the socket was last told of its
 * status and queue position, so that only changes are sent. The agents'
 * view of the waiting list is here too.
 *
 * @module
 */
import type { SessionSummary } from "../live/tenant_feed.ts";
import type { ChatPlace } from "../live/queue_feed.ts";
import { ConversationStream } from "./conversation_stream.ts";
import type { ServerFrame } from "./frames.ts";

/** A watched conversation. */
export class Watch extends ConversationStream {
  status?: string;
  agent?: string | null;
  position?: number;
  /** The newest message number known, in the socket's numbering. */
  newest = 0;
  /** The unread count last told, if any. */
  unreadShown?: number;
  estimatedWaitMs?: number | null;
  /** Stops the conversation's pushes to this socket. */
  unsubscribe: () => void = noop;

  /** The frames telling a change of the conversation's status, if any. */
  statusChange(summary: SessionSummary): ServerFrame[] {
    const frames: ServerFrame[] = [];
    if (
      summary.status === "assigned" &&
      (this.status !== "assigned" || this.agent !== summary.agent)
    ) {
      frames.push({ t: "assigned", conversation: summary.id, agent: summary.agent });
    }
    if (summary.status === "closed" && this.status !== "closed") {
      frames.push({
        t: "close",
        conversation: summary.id,
        reason: String(summary.closeReason ?? "closed"),
      });
    }
    this.status = summary.status;
    this.agent = summary.agent;
    return frames;
  }

  /** The frame telling a new unread count, given the reader's marker, if it changed. */
  unreadChange(marker: number): ServerFrame | null {
    const count = Math.max(0, this.newest - marker);
    if (count === this.unreadShown) return null;
    this.unreadShown = count;
    return { t: "unread", conversation: this.conversation, count };
  }

  /** The frame telling the visitor its new place in `queue` (the edge's own list), if it moved. */
  positionChange(queue: readonly string[]): ServerFrame | null {
    const position = queue.indexOf(this.conversation) + 1;
    return this.placeChange(position === 0 ? null : { position, waiting: queue.length });
  }

  /**
   * The frame telling the visitor its new place and estimated wait, as the
   * queue actor tells them, if either changed; null once it no longer waits.
   */
  placeChange(
    place: Omit<ChatPlace, "estimatedWaitMs"> & Partial<ChatPlace> | null,
  ): ServerFrame | null {
    const position = place?.position ?? 0;
    const estimate = place?.estimatedWaitMs;
    if (position === (this.position ?? 0) && estimate === this.estimatedWaitMs) return null;
    this.position = position;
    this.estimatedWaitMs = estimate;
    if (place === null) return null;
    return {
      t: "queue",
      conversation: this.conversation,
      position,
      waiting: place.waiting,
      ...(estimate !== undefined && { estimatedWaitMs: estimate }),
    };
  }
}

/** What {@linkcode waitingList} gives: the frame, and a key that changes with it. */
export interface WaitingList {
  frame: ServerFrame;
  shown: string;
}

// The feed hands every agent socket of a tenant the same queue array until
// the queue changes, so its list is built once for all of them.
const lists = new WeakMap<readonly string[], WaitingList>();

/** The waiting list as an agent sees it (its head), and a key that changes with it. */
export function waitingList(queue: readonly string[]): WaitingList {
  let list = lists.get(queue);
  if (!list) {
    const first = queue.slice(0, 50);
    list = {
      frame: { t: "queue", waiting: queue.length, conversations: first },
      shown: `${queue.length}:${first.join(",")}`,
    };
    lists.set(queue, list);
  }
  return list;
}

function noop(): void {}
