/**
 * Deno's own unix sockets (Deno.connect / Deno.listen), for the deno-socket baseline —
 * declared here because the project type-checks against bun-types, not Deno's.
 */

/** A Deno stream connection. */
export interface DenoConn {
  read(b: Uint8Array): Promise<number | null>;
  write(b: Uint8Array): Promise<number>;
  close(): void;
}

interface DenoNet {
  connect(o: { transport: "unix"; path: string }): Promise<DenoConn>;
  listen(o: { transport: "unix"; path: string }): AsyncIterable<DenoConn> & { close(): void };
}

const deno = () => (globalThis as unknown as { Deno: DenoNet }).Deno;

/** Write all of b (a socket write may take only part). */
async function writeAll(conn: DenoConn, b: Uint8Array): Promise<void> {
  for (let off = 0; off < b.byteLength;) off += await conn.write(b.subarray(off));
}

/** Connect to `path`, calling onData with the size of every chunk that arrives. */
export async function denoConnect(path: string, onData: (n: number) => void): Promise<{ write(b: Uint8Array): void; close(): void }> {
  const conn = await deno().connect({ transport: "unix", path });
  const buf = new Uint8Array(1 << 16);
  void (async () => {
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) return;
      onData(n);
    }
  })();
  return { write: (b) => void writeAll(conn, b), close: () => conn.close() };
}

/** Echo every byte of the first connection to `path`; `ready` is called once listening. */
export async function denoEchoServer(path: string, ready: () => void): Promise<void> {
  const listener = deno().listen({ transport: "unix", path });
  ready();
  for await (const conn of listener) {
    const buf = new Uint8Array(1 << 16);
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) await writeAll(conn, buf.subarray(0, n));
    break;
  }
  listener.close();
}
