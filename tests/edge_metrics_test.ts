import { assertEquals, assertThrows } from "@std/assert";
import { MetricsRegistry } from "../cluster/telemetry/metrics.ts";

/** The rendered text without the registry's own error counter. */
function render(metrics: MetricsRegistry): string[] {
  return metrics.render().trimEnd().split("\n").filter((line) =>
    !line.includes("sb_metrics_collect_errors_total")
  );
}

Deno.test("counters render per label set, and start at zero without labels", () => {
  const metrics = new MetricsRegistry();
  const plain = metrics.counter({ name: "jobs_total", help: "Jobs." });
  const byKind = metrics.counter<"kind">({
    name: "turns_total",
    help: "Turns.",
    labelNames: ["kind"],
  });
  byKind.inc({ kind: "ticket" });
  byKind.inc({ kind: "ticket" }, 2);
  byKind.inc({ kind: "queue" });
  assertEquals(render(metrics), [
    "# HELP jobs_total Jobs.",
    "# TYPE jobs_total counter",
    "jobs_total 0",
    "# HELP turns_total Turns.",
    "# TYPE turns_total counter",
    'turns_total{kind="ticket"} 3',
    'turns_total{kind="queue"} 1',
  ]);
  plain.inc();
  assertThrows(() => plain.inc(undefined, -1), RangeError, "cannot go down");
});

Deno.test("gauges go up, down and to a value", () => {
  const metrics = new MetricsRegistry();
  const sockets = metrics.gauge({ name: "sockets", help: "Open sockets." });
  sockets.inc();
  sockets.inc(undefined, 4);
  sockets.dec();
  assertEquals(render(metrics).at(-1), "sockets 4");
  sockets.set(undefined, 1.5);
  assertEquals(render(metrics).at(-1), "sockets 1.5");
});

Deno.test("callback gauges are read at scrape time; a throwing one is counted, not fatal", () => {
  const metrics = new MetricsRegistry();
  let depth = 1;
  metrics.callbackGauge({ name: "depth", help: "Depth.", collect: () => depth });
  metrics.callbackGauge<"kind">({
    name: "actors",
    help: "Actors.",
    labelNames: ["kind"],
    collect: () => [{ labels: { kind: "ticket" }, value: 2 }],
  });
  metrics.callbackGauge({
    name: "broken",
    help: "Broken.",
    collect: () => {
      throw new Error("no");
    },
  });
  depth = 7;
  const text = metrics.render();
  assertEquals(text.includes("\ndepth 7\n"), true);
  assertEquals(text.includes('\nactors{kind="ticket"} 2\n'), true);
  assertEquals(text.includes('sb_metrics_collect_errors_total{metric="broken"} 1'), true);
});

Deno.test("declaring a callback gauge again hands it to the new collector", () => {
  const metrics = new MetricsRegistry();
  metrics.callbackGauge({ name: "hosted", help: "Hosted.", collect: () => 1 });
  metrics.callbackGauge({ name: "hosted", help: "Hosted.", collect: () => 2 });
  assertEquals(render(metrics).at(-1), "hosted 2");
});

Deno.test("histograms render cumulative buckets, +Inf, sum and count", () => {
  const metrics = new MetricsRegistry();
  const latency = metrics.histogram<"route">({
    name: "latency_seconds",
    help: "Latency.",
    labelNames: ["route"],
    buckets: [0.1, 1],
  });
  for (const value of [0.05, 0.1, 0.5, 3]) latency.observe({ route: "/a" }, value);
  assertEquals(render(metrics).slice(2), [
    'latency_seconds_bucket{route="/a",le="0.1"} 2',
    'latency_seconds_bucket{route="/a",le="1"} 3',
    'latency_seconds_bucket{route="/a",le="+Inf"} 4',
    'latency_seconds_sum{route="/a"} 3.65',
    'latency_seconds_count{route="/a"} 4',
  ]);
  assertThrows(
    () => metrics.histogram({ name: "h", help: "h", buckets: [1, 1] }),
    RangeError,
    "ascending",
  );
  assertThrows(
    () => metrics.histogram<"le">({ name: "h2", help: "h", labelNames: ["le"] }),
    RangeError,
    "reserved",
  );
});

Deno.test("label values and help text are escaped", () => {
  const metrics = new MetricsRegistry();
  metrics.counter<"path">({ name: "odd", help: "Back\\slash\nnewline", labelNames: ["path"] })
    .inc({ path: 'a"b\\c\nd' });
  assertEquals(render(metrics), [
    "# HELP odd Back\\\\slash\\nnewline",
    "# TYPE odd counter",
    'odd{path="a\\"b\\\\c\\nd"} 1',
  ]);
});

Deno.test("declaring a metric again returns it; declaring it differently throws", () => {
  const metrics = new MetricsRegistry();
  const first = metrics.counter<"a">({ name: "same", help: "x", labelNames: ["a"] });
  const second = metrics.counter<"a">({ name: "same", help: "x", labelNames: ["a"] });
  first.inc({ a: "1" });
  second.inc({ a: "1" });
  assertEquals(render(metrics).at(-1), 'same{a="1"} 2');
  assertThrows(() => metrics.gauge({ name: "same", help: "x" }), Error, "differently");
  assertThrows(() => metrics.counter({ name: "same", help: "x" }), Error, "differently");
});

Deno.test("bad names and wrong label sets are refused", () => {
  const metrics = new MetricsRegistry();
  assertThrows(() => metrics.counter({ name: "9lives", help: "x" }), RangeError);
  assertThrows(() => metrics.counter<"a-b">({ name: "ok", help: "x", labelNames: ["a-b"] }));
  const counter = metrics.counter<"a" | "b">({ name: "two", help: "x", labelNames: ["a", "b"] });
  assertThrows(() => counter.inc({ a: "1" } as { a: string; b: string }), RangeError, "a, b");
  assertThrows(() => counter.inc(undefined), RangeError);
});

Deno.test("label values that run together when joined are still their own series", () => {
  const metrics = new MetricsRegistry();
  const counter = metrics.counter<"a" | "b">({ name: "pair", help: "x", labelNames: ["a", "b"] });
  counter.inc({ a: "1:x", b: "" });
  counter.inc({ a: "1", b: "x" });
  counter.inc({ a: "1", b: "x" });
  assertEquals(render(metrics).slice(-2), ['pair{a="1:x",b=""} 1', 'pair{a="1",b="x"} 2']);
  assertThrows(
    () => counter.inc({ a: "1", b: "x", c: "2" } as { a: string; b: string }),
    RangeError,
  );
});
