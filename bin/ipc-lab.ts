#!/usr/bin/env bun
/**
 * Entry point of the `ipc-lab` command line (see cli/main.ts).
 */
import { main } from "../cli/main.ts";

process.exitCode = await main(process.argv.slice(2));
