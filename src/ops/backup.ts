// Backup archives: a gzipped tar (readable with plain `tar` on the PC) holding manifest.json, the
// config and the files it names under files/<absolute path>, and the data folder under data/ with
// each SQLite database as a consistent copy (VACUUM INTO), so a backup of a running gateway is sound.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LoadedConfig } from '../config/load.js';
import { Database } from '../store/db.js';
import { DATABASE_FILES, type SchemaVersions } from '../store/data-folder.js';

const exec = promisify(execFile);

export const MANIFEST = 'manifest.json';
export const BACKUP_FORMAT = 1;

export interface Manifest {
  format: number;
  /** The release that wrote it. */
  release: string;
  createdAt: string;
  gatewayId: string;
  /** Absolute path of the config file it was taken from. */
  config: string;
  /** Absolute paths of the other files saved beside the config: mappings, TLS files. */
  files: string[];
  /** The data folder it was taken from. */
  dataDir: string;
  /** Schema of the saved databases, per component, as their schema_version tables say. */
  schema: SchemaVersions;
}

/** Where a file of the config lives inside the archive. */
export const archived = (absolute: string): string => path.join('files', absolute);

/** The files a config names besides itself: mapping files, TLS and certificate files. */
export function filesOf(loaded: LoadedConfig): string[] {
  const files = new Set(loaded.mappings.map((m) => m.file));
  const { config } = loaded;
  const holders = [
    ...config.broker.listeners,
    ...config.bridges,
    ...config.bridges.flatMap((b) => b.addresses ?? []),
  ] as Array<{ tls?: Record<string, unknown> }>;
  for (const holder of holders) {
    for (const key of ['ca', 'cert', 'key']) {
      const value = holder.tls?.[key];
      if (typeof value === 'string') files.add(value);
    }
  }
  for (const device of config.devices) {
    const user = (device as { user?: Record<string, unknown> }).user;
    for (const key of ['certificate', 'privateKey']) {
      const value = user?.[key];
      if (typeof value === 'string') files.add(value);
    }
  }
  return [...files].filter((f) => f !== loaded.file && existsSync(f)).sort();
}

const isDatabaseFile = (name: string): boolean =>
  (DATABASE_FILES as readonly string[]).some(
    (db) => name === db || name === `${db}-wal` || name === `${db}-shm`,
  );

/** Copies the data folder into `target`: databases through VACUUM INTO, everything else as is. */
export async function copyDataFolder(dataDir: string, target: string): Promise<SchemaVersions> {
  await mkdir(target, { recursive: true });
  const schema: SchemaVersions = {};
  for (const entry of await readdir(dataDir, { withFileTypes: true })) {
    const from = path.join(dataDir, entry.name);
    if (isDatabaseFile(entry.name)) {
      if (!(DATABASE_FILES as readonly string[]).includes(entry.name)) continue;
      const db = await Database.open(from);
      try {
        await db.backupTo(path.join(target, entry.name));
        const rows = await db.all<{ component: string; version: number }>(
          'SELECT component, version FROM schema_version',
        );
        for (const row of rows) schema[row.component] = row.version;
      } finally {
        await db.close();
      }
    } else {
      await cp(from, path.join(target, entry.name), { recursive: true, preserveTimestamps: true });
    }
  }
  return schema;
}

export async function tarCreate(file: string, dir: string): Promise<void> {
  await exec('tar', ['-czf', file, '-C', dir, '.']);
}

export async function tarExtract(file: string, dir: string): Promise<void> {
  try {
    await exec('tar', ['-xzf', file, '-C', dir, '--no-same-owner']);
  } catch (err) {
    throw new Error(
      `${file} is not a tagwire backup (tar: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message})`,
    );
  }
}
