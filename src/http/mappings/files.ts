// Which mapping files the API may touch: exactly the files the config's `mappings` globs match now,
// named by their path relative to the config file's folder. A request names a file by that name and
// nothing else: `../`, absolute paths, encoded or backslashed forms match no listed name, and a
// listed file that is a symbolic link is refused (it could point anywhere).
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { globFiles } from '../../config/glob.js';

export interface MappingFile {
  /** Relative to the config file's folder, with forward slashes. */
  name: string;
  /** Absolute. */
  path: string;
}

export async function listMappingFiles(
  configFile: string,
  patterns: readonly string[],
): Promise<MappingFile[]> {
  const dir = path.dirname(configFile);
  const found = new Set<string>();
  for (const pattern of patterns) {
    for (const file of await globFiles(pattern, dir)) {
      found.add(path.normalize(file));
    }
  }
  return [...found]
    .sort()
    .map((file) => ({ name: path.relative(dir, file).split(path.sep).join('/'), path: file }));
}

export type Resolved = { ok: true; file: MappingFile } | { ok: false; status: 403 | 404; error: string };

export async function resolveMappingFile(
  configFile: string,
  patterns: readonly string[],
  name: string,
): Promise<Resolved> {
  const files = await listMappingFiles(configFile, patterns);
  const file = files.find((f) => f.name === name);
  if (!file)
    return {
      ok: false,
      status: 404,
      error: `"${name}" is not one of the mapping files (GET /api/mappings lists them)`,
    };
  const stat = await lstat(file.path);
  if (stat.isSymbolicLink())
    return {
      ok: false,
      status: 403,
      error: `"${name}" is a symbolic link; edit the file it points to on the gateway`,
    };
  if (!stat.isFile()) return { ok: false, status: 403, error: `"${name}" is not a regular file` };
  return { ok: true, file };
}
