// Where a process's main-thread CPU went, by stage of the request path:
// each sample of a V8 CPU profile is charged to the stage of the innermost
// frame on its stack that a rule recognises (a library, a file of the repo,
// a Deno extension), so a JSON.stringify inside the frame encoder is
// "encode", and the NATS client's work is split by who called it.
import type { CpuProfile, HeapProfile, ProfileNode } from "./_inspector.ts";

/** The stages, in the order tables show them. */
export const stages = [
  "decode",
  "validate",
  "auth and limits",
  "HTTP server",
  "socket read",
  "edge routing",
  "NATS request",
  "turn",
  "queue actor (routing)",
  "activate (load)",
  "encode",
  "append statement",
  "commit",
  "reply",
  "publish",
  "fan-out",
  "socket write",
  "telemetry",
  "CRDT replication",
  "client sockets (node:net)",
  "event loop (timers, ticks)",
  "garbage collector",
  "inspector (the profiling's own cost)",
  "native, unattributed",
  "other JS",
] as const;

/** One of {@linkcode stages}. */
export type Stage = (typeof stages)[number];

type Frame = ProfileNode["callFrame"];

// A rule names the stage of a frame it recognises, or leaves it to the callers.
interface Rule {
  stage: Stage;
  url?: RegExp;
  fn?: RegExp;
}

// First match wins, per frame, leaf first; library rules come before the
// repo's files that call them.
const rules: Rule[] = [
  { stage: "garbage collector", fn: /^\(garbage collector\)$/ },
  // With an inspector attached, node:net reports every socket event to it.
  { stage: "inspector (the profiling's own cost)", fn: /^op_inspector_/ },
  { stage: "inspector (the profiling's own cost)", url: /inspector/ },
  { stage: "native, unattributed", fn: /^\(program\)$/ },
  { stage: "decode", url: /@msgpack\/msgpack\/.*(Decoder|decode)/ },
  { stage: "encode", url: /@msgpack\/msgpack\/.*(Encoder|encode)/ },
  { stage: "decode", fn: /^(decodePayload|decodeFrame|readJsonObject|readBounded|json|text)$/ },
  { stage: "encode", fn: /^(encodePayload|encodeFrame)$/ },
  { stage: "encode", url: /\/edge\/http\/_responses\.ts$/ },
  { stage: "validate", url: /\/valibot\/|\/actors\/storable_text\.ts$/ },
  { stage: "validate", url: /\/edge\/http\/(_validate|(settings_)?schemas)\.ts$/ },
  { stage: "auth and limits", url: /\/jose\/|ext:deno_crypto|\/edge\/(auth|limits)\// },
  { stage: "auth and limits", fn: /^op_crypto_/ },
  { stage: "socket write", fn: /^op_ws_send|^send/, url: /ext:deno_websocket|^$/ },
  { stage: "socket read", url: /ext:deno_websocket/ },
  { stage: "socket read", fn: /^op_ws_/ },
  { stage: "HTTP server", url: /ext:deno_(http|fetch)/ },
  { stage: "HTTP server", fn: /^op_http_/ },
  { stage: "telemetry", url: /@opentelemetry|\/cluster\/telemetry\// },
  { stage: "reply", fn: /^(#respond|respond|answer)$/, url: /\/cluster\/transport\/|\/nats\// },
  { stage: "publish", fn: /^publish$/, url: /\/cluster\/transport\/|\/process\/node_runtime\.ts$/ },
  { stage: "publish", url: /\/cluster\/runtime\/queue_publisher\.ts$/ },
  {
    stage: "CRDT replication",
    url: /\/cluster\/crdt\/|\/cluster\/process\/(shared_state|load_feed)\.ts$/,
  },
  {
    stage: "NATS request",
    url: /\/nats\/|\/cluster\/(transport|placement)\/|node_service\.ts$|\/cluster\/abortable\.ts$/,
  },
  { stage: "activate (load)", url: /\/cluster\/runtime\/_activation\.ts$/ },
  { stage: "activate (load)", fn: /^load$/, url: /\/cluster\/store\// },
  {
    stage: "commit",
    url: /\/cluster\/store\/group_committer\.ts$|\/cluster\/runtime\/_output_gate\.ts$/,
  },
  {
    stage: "append statement",
    url: /\/postgres\/|\/cluster\/store\/|\/cluster\/runtime\/_append\.ts$/,
  },
  // The tenant's queue actor turns once per arrival and departure, whatever the command.
  {
    stage: "queue actor (routing)",
    url:
      /\/actors\/(_queue_\w+|_ticket_queue|queue)\.ts$|\/cluster\/runtime\/(queue_\w+|routing)\.ts$/,
  },
  { stage: "turn", url: /\/actors\/|\/cluster\/runtime\// },
  {
    stage: "fan-out",
    url: /\/edge\/live\/|\/edge\/ws\/(conversation_stream|_relay|_unread|_watch)\.ts$/,
  },
  { stage: "edge routing", url: /\/edge\// },
  {
    stage: "event loop (timers, ticks)",
    url: /timers\.m?[jt]s$|_next_tick\.ts$|ext:core\/01_core\.js$/,
  },
  { stage: "client sockets (node:net)", url: /ext:deno_node\// },
];

/** The stage a rule gives `frame`, or undefined when the frame is left to its callers. */
export function stageOfFrame(frame: Frame): Stage | undefined {
  for (const rule of rules) {
    if (rule.fn && !rule.fn.test(frame.functionName)) continue;
    if (rule.url && !rule.url.test(frame.url)) continue;
    return rule.stage;
  }
  return undefined;
}

/** Busy main-thread time by stage, in µs of samples, and the idle time beside it. */
export interface StageTimes {
  busyUs: number;
  idleUs: number;
  byStage: Record<Stage, number>;
  /** The busiest leaf frames of each stage, for checking (and tuning) the rules. */
  topFrames: Partial<Record<Stage, { frame: string; us: number }[]>>;
}

/**
 * Charge each sample of `profile` taken between `fromUs` and `toUs` (the
 * profile's own clock) to a stage. A sample's weight is the time to the
 * next sample, as DevTools counts it.
 */
export function stageTimes(profile: CpuProfile, fromUs = -Infinity, toUs = Infinity): StageTimes {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parents.set(child, node.id);
  }
  const stageOfNode = new Map<number, Stage | "idle">();
  const frames: FrameTotals = new Map();
  const resolve = (id: number): Stage | "idle" => {
    const known = stageOfNode.get(id);
    if (known) return known;
    let stage: Stage | "idle" = "other JS";
    if (nodes.get(id)!.callFrame.functionName === "(idle)") stage = "idle";
    else {
      for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
        const found = stageOfFrame(nodes.get(at)!.callFrame);
        if (found) {
          stage = found;
          break;
        }
      }
    }
    stageOfNode.set(id, stage);
    return stage;
  };
  const byStage = Object.fromEntries(stages.map((stage) => [stage, 0])) as Record<Stage, number>;
  let idleUs = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i];
    const weight = profile.timeDeltas[i + 1] ?? 0;
    if (at < fromUs || at > toUs) continue;
    const stage = resolve(profile.samples[i]);
    if (stage === "idle") {
      idleUs += weight;
      continue;
    }
    byStage[stage] += weight;
    charge(frames, stage, nodes.get(profile.samples[i])!.callFrame, weight);
  }
  const busyUs = Object.values(byStage).reduce((sum, us) => sum + us, 0);
  return { busyUs, idleUs, byStage, topFrames: topFrames(frames, "us") };
}

/** Bytes allocated by stage, as a sampling heap profile estimates them. */
export interface StageBytes {
  bytes: number;
  byStage: Record<Stage, number>;
  /** The frames that allocated most in each stage. */
  topFrames: Partial<Record<Stage, { frame: string; bytes: number }[]>>;
}

/**
 * Charge the bytes each frame of `profile` allocated to the stage of the
 * innermost frame on its stack that a rule recognises, as
 * {@linkcode stageTimes} charges CPU samples; with `since`, an earlier
 * profile of the same sampling, only what was allocated after it.
 */
export function stageBytes(profile: HeapProfile, since?: HeapProfile): StageBytes {
  const frames = frameBytes(profile);
  if (since) {
    for (const [stage, earlier] of frameBytes(since)) {
      const byFrame = frames.get(stage);
      for (const [frame, bytes] of earlier) byFrame?.set(frame, (byFrame.get(frame) ?? 0) - bytes);
    }
  }
  const byStage = Object.fromEntries(stages.map((stage) => [stage, 0])) as Record<Stage, number>;
  for (const [stage, byFrame] of frames) {
    for (const bytes of byFrame.values()) byStage[stage] += bytes;
  }
  return {
    bytes: Object.values(byStage).reduce((sum, bytes) => sum + bytes, 0),
    byStage,
    topFrames: topFrames(frames, "bytes"),
  };
}

// The bytes of every frame of a heap profile, by the stage it is charged to.
function frameBytes(profile: HeapProfile): FrameTotals {
  const frames: FrameTotals = new Map();
  const pending: [HeapProfile["head"], Stage][] = [[profile.head, "other JS"]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, inherited] = next;
    const stage = stageOfFrame(node.callFrame) ?? inherited;
    if (node.selfSize > 0) charge(frames, stage, node.callFrame, node.selfSize);
    for (const child of node.children) pending.push([child, stage]);
  }
  return frames;
}

// What each frame of each stage took (µs or bytes), by the frame's name.
type FrameTotals = Map<Stage, Map<string, number>>;

function charge(frames: FrameTotals, stage: Stage, frame: Frame, amount: number): void {
  const name = frameName(frame);
  const byFrame = frames.get(stage) ?? frames.set(stage, new Map()).get(stage)!;
  byFrame.set(name, (byFrame.get(name) ?? 0) + amount);
}

// The eight frames of each stage that took most, as `{ frame, [unit]: amount }`.
function topFrames<U extends string>(
  frames: FrameTotals,
  unit: U,
): Partial<Record<Stage, ({ frame: string } & Record<U, number>)[]>> {
  return Object.fromEntries(
    [...frames].map(([stage, byFrame]) => [
      stage,
      [...byFrame].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([frame, amount]) => ({
        frame,
        [unit]: amount,
      })),
    ]),
  );
}

function frameName({ functionName, url, lineNumber }: Frame): string {
  return `${functionName || "(anonymous)"} ${url.split("/").slice(-2).join("/")}:${lineNumber}`;
}
