// The profile scenario's attribution: frames to stages, and a real process
// profiled over its inspector.
import { assert, assertEquals } from "@std/assert";
import { TextLineStream } from "../cluster/process/text_line_stream.ts";
import { type HeapNode, inspectorAddress, InspectorSession } from "../bench/_inspector.ts";
import { stageBytes, stageOfFrame, stageTimes } from "../bench/_profile_stages.ts";

const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
const npm = "file:///root/.cache/deno/npm/registry.npmjs.org";
const repo = "file:///work/switchboard";

Deno.test("frames are charged to the stage of the code they run", () => {
  assertEquals(
    stageOfFrame(frame("decode", `${npm}/@msgpack/msgpack/3.1.3/dist.esm/Decoder.mjs`)),
    "decode",
  );
  assertEquals(
    stageOfFrame(frame("encodePayload", `${repo}/cluster/transport/_messages.ts`)),
    "encode",
  );
  assertEquals(stageOfFrame(frame("~run", `${npm}/valibot/1.2.0/dist/index.mjs`)), "validate");
  assertEquals(stageOfFrame(frame("", `${repo}/edge/http/settings_schemas.ts`)), "validate");
  assertEquals(
    stageOfFrame(frame("jwtVerify", `${npm}/jose/6.1.3/dist/webapi/jwt/verify.js`)),
    "auth and limits",
  );
  assertEquals(
    stageOfFrame(frame("execute", `${npm}/postgres/3.4.9/src/connection.js`)),
    "append statement",
  );
  assertEquals(stageOfFrame(frame("#drain", `${repo}/cluster/store/group_committer.ts`)), "commit");
  assertEquals(
    stageOfFrame(frame("publish", `${repo}/cluster/transport/nats_transport.ts`)),
    "publish",
  );
  assertEquals(
    stageOfFrame(frame("#respond", `${repo}/cluster/transport/nats_transport.ts`)),
    "reply",
  );
  assertEquals(
    stageOfFrame(frame("request", `${npm}/nats/2.29.3/lib/nats-base-client/nats.js`)),
    "NATS request",
  );
  assertEquals(stageOfFrame(frame("decide", `${repo}/actors/ticket.ts`)), "turn");
  assertEquals(
    stageOfFrame(frame("waitingInOrder", `${repo}/actors/_queue_work.ts`)),
    "queue actor (routing)",
  );
  assertEquals(stageOfFrame(frame("op_ws_send_text", "")), "socket write");
  // Plain JS of no known part is left to its callers.
  assertEquals(stageOfFrame(frame("map", "")), undefined);
});

Deno.test("allocations are charged to the innermost stage on their stack", () => {
  const node = (
    callFrame: ReturnType<typeof frame>,
    selfSize: number,
    children: HeapNode[] = [],
  ) => ({
    callFrame,
    selfSize,
    children,
  });
  const decode = frame("decode", `${npm}/@msgpack/msgpack/3.1.3/dist.esm/Decoder.mjs`);
  const turn = frame("decide", `${repo}/actors/ticket.ts`);
  const plain = frame("map", "");
  const allocated = stageBytes({
    head: node(frame("(root)", ""), 0, [
      node(turn, 100, [node(plain, 40), node(decode, 7, [node(plain, 3)])]),
      node(plain, 5),
    ]),
  });
  assertEquals(allocated.bytes, 155);
  assertEquals(allocated.byStage.turn, 140);
  assertEquals(allocated.byStage.decode, 10);
  assertEquals(allocated.byStage["other JS"], 5);
  assertEquals(allocated.topFrames.turn?.[0], {
    frame: "decide actors/ticket.ts:0",
    bytes: 100,
  });
  // Against an earlier profile of the same sampling, only what came after it.
  const since = stageBytes(
    {
      head: node(frame("(root)", ""), 0, [
        node(turn, 100, [node(plain, 40), node(decode, 7, [node(plain, 3)])]),
        node(plain, 5),
      ]),
    },
    { head: node(frame("(root)", ""), 0, [node(turn, 60, [node(decode, 7)]), node(plain, 5)]) },
  );
  assertEquals(since.bytes, 155 - 72);
  assertEquals(since.byStage.turn, 80);
  assertEquals(since.byStage.decode, 3);
  assertEquals(since.byStage["other JS"], 0);
});

Deno.test("a process that only validates is profiled as validating", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--inspect=127.0.0.1:0",
      new URL("./_support/validating_loop.ts", import.meta.url).pathname,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    let address: string | undefined;
    const lines = child.stderr.pipeThrough(new TextDecoderStream()).pipeThrough(
      new TextLineStream(),
    );
    for await (const line of lines) if ((address = inspectorAddress(line))) break;
    assert(address, "the child printed no inspector address");
    await using session = await InspectorSession.connect(address);
    await session.startProfiling(500);
    await session.startHeapSampling(4096);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const times = stageTimes(await session.stopProfiling());
    const allocated = stageBytes(await session.stopHeapSampling());
    assert(times.busyUs > 0, "no busy sample");
    assert(
      times.byStage.validate > 0.5 * times.busyUs,
      `validate got ${times.byStage.validate} of ${times.busyUs} µs: ${
        JSON.stringify(times.byStage)
      }`,
    );
    // The collected garbage counts too: the loop keeps nothing alive.
    assert(
      allocated.byStage.validate > 0.5 * allocated.bytes,
      `validate allocated ${allocated.byStage.validate} of ${allocated.bytes} B`,
    );
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await child.stderr.cancel().catch(() => {});
  }
});
