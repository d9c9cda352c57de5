#!/bin/sh
":" //; exec node "$(dirname "$0")/ipc-lab.mjs" "$@"
/**
 * Entry point of the `ipc-lab` command line (see cli/main.ts).
 */
import { main } from "../cli/main.ts";

process.exitCode = await main(process.argv.slice(2));
