/**
 * System V IPC keys: `KEY` as a decimal or 0x-hex number, or `/path`, turned into a key by
 * ftok(path, 'I') — the same call a C peer makes with the same path and project id.
 */
import { cstr, shim } from "../../ffi/runtime.ts";
import type { Address } from "../address.ts";
import { errnoError, ipcError } from "../errors.ts";

/** The project id ipc-lab passes to ftok(3) (the character 'I'). */
const FTOK_PROJECT = 0x49;

/** The key an address names. */
export function sysvKey(addr: Address): number {
  const n = addr.name;
  if (n.startsWith("/")) {
    const ok = new Int32Array(1);
    const key = shim.ipcl_ftok(cstr(n), FTOK_PROJECT, ok);
    if (!ok[0]) throw errnoError(-key, "ftok", addr.text, `ftok needs an existing file: create ${n} first (its inode makes the key)`);
    return key;
  }
  if (!/^(0x[0-9a-fA-F]{1,8}|\d{1,10})$/.test(n)) {
    throw ipcError(
      "EADDRESS",
      "parseAddress",
      addr.text,
      `invalid address '${addr.text}': expected ${addr.scheme}:KEY (decimal or 0x-hex) or ${addr.scheme}:/path (ftok)`,
    );
  }
  const key = Number(n) | 0; // key_t is a signed int
  if (key === 0) throw ipcError("EADDRESS", "parseAddress", addr.text, `invalid address '${addr.text}': key 0 is IPC_PRIVATE, which no other process can find`);
  return key;
}
