// The profile scenario's attribution: frames to stages, and a real process
// profiled over its inspector.
import { assert, assertEquals } from "@std/assert";
import { TextLineStream } from "../cluster/process/text_line_stream.ts";
import { inspectorAddress, InspectorSession } from "../bench/_inspector.ts";
import { stageOfFrame, stageTimes } from "../bench/_profile_stages.ts";

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
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const times = stageTimes(await session.stopProfiling());
    assert(times.busyUs > 0, "no busy sample");
    assert(
      times.byStage.validate > 0.5 * times.busyUs,
      `validate got ${times.byStage.validate} of ${times.busyUs} µs: ${
        JSON.stringify(times.byStage)
      }`,
    );
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await child.stderr.cancel().catch(() => {});
  }
});
