// The files a `mappings` pattern matches. tinyglobby crawls from the folder shared by its cwd and
// the pattern: an absolute pattern, or one climbing out with `../`, had it walk from `/` (60-200 ms
// at every start with a config in /tmp and its mappings elsewhere, worse on a busy disk). The
// pattern's leading plain folders become the cwd instead, so only the folder it names is read.
import path from 'node:path';
import { glob } from 'tinyglobby';

/** A path segment with no glob meaning (braces, classes, extglobs and escapes all count as glob). */
const PLAIN = /^[^*?[\]{}()!+@\\]*$/;

/** Absolute paths of the files matching `pattern` (relative to `dir`, or absolute). */
export function globFiles(pattern: string, dir: string): Promise<string[]> {
  const segments = pattern.split('/');
  let plain = 0;
  // The last segment stays in the pattern: it may name a folder, which tinyglobby expands.
  while (plain < segments.length - 1 && PLAIN.test(segments[plain]!)) plain++;
  // ['', 'etc', ...] from '/etc/...': the empty first segment is the root.
  const base = plain === 0 ? dir : path.resolve(dir, segments.slice(0, plain).join('/') || '/');
  const rest = segments.slice(plain).join('/');
  return glob(rest, { cwd: base, absolute: true, onlyFiles: true });
}
