// The chat load generator, run as its own Deno process so its CPU time is
// not the servers' (on this 2-core machine it still competes for the cores).
// Open loop: each step offers a fixed aggregate rate of visitor messages,
// round-robin over the conversations, whether or not earlier ones were
// answered. A message's body carries its id and send time; the agent's
// receipt of it gives the visitor→agent latency. The spec comes on stdin,
// the result on stdout.
import type { ChatHandlers } from "./_chat_clients.ts";
import { connectSwitchboard, type SwitchboardSetup } from "./_chat_switchboard.ts";
import { connectSocketIo, type SocketIoSetup } from "./_socketio_clients.ts";
import { type JsonChild, mark, type OnMark, startJsonChild } from "./_json_child.ts";
import { type Quantiles, quantiles } from "./_stats.ts";

/** The load to offer, and when a step counts as sustained. */
export interface ChatLoad {
  setup: SwitchboardSetup | SocketIoSetup;
  /** How long the sockets are left alone after connecting, before the idle window. */
  settleMs: number;
  /** A quiet window after setup: what the connected but silent sockets cost. */
  idleMs: number;
  /** An untimed first step: it warms the JIT, the pools and the subscriptions. */
  warmup: { rate: number; ms: number };
  /** Messages per second of each step, in order; the run stops after the first not sustained. */
  rates: number[];
  stepMs: number;
  /** An ack this long after its step's end still counts as on time. */
  graceMs: number;
  /** How long a step's backlog may take to clear. */
  drainMs: number;
  sustained: Sustained;
}

/** The warm-up, grace and drain the chat scenarios share. */
export const chatStepTiming = {
  warmup: { rate: 500, ms: 2000 },
  graceMs: 1000,
  drainMs: 8000,
} satisfies Pick<ChatLoad, "warmup" | "graceMs" | "drainMs">;

/** A step is sustained when ≥ `ackedShare` of its offer was acked on time and p99 < `p99Ms`. */
export interface Sustained {
  p99Ms: number;
  ackedShare: number;
}

/** What one step of the load saw. */
export interface StepResult {
  rate: number;
  /** Messages the step should send: rate × duration. */
  offered: number;
  sent: number;
  /** Acked by the step's end plus the grace. */
  ackedOnTime: number;
  /** Acked at all, by the end of the drain. */
  acked: number;
  /** Refusals by code. */
  refused: Record<string, number>;
  /** Messages that reached their agent. */
  delivered: number;
  /** Visitor send → agent receipt. */
  latencyMs: Quantiles;
  /** Visitor send → visitor ack. */
  ackMs: Quantiles;
  /** How late the generator itself sent, at worst, against the schedule. */
  sendLagMaxMs: number;
  /** Epoch ms of the step's first and last send. */
  startedAt: number;
  endedAt: number;
  /** From the step's end until every sent message was answered and delivered; null: never. */
  settledMs: number | null;
  sustained: boolean;
}

/** The whole run. */
export interface ChatRun {
  sockets: number;
  setupMs: number;
  /** Epoch ms of the quiet window. */
  idle: { startedAt: number; endedAt: number };
  warmup: StepResult;
  steps: StepResult[];
  /** Over the warmup and every step. */
  sent: number;
  acked: number;
}

/**
 * Start the generator in a fresh process; it is killed when `signal` aborts.
 * It marks the start of every step with the step's name (`warmup`, `500/s`).
 */
export function startChatLoad(
  load: ChatLoad,
  signal: AbortSignal,
  onMark?: OnMark,
): JsonChild<ChatRun> {
  return startJsonChild(import.meta.url, load, signal, {
    permissions: ["--allow-net", "--allow-env", "--allow-read"],
    onMark,
  });
}

// One step's counters, filled in by the clients' callbacks as answers arrive.
class Tally {
  sent = 0;
  ackedOnTime = 0;
  acked = 0;
  refused: Record<string, number> = {};
  latencies: number[] = [];
  ackLatencies: number[] = [];
  sendLagMaxMs = 0;
  startedAt = 0;
  /** performance.now() after which acks are late; set when the step ends. */
  onTimeUntil = Infinity;

  constructor(readonly rate: number, readonly offered: number) {}

  get answered(): number {
    return this.acked + Object.values(this.refused).reduce((sum, n) => sum + n, 0);
  }

  result(endedAt: number, settledMs: number | null, sustained: Sustained): StepResult {
    const latencyMs = quantiles(this.latencies);
    return {
      rate: this.rate,
      offered: this.offered,
      sent: this.sent,
      ackedOnTime: this.ackedOnTime,
      acked: this.acked,
      refused: this.refused,
      delivered: this.latencies.length,
      latencyMs,
      ackMs: quantiles(this.ackLatencies),
      sendLagMaxMs: this.sendLagMaxMs,
      startedAt: this.startedAt,
      endedAt,
      settledMs,
      sustained: settledMs !== null && this.ackedOnTime >= sustained.ackedShare * this.offered &&
        latencyMs.p99 < sustained.p99Ms,
    };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function generate(load: ChatLoad): Promise<ChatRun> {
  // By message id: the step that sent it and when.
  const stepOf: Tally[] = [];
  const sentAt: number[] = [];
  const handlers: ChatHandlers = {
    acked(id) {
      const now = performance.now();
      const tally = stepOf[id];
      tally.acked++;
      if (now <= tally.onTimeUntil) tally.ackedOnTime++;
      tally.ackLatencies.push(now - sentAt[id]);
    },
    refused(id, code) {
      const tally = stepOf[id];
      tally.refused[code] = (tally.refused[code] ?? 0) + 1;
    },
    delivered(body) {
      const [id, at] = body.split(" ");
      stepOf[Number(id)]?.latencies.push(performance.now() - Number(at));
    },
  };
  const setupStarted = performance.now();
  const clients = load.setup.system === "switchboard"
    ? await connectSwitchboard(load.setup, handlers)
    : await connectSocketIo(load.setup, handlers);
  const setupMs = performance.now() - setupStarted;
  const conversations = load.setup.conversations;
  const tallies: Tally[] = [];
  let nextId = 0;

  const step = async (rate: number, ms: number, name = `${rate}/s`): Promise<StepResult> => {
    const tally = new Tally(rate, Math.round(rate * ms / 1000));
    tallies.push(tally);
    tally.startedAt = Date.now();
    mark(name);
    const start = performance.now();
    while (tally.sent < tally.offered) {
      const now = performance.now();
      const due = Math.min(tally.offered, Math.floor((now - start) * rate / 1000));
      if (due > tally.sent) {
        tally.sendLagMaxMs = Math.max(
          tally.sendLagMaxMs,
          now - (start + tally.sent * 1000 / rate),
        );
      }
      for (; tally.sent < due; tally.sent++) send(tally, nextId++);
      await sleep(1);
    }
    const endedAt = Date.now();
    const ended = performance.now();
    tally.onTimeUntil = ended + load.graceMs;
    let settledMs: number | null = null;
    while (performance.now() - ended < load.graceMs + load.drainMs) {
      if (tally.answered === tally.sent && tally.latencies.length >= tally.acked) {
        settledMs = performance.now() - ended;
        break;
      }
      await sleep(20);
    }
    // Acks of the grace period are in; the rest only shows whether the backlog clears.
    if (settledMs !== null && settledMs < load.graceMs) {
      await sleep(load.graceMs - settledMs);
    }
    const result = tally.result(endedAt, settledMs, load.sustained);
    console.error(
      `bench: chat ${load.setup.system} ${name}: p99 ${result.latencyMs.p99.toFixed(1)} ms, ` +
        `acked on time ${(100 * result.ackedOnTime / result.offered).toFixed(1)}%, ` +
        `settled ${settledMs === null ? "never" : `${settledMs.toFixed(0)} ms`}`,
    );
    return result;
  };

  const send = (tally: Tally, id: number) => {
    const now = performance.now();
    stepOf[id] = tally;
    sentAt[id] = now;
    clients.send(id % conversations, id, `${id} ${now}`);
  };

  try {
    // Connecting leaves work behind (presence reaching every process, the
    // first head checks): the idle window starts after it.
    await sleep(load.settleMs);
    const idle = { startedAt: Date.now(), endedAt: 0 };
    await sleep(load.idleMs);
    idle.endedAt = Date.now();
    const warmup = await step(load.warmup.rate, load.warmup.ms, "warmup");
    const steps: StepResult[] = [];
    for (const rate of load.rates) {
      const result = await step(rate, load.stepMs);
      steps.push(result);
      if (!result.sustained) break;
    }
    // Late answers of a step that never settled still count towards what was stored.
    const sent = nextId;
    const answered = () => tallies.reduce((sum, tally) => sum + tally.answered, 0);
    for (const until = performance.now() + load.drainMs; performance.now() < until;) {
      if (answered() === sent) break;
      await sleep(20);
    }
    const acked = tallies.reduce((sum, tally) => sum + tally.acked, 0);
    return { sockets: clients.sockets, setupMs, idle, warmup, steps, sent, acked };
  } finally {
    await clients.close();
  }
}

if (import.meta.main) {
  const load: ChatLoad = await new Response(Deno.stdin.readable).json();
  console.log(JSON.stringify(await generate(load)));
}
