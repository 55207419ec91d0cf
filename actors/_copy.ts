// Events are JSON by construction (the log stores them so), and a state must
// not share their objects: a JSON round trip copies them three times faster
// than structuredClone in Deno (4 against 12 µs for a queue item).

/** A deep copy of JSON data. */
export function copyData<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}
