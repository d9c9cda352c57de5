/**
 * Where ipc-lab's files are, whether it runs from its TypeScript sources (Bun, Deno) or
 * from the JavaScript that `tsc -p tsconfig.build.json` writes to dist/ (Node, which
 * cannot run .ts): dist/ mirrors the source tree, so a module or script is found by its
 * path in the sources on every runtime.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** This copy runs from dist/ (compiled JavaScript), not from the sources. */
const compiled: boolean = import.meta.url.endsWith(".js");

/** The package's root: the directory that holds package.json, ffi/ and (when built) dist/. */
export const packageRoot: string = compiled ? join(here, "..", "..") : join(here, "..");

/** A file of the sources that is not compiled (C sources, headers, Python peers), by its path from the root. */
export function sourceFile(fromRoot: string): string {
  return join(packageRoot, fromRoot);
}

/**
 * The file that runs the script `file` (a .ts path of the sources, or the same path under
 * dist/, as a compiled caller computes it) on a runtime that runs TypeScript (`runsTs`:
 * Bun, Deno) or not (Node): the .ts source, or its compiled .js in dist/. Other paths are
 * returned as they are.
 */
export function runnablePath(file: string, runsTs: boolean): string {
  let rel = relative(packageRoot, file);
  if (!file.endsWith(".ts") || rel.startsWith("..")) return file;
  if (rel.startsWith("dist/")) rel = rel.slice("dist/".length);
  const source = join(packageRoot, rel);
  if (runsTs && existsSync(source)) return source;
  const js = join(packageRoot, "dist", rel.replace(/\.ts$/, ".js"));
  if (existsSync(js)) {
    if (existsSync(source)) checkBuildCurrent();
    return js;
  }
  if (runsTs) return source;
  throw new Error(`ipc-lab: ${js} is missing: Node runs the compiled JavaScript, build it first (npm run build)`);
}

let buildChecked = false;

/**
 * In a checkout (the sources beside dist/), refuse a dist/ older than the sources: Node
 * would run yesterday's code — a benchmark's Node rows measured it, silently, after an
 * edit without `npm run build`. Once a process; a few ms (one stat a file).
 */
function checkBuildCurrent(): void {
  if (buildChecked) return;
  for (const dir of ["lib", "ffi", "bench", "cli", "bin", "test", "examples"]) {
    const root = join(packageRoot, dir);
    if (!existsSync(root)) continue;
    for (const entry of readdirSync(root, { recursive: true, encoding: "utf8" })) {
      if (!entry.endsWith(".ts") || entry.endsWith(".d.ts")) continue;
      const js = join(packageRoot, "dist", dir, entry.replace(/\.ts$/, ".js"));
      const ts = join(root, entry);
      if (!existsSync(js) || statSync(ts).mtimeMs > statSync(js).mtimeMs) {
        throw new Error(
          `ipc-lab: ${js} is ${existsSync(js) ? "older than" : "missing beside"} ${ts}: Node runs the compiled JavaScript, rebuild it first (npm run build)`,
        );
      }
    }
  }
  buildChecked = true;
}

/**
 * The URL of a module beside the caller's own (`import.meta.url`), named without its
 * extension: a Worker's module is a .ts file in the sources and a .js file in dist/.
 */
export function siblingModule(callerUrl: string, name: string): URL {
  return new URL(`./${name}${callerUrl.endsWith(".js") ? ".js" : ".ts"}`, callerUrl);
}
