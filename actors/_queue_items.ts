// The queue's items, in shards by key: an event copies the shard its item is
// in and the short list of shards, not every item, so a queue holding
// thousands of items (waiting and held) pays for a few dozen per event.
// Copying one plain object of 1,000 keys costs Deno about 0.4 ms.
import type { ItemShards, QueueItem } from "./_queue_types.ts";

const SHARDS = 64;

// Any fixed spread of keys will do: a state read back from a snapshot is
// sharded again (`shardItems`), so the layout is never relied on across runs.
function shardOf(key: string): number {
  let hash = 0;
  for (let i = 0; i < key.length; i++) hash = (Math.imul(hash, 31) + key.charCodeAt(i)) | 0;
  return (hash >>> 0) % SHARDS;
}

/** No items. */
export function noItems(): ItemShards {
  return Array.from({ length: SHARDS }, () => ({}));
}

/** The item under `key`, if the queue holds it. */
export function itemAt(items: ItemShards, key: string): QueueItem | undefined {
  return items[shardOf(key)][key];
}

/** Every item, in no particular order. */
export function allItems(items: ItemShards): QueueItem[] {
  return items.flatMap((shard) => Object.values(shard));
}

/** `items` with `item` under `key`. */
export function withItemAt(items: ItemShards, key: string, item: QueueItem): ItemShards {
  const at = shardOf(key);
  const next = items.slice();
  next[at] = { ...items[at], [key]: item };
  return next;
}

/** `items` without the one under `key`. */
export function withoutItemAt(items: ItemShards, key: string): ItemShards {
  const at = shardOf(key);
  if (!Object.hasOwn(items[at], key)) return items;
  const { [key]: _, ...rest } = items[at];
  const next = items.slice();
  next[at] = rest;
  return next;
}

/**
 * The items of a state read back from a snapshot, sharded anew: a snapshot of
 * an older version holds one record of every item rather than shards.
 */
export function shardItems(items: ItemShards | Readonly<Record<string, QueueItem>>): ItemShards {
  const entries = Array.isArray(items)
    ? (items as ItemShards).flatMap((shard) => Object.entries(shard))
    : Object.entries(items);
  const shards = noItems() as Record<string, QueueItem>[];
  for (const [key, item] of entries) shards[shardOf(key)][key] = item;
  return shards;
}
