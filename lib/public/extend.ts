/**
 * `ipc-lab/extend`: what a new mechanism is made of. A mechanism is one descriptor
 * (`Mechanism`, declared with `mechanism<Options>()({ … })`) in a file of lib/channels/,
 * plus one line in lib/mechanisms.ts; open(), remove(), `gc`, `ipc-lab info`, the
 * conformance suite and the benchmark read the list (docs/architecture.md, "Adding a
 * mechanism"). Its channel extends `BaseChannel`, which turns a handful of raw calls
 * (sendImpl, recvImpl, waitReadable, …) into the whole Channel contract.
 *
 * ```ts
 * import { mechanisms } from "ipc-lab/extend";
 * for (const m of mechanisms) console.log(m.scheme, m.traits.maxMessageSize, m.converse ? "serves" : "");
 * ```
 * @module
 */
import "../../ffi/permissions.ts"; // first: on Deno, missing permissions fail at once with every flag named
export { BaseChannel } from "../base-channel.ts";
export type { Conversing, Inherited, Mechanism, NameKind, OptionsOf, Traits, Unique } from "../mechanism.ts";
export { mechanism, usualTraits } from "../mechanism.ts";
export { mechanismOf, mechanisms, primitiveNames, type Scheme, type SchemeOptions } from "../mechanisms.ts";
export { type CommonOptions, optionNames } from "../options.ts";
export { acceptEach, type AcceptOptions, type Listener } from "../link/listener.ts";
