// `npm start` builds only when a build input changed: the fingerprint behind that decision moves
// with an added, touched or removed source file and stays put otherwise.
import { rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { repoRoot } from '../helpers/demo-config.js';

interface BuildCheck {
  fingerprint(): string;
  isStale(): boolean;
  INPUTS: string[];
}

it('fingerprints the build inputs: stable, and moved by an added, touched or removed file', async () => {
  const check = (await import(
    pathToFileURL(path.join(repoRoot, 'scripts/build-if-stale.mjs')).href
  )) as BuildCheck;
  expect(check.INPUTS).toEqual(expect.arrayContaining(['src', 'drivers', 'web', 'package.json']));
  const before = check.fingerprint();
  expect(check.fingerprint()).toBe(before);

  // A file only this test uses (not a .ts file: nothing compiles or watches it).
  const probe = path.join(repoRoot, 'src', `.build-probe-${process.pid}`);
  writeFileSync(probe, 'one');
  try {
    const added = check.fingerprint();
    expect(added).not.toBe(before);
    const { atime, mtime } = statSync(probe);
    utimesSync(probe, atime, new Date(mtime.getTime() + 5000));
    expect(check.fingerprint()).not.toBe(added);
  } finally {
    rmSync(probe, { force: true });
  }
  expect(check.fingerprint()).toBe(before);
});
