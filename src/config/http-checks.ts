// What the schema cannot say about the `http` block: anonymous access only on a loopback address
// (anywhere else it is a config problem rather than a silently ignored key), and unique token names.
import { parsePasswordHash } from '../broker/auth/password.js';
import { isLoopback } from '../broker/listeners/listen.js';
import { pointerOf, type ConfigProblem } from './problems.js';

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

export function httpProblems(http: unknown, file: string): ConfigProblem[] {
  if (!isObject(http)) return [];
  const problems: ConfigProblem[] = [];
  if (http.allowAnonymous === true && typeof http.host === 'string' && !isLoopback(http.host)) {
    problems.push({
      file,
      pointer: pointerOf('http', 'allowAnonymous'),
      message: `anonymous access is only allowed when http.host is a loopback address (127.0.0.1, ::1, localhost), not "${http.host}"`,
    });
  }
  const seen = new Set<string>();
  (Array.isArray(http.tokens) ? http.tokens : []).forEach((token: unknown, i) => {
    if (!isObject(token) || typeof token.name !== 'string') return;
    if (seen.has(token.name))
      problems.push({
        file,
        pointer: pointerOf('http', 'tokens', i, 'name'),
        message: `token name "${token.name}" is used twice`,
      });
    seen.add(token.name);
    const hash = typeof token.tokenHash === 'string' ? parsePasswordHash(token.tokenHash) : undefined;
    if (typeof hash === 'string')
      problems.push({ file, pointer: pointerOf('http', 'tokens', i, 'tokenHash'), message: hash });
  });
  return problems;
}
