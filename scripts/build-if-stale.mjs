#!/usr/bin/env node
// Runs `npm run build` only when a build input changed since the last build, so `npm start` on an
// installed checkout goes straight to the gateway (an unchanged incremental tsc alone costs ~5 s).
// Plain JavaScript on purpose: it runs before anything is compiled.
//
// The inputs are the files below INPUTS, fingerprinted by path, size and mtime (a renamed, added,
// removed or touched file changes the fingerprint; a clock going backwards does not hide an edit).
// Whatever `npm run build` does (tsc, and the web console's `vite build`) is covered as long as its
// sources live under INPUTS: a new build step with sources elsewhere adds its folder here.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const INPUTS = [
  'src',
  'drivers',
  'web',
  'package.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'vite.config.ts',
  // The build steps after tsc: what they write depends on them too.
  'scripts/build-validators.mjs',
  'scripts/build-opcua-load-order.mjs',
  'scripts/bundle-cli.mjs',
];
/** Folders never read: outputs and installed packages. */
const SKIP = new Set(['node_modules', 'dist', '.vite', 'coverage']);
/** What a finished build leaves behind; a missing one means build. */
const OUTPUTS = ['dist/src/cli.js'];
const STAMP = 'dist/.build-inputs';

function walk(relative, out) {
  const full = path.join(root, relative);
  let stat;
  try {
    stat = statSync(full);
  } catch {
    return; // an optional input (web/, vite.config.ts) that this checkout does not have
  }
  if (stat.isDirectory()) {
    for (const name of readdirSync(full).sort()) {
      if (!SKIP.has(name)) walk(path.join(relative, name), out);
    }
  } else {
    out.push(`${relative}\0${stat.size}\0${stat.mtimeMs}`);
  }
}

export function fingerprint() {
  const entries = [];
  for (const input of INPUTS) walk(input, entries);
  return createHash('sha256').update(entries.join('\n')).digest('hex');
}

export function isStale() {
  if (OUTPUTS.some((file) => !existsSync(path.join(root, file)))) return true;
  try {
    return readFileSync(path.join(root, STAMP), 'utf8').trim() !== fingerprint();
  } catch {
    return true;
  }
}

function main(args) {
  // An installed package without the sources (npm pack, the offline bundle) runs what it ships.
  if (!existsSync(path.join(root, 'tsconfig.build.json'))) return 0;
  const force = args.includes('--force');
  if (!force && !isStale()) return 0;
  const before = fingerprint();
  process.stderr.write('tagwire: sources changed since the last build; building (npm run build)\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write('tagwire: the build failed; not started\n');
    return result.status ?? 1;
  }
  // The fingerprint taken before the build: an edit made while it ran is built next time.
  mkdirSync(path.join(root, 'dist'), { recursive: true });
  writeFileSync(path.join(root, STAMP), before + '\n');
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
