/**
 * Read a child's stdout line by line, then the rest, from one reader (a stream can only be
 * consumed once).
 */

/** A line-oriented view of a byte stream. */
export interface LineReader {
  /** the next line without its newline; "" at end of stream */
  line(): Promise<string>;
  /** everything not read yet, up to end of stream */
  rest(): Promise<string>;
}

/** Wrap a ReadableStream of bytes. */
export function lineReader(stream: ReadableStream<Uint8Array>): LineReader {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let done = false;
  const more = async () => {
    const r = await reader.read();
    if (r.done) done = true;
    else buffered += decoder.decode(r.value, { stream: true });
  };
  return {
    async line() {
      while (!buffered.includes("\n") && !done) await more();
      const nl = buffered.indexOf("\n");
      const end = nl < 0 ? buffered.length : nl;
      const out = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      return out;
    },
    async rest() {
      while (!done) await more();
      const out = buffered;
      buffered = "";
      return out;
    },
  };
}
