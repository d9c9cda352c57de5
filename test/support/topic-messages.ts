/** The messages of test/topic.test.ts: whose, which, and bytes that show any tear. */

/** Message `i` of publisher `id`: 8 to ~1000 bytes. */
export function topicMessage(id: number, i: number): Uint8Array {
  const size = 8 + ((i * 7919 + id * 104729) % 1000);
  const m = new Uint8Array(size);
  const v = new DataView(m.buffer);
  v.setUint32(0, id, true);
  v.setUint32(4, i, true);
  for (let k = 8; k < size; k++) m[k] = (id * 31 + i * 7 + k) & 0xff;
  return m;
}

/** The publisher and index of a whole message, or undefined when any byte is wrong. */
export function checkTopicMessage(m: Uint8Array): { id: number; i: number } | undefined {
  if (m.byteLength < 8) return undefined;
  const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
  const id = v.getUint32(0, true);
  const i = v.getUint32(4, true);
  const want = topicMessage(id, i);
  if (want.byteLength !== m.byteLength) return undefined;
  for (let k = 8; k < m.byteLength; k++) if (m[k] !== want[k]) return undefined;
  return { id, i };
}
