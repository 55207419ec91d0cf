// When the runtime should bring backlogged tickets back into the queue.
import type { QueueState } from "./_queue_types.ts";
import { waitingCount } from "./_queue_work.ts";

/**
 * How many backlogged tickets the queue has room for, and the generation of
 * overflows the runtime's search answers to; null while nothing is
 * backlogged or the queue is above its low-water mark (half its
 * `maxWaiting`), so a queue at the brim is not refilled one ticket per turn.
 */
export function backlogRoom(
  state: QueueState,
  maxWaiting: number,
): { generation: number; room: number } | null {
  if (!state.backlog?.open) return null;
  const waiting = waitingCount(state);
  if (waiting >= Math.floor(maxWaiting / 2) && waiting > 0) return null;
  return { generation: state.backlog.generation, room: maxWaiting - waiting };
}
