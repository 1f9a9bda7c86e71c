// node-opcua is ~120 CommonJS packages; a plain require loads them in one go, ~0.8 s of CPU during
// which the event loop answers nobody (the console, MQTT clients, other devices' polls). Loaded
// here one package per event-loop turn, dependencies first, in the order a plain require finishes
// them (recorded at build time by scripts/build-opcua-load-order.mjs), the longest stall is one
// package's own code (< 0.1 s). The result is what a plain require returns; without a usable
// record (not built, node-opcua upgraded since) it is a plain require.
import Module from 'node:module';
import path from 'node:path';

/** The order in which `package`'s modules reached through package names finish loading. */
export interface LoadOrder {
  package: string;
  version: string;
  /** Files relative to the package's folder, each required after everything it requires. */
  entries: string[];
}

/** The parts of node:module's loader the recording hooks into (untyped: Node's internals). */
interface ModuleLoader {
  _load(request: string, parent: unknown, isMain: boolean): unknown;
  _resolveFilename(request: string, parent: unknown, isMain: boolean): string;
  _cache: Record<string, { loaded: boolean } | undefined>;
}

function packageFolder(name: string, require: NodeJS.Require): { dir: string; version: string } {
  const manifest = require.resolve(`${name}/package.json`);
  return { dir: path.dirname(manifest), version: (require(manifest) as { version: string }).version };
}

/**
 * Requires `name` (through `require`, in a process that has not loaded it yet) and records, in
 * the order they finish, the modules it reaches by package name (`require('node-opcua-types')`,
 * not `require('./x')`). Modules of a require cycle are recorded as one: only the one the cycle
 * returns to, which loads the others, so each entry loads as it did in the plain require.
 */
export function recordLoadOrder(name: string, require: NodeJS.Require): LoadOrder {
  const { dir, version } = packageFolder(name, require);
  const loader = Module as unknown as ModuleLoader;
  const original = loader._load;
  const loading: Array<{ file: string; inCycle: boolean }> = [];
  const entries: string[] = [];
  const byPackageName = (request: string, parent: unknown, isMain: boolean): string | undefined => {
    if (request.startsWith('.') || path.isAbsolute(request) || Module.isBuiltin(request)) return undefined;
    try {
      const file = loader._resolveFilename(request, parent, isMain);
      return file.includes(`${path.sep}node_modules${path.sep}`) ? file : undefined;
    } catch {
      return undefined; // the original load throws its own error
    }
  };
  loader._load = function (this: unknown, request, parent, isMain) {
    const file = byPackageName(request, parent, isMain);
    const cached = file === undefined ? undefined : loader._cache[file];
    if (file === undefined || cached) {
      if (cached && !cached.loaded) {
        // A cycle back to a module still loading: everything loading inside it finishes inside it.
        // (One first loaded by a relative path is not listed: the whole chain then counts as one.)
        const from = Math.max(
          0,
          loading.findIndex((m) => m.file === file),
        );
        for (const module of loading.slice(from + 1)) module.inCycle = true;
      }
      return original.call(this, request, parent, isMain);
    }
    const module = { file, inCycle: false };
    loading.push(module);
    try {
      return original.call(this, request, parent, isMain);
    } finally {
      loading.pop();
      if (!module.inCycle) entries.push(path.relative(dir, file));
    }
  } as ModuleLoader['_load'];
  try {
    require(name);
  } finally {
    loader._load = original;
  }
  return { package: name, version, entries };
}

/**
 * `require(name)`, after requiring the entries of `order` one per event-loop turn (when `order`
 * was recorded for the installed version of `name`).
 */
export async function requireInSlices<T>(
  name: string,
  require: NodeJS.Require,
  order: LoadOrder | undefined,
): Promise<T> {
  const installed = order?.package === name ? installedFolder(name, require) : undefined;
  if (order && installed?.version === order.version) {
    for (const entry of order.entries) {
      try {
        require(path.resolve(installed.dir, entry));
      } catch {
        // Left to the plain require below: it loads what is missing and throws what is wrong.
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return require(name) as T;
}

function installedFolder(
  name: string,
  require: NodeJS.Require,
): { dir: string; version: string } | undefined {
  try {
    return packageFolder(name, require);
  } catch {
    return undefined; // not installed: the plain require says so
  }
}
