// One timer for every pending expiry of a process. A request's deadline is
// set and cleared on every request, and each `setTimeout` with its
// `clearTimeout` costs about 3-5 µs in Deno (a Node `Timeout` object and its
// registration), more than the rest of a refused claim's deadline handling.
// Expiries wait in a binary heap by due time; cancelling one only forgets
// its callback (it leaves the heap when it reaches the top). Once none is
// pending the heap is dropped but the timer stays until it is due, unref'd
// so that it holds no process open: a process that answers each request
// before the next arrives (a refused claim is answered in the turn it
// arrives) would otherwise set and clear a timer per request.

interface Entry {
  due: number;
  expire?: () => void;
}

let heap: Entry[] = [];
let pending = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
/** When the timer is due; Infinity with none. */
let armedFor = Infinity;

/**
 * Call `expire` once `ms` have passed, unless the returned function is
 * called first. Every pending expiry of the process shares one timer.
 *
 * @example
 * ```ts
 * const cancel = scheduleExpiry(500, () => console.log("no answer in 500 ms"));
 * cancel();
 * ```
 */
export function scheduleExpiry(ms: number, expire: () => void): () => void {
  const entry: Entry = { due: performance.now() + Math.max(0, ms), expire };
  push(entry);
  if (pending++ === 0 && timer !== undefined) Deno.refTimer(timer);
  if (entry.due < armedFor) arm(entry.due);
  return () => {
    if (entry.expire === undefined) return;
    entry.expire = undefined;
    if (--pending === 0) idle();
  };
}

// Nothing is pending: every entry left in the heap is cancelled.
function idle(): void {
  heap = [];
  if (timer !== undefined) Deno.unrefTimer(timer);
}

function arm(due: number): void {
  if (timer !== undefined) clearTimeout(timer);
  armedFor = due;
  timer = setTimeout(run, Math.max(0, due - performance.now()));
}

function run(): void {
  timer = undefined;
  armedFor = Infinity;
  const now = performance.now();
  const due: (() => void)[] = [];
  while (heap.length > 0 && (heap[0].expire === undefined || heap[0].due <= now)) {
    const entry = pop();
    if (entry.expire === undefined) continue;
    due.push(entry.expire);
    entry.expire = undefined;
    pending--;
  }
  if (pending === 0) heap = [];
  else arm(heap[0].due);
  // After the heap is consistent: an expiry may schedule another.
  for (const expire of due) expire();
}

function push(entry: Entry): void {
  let at = heap.push(entry) - 1;
  while (at > 0) {
    const parent = (at - 1) >> 1;
    if (heap[parent].due <= entry.due) break;
    heap[at] = heap[parent];
    at = parent;
  }
  heap[at] = entry;
}

function pop(): Entry {
  const top = heap[0];
  const last = heap.pop()!;
  if (heap.length === 0) return top;
  let at = 0;
  while (true) {
    let child = 2 * at + 1;
    if (child >= heap.length) break;
    if (child + 1 < heap.length && heap[child + 1].due < heap[child].due) child++;
    if (heap[child].due >= last.due) break;
    heap[at] = heap[child];
    at = child;
  }
  heap[at] = last;
  return top;
}

/**
 * Whether the timer holds the process open: while some expiry is pending,
 * when it is armed and ref'd; otherwise it is unref'd or gone.
 */
export function timerHeld(): boolean {
  return pending > 0;
}

/** How many entries the heap holds, cancelled ones included: none once none is pending. */
export function heldEntries(): number {
  return heap.length;
}
