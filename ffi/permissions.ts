/**
 * On Deno, check at import that ipc-lab has the permissions it needs, and if not, fail once
 * with a message naming every flag — rather than Deno's NotCapable for the first missing
 * one, from deep inside a dependency. Imported first by every entry point (lib/index.ts,
 * lib/public/*.ts) and by ffi/runtime.ts. Bun and Node have no permissions: nothing to do.
 */

/** Deno's permission query, the only part of the Deno namespace this module touches. */
interface DenoPermissions {
  permissions: { querySync(d: { name: string }): { state: string } };
}

/** What ipc-lab does with each: calls libc, reads its shim and /proc, writes the shim cache and names, reads env, runs cc, asks the home directory. */
const needed = ["ffi", "read", "write", "env", "run", "sys"] as const;

/** The sentence to show: every flag ipc-lab needs, and -A as the short way. */
const denoPermissionAdvice = "ipc-lab calls libc through Deno's FFI and compiles a small C shim on first use: run Deno with -A, or with " +
  "--allow-ffi --allow-read --allow-write --allow-env --allow-run --allow-sys (add --allow-net for tcp:, udp: and nats:)";

/** The permissions (of those ipc-lab needs) that this Deno process has not been granted. */
function missingDenoPermissions(): string[] {
  const deno = (globalThis as { Deno?: DenoPermissions }).Deno;
  if (deno === undefined || (globalThis as { Bun?: unknown }).Bun !== undefined) return [];
  return needed.filter((name) => deno.permissions.querySync({ name }).state !== "granted");
}

const missing = missingDenoPermissions();
if (missing.length > 0) throw new Error(`${denoPermissionAdvice}; missing here: ${missing.map((m) => `--allow-${m}`).join(" ")}`);
