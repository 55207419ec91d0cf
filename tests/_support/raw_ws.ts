// A WebSocket client at the byte level, for what a well-behaved client
// cannot do: stop reading while the server keeps sending.

/** Open a WebSocket over a raw TCP connection and send `frames` as masked text frames. */
export async function rawWebSocket(url: string, frames: string[]): Promise<Deno.TcpConn> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(new TextEncoder().encode(upgradeRequest(hostname)));
  for (const text of frames) await conn.write(maskedTextFrame(text));
  return conn;
}

function upgradeRequest(hostname: string): string {
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  return `GET /v1/ws HTTP/1.1\r\nHost: ${hostname}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
}

function maskedTextFrame(text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const mask = crypto.getRandomValues(new Uint8Array(4));
  const length = payload.length < 126
    ? [payload.length | 0x80]
    : [126 | 0x80, payload.length >> 8, payload.length & 0xff];
  const frame = new Uint8Array(1 + length.length + 4 + payload.length);
  frame.set([0x81, ...length, ...mask]);
  payload.forEach((byte, i) => frame[1 + length.length + 4 + i] = byte ^ mask[i % 4]);
  return frame;
}

/** Read until the server's close frame (or the end of the connection); its close code. */
export async function closeCodeOf(conn: Deno.TcpConn): Promise<number | null> {
  let data = new Uint8Array(0);
  const buffer = new Uint8Array(1 << 16);
  try {
    for (;;) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) return findCloseCode(data);
      const grown = new Uint8Array(data.length + n);
      grown.set(data);
      grown.set(buffer.subarray(0, n), data.length);
      data = grown;
      const code = findCloseCode(data);
      if (code !== null) return code;
    }
  } finally {
    conn.close();
  }
}

// Skip the HTTP response head, then walk the (unmasked) server frames.
function findCloseCode(data: Uint8Array): number | null {
  const head = new TextDecoder().decode(data.subarray(0, 4096)).indexOf("\r\n\r\n");
  if (head < 0) return null;
  let at = head + 4;
  while (at + 2 <= data.length) {
    const opcode = data[at] & 0x0f;
    let length = data[at + 1] & 0x7f;
    let size = 2;
    if (length === 126) [length, size] = [(data[at + 2] << 8) | data[at + 3], 4];
    else if (length === 127) {
      if (at + 10 > data.length) return null;
      length = Number(new DataView(data.buffer, data.byteOffset + at + 2, 8).getBigUint64(0));
      size = 10;
    }
    if (at + size + length > data.length) return null;
    if (opcode === 0x8) return length >= 2 ? (data[at + size] << 8) | data[at + size + 1] : null;
    at += size + length;
  }
  return null;
}

/** Ask for a WebSocket upgrade over raw TCP; the response's status and the open connection. */
export async function rawUpgrade(url: string): Promise<{ status: number; conn: Deno.TcpConn }> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(new TextEncoder().encode(upgradeRequest(hostname)));
  const buffer = new Uint8Array(4096);
  const n = await conn.read(buffer);
  const statusLine = new TextDecoder().decode(buffer.subarray(0, n ?? 0)).split("\r\n")[0];
  return { status: Number(statusLine.split(" ")[1]), conn };
}
