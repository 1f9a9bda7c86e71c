// .ci/run stops nothing it did not start: no process is killed or service stopped by name, so a
// user's own Mosquitto (or anything else) survives a CI run on their machine.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../helpers/demo-config.js';

it('.ci/run kills and stops nothing by name', () => {
  const commands = readFileSync(path.join(repoRoot, '.ci/run'), 'utf8')
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'));
  // The by-name killers, spelled apart so a repository-wide search for them finds only real uses.
  const byName = ['p' + 'kill', 'kill' + 'all'].join('|');
  const stopping = new RegExp(`\\b(${byName}|kill\\s+-?\\S*\\s*%|systemctl\\s+stop)\\b`);
  const offending = commands.filter((line) => stopping.test(line));
  expect(offending).toEqual([]);
});
