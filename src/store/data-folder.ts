// The data folder's schema version, recorded beside the databases so that an upgrade migrates it
// forward and a downgrade stops before touching anything: the per-component check in
// Database.migrate runs only after the database is open and earlier components have migrated.
// Which components exist, and at which version, is the caller's to say (src/data-schema.ts): each
// part owns its tables and migrations, and the store knows none of them.
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The file in the data folder that names the schema its databases are at. */
export const DATA_VERSION_FILE = 'tagwire-data.json';
/** The SQLite files of a data folder (the outbox file only exists once a bridge ran). */
export const DATABASE_FILES = ['tagwire.db', 'outbox.db'] as const;

export type SchemaVersions = Record<string, number>;

export interface DataVersion {
  /** Migration steps applied, per component. */
  schema: SchemaVersions;
  /** The tagwire release that wrote it: named in the refusal so the user knows what to install. */
  writtenBy: string;
}

export class DataFolderTooNew extends Error {}

/** The components where `recorded` is ahead of `known` (this build's), as "audit 5 > 2". */
export function newerComponents(recorded: SchemaVersions, known: SchemaVersions): string[] {
  return Object.entries(recorded)
    .filter(([component, version]) => version > (known[component] ?? 0))
    .map(([component, version]) => `${component} ${version} > ${known[component] ?? 0}`);
}

export async function readDataVersion(dataDir: string): Promise<DataVersion | undefined> {
  const file = path.join(dataDir, DATA_VERSION_FILE);
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: unreadable (${(err as Error).message}): restore it from a backup`);
  }
  const value = parsed as Partial<DataVersion>;
  if (typeof value.schema !== 'object' || value.schema === null)
    throw new Error(`${file}: no "schema" object: restore it from a backup`);
  return { schema: value.schema, writtenBy: String(value.writtenBy ?? 'an unknown release') };
}

/**
 * Refuses a data folder written by a newer tagwire, before anything opens it. A folder without the
 * file (new, or from a release before it existed) is fine: the migrations bring it up to date.
 */
export async function checkDataFolder(
  dataDir: string,
  release: string,
  known: SchemaVersions,
): Promise<void> {
  const recorded = await readDataVersion(dataDir);
  if (!recorded) return;
  const newer = newerComponents(recorded.schema, known);
  if (newer.length > 0) {
    throw new DataFolderTooNew(
      `data folder ${dataDir} was written by tagwire ${recorded.writtenBy} (schema ${newer.join(', ')}), newer than this tagwire ${release}: install ${recorded.writtenBy} or later, or restore a backup made by ${release}; nothing was changed`,
    );
  }
}

/** Records `schema` after its migrations ran (write to a temporary file, then rename). */
export async function recordDataVersion(
  dataDir: string,
  release: string,
  schema: SchemaVersions,
): Promise<void> {
  const file = path.join(dataDir, DATA_VERSION_FILE);
  const body: DataVersion = { schema, writtenBy: release };
  await writeFile(`${file}.tmp`, JSON.stringify(body, null, 2) + '\n');
  await rename(`${file}.tmp`, file);
}
