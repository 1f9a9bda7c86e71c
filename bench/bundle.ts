// Bundles a bench entry point with esbuild (the one tsx runs on) into plain JS, so the measured
// process carries neither a TypeScript loader nor its memory, as the built gateway runs.
// Packages stay in node_modules.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The bundled file's path: bench/NAME.ts built to node_modules/.cache/tagwire-bench/NAME.mjs. */
export function bundleBench(name: string): string {
  const out = path.join(ROOT, 'node_modules', '.cache', 'tagwire-bench', `${name}.mjs`);
  const res = spawnSync(
    path.join(ROOT, 'node_modules', '.bin', 'esbuild'),
    [
      path.join(ROOT, 'bench', `${name}.ts`),
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--packages=external',
      `--outfile=${out}`,
      '--log-level=warning',
    ],
    { stdio: 'inherit' },
  );
  if (res.status !== 0) throw new Error(`esbuild could not bundle bench/${name}.ts`);
  return out;
}

/**
 * Builds `checkout` (this one by default) when a build input changed since its last build, as
 * `npm start` does: the benches that start the gateway run its built bundle, as users do.
 */
export function buildIfStale(checkout = ROOT): void {
  const build = spawnSync(process.execPath, ['scripts/build-if-stale.mjs'], {
    cwd: checkout,
    stdio: 'inherit',
  });
  if (build.status !== 0) throw new Error(`build of ${checkout} failed`);
}
