// `tagwire restore FILE [-c CONFIG] [--force]`: puts back what `tagwire backup` saved. Refuses a
// backup from a newer schema, a running gateway's data folder, and (without --force) existing files.
import { existsSync } from 'node:fs';
import { chmod, chown, copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { archived, BACKUP_FORMAT, MANIFEST, tarExtract, type Manifest } from '../ops/backup.js';
import { currentSchema } from '../data-schema.js';
import { DATABASE_FILES, newerComponents } from '../store/data-folder.js';
import { RELEASE } from '../version.js';
import { CONFIG_OPTION, parseCommand } from './options.js';

const USAGE = `usage: tagwire restore FILE [-c CONFIG] [--data DIR] [--force]
  Puts back the config, its files and the data folder saved by tagwire backup, where they were
  (or the config at CONFIG, its relative files beside it, and the data in DIR). Stop the gateway
  first. Refuses to overwrite existing files without --force, and a backup from a newer tagwire.`;

const asRoot = process.getuid?.() === 0;

async function chownTree(dir: string, owner: { uid: number; gid: number }): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    await chown(file, owner.uid, owner.gid);
    if (entry.isDirectory()) await chownTree(file, owner);
  }
}

async function readManifest(stage: string, file: string): Promise<Manifest> {
  try {
    const manifest = JSON.parse(await readFile(path.join(stage, MANIFEST), 'utf8')) as Manifest;
    if (typeof manifest.format !== 'number' || typeof manifest.config !== 'string')
      throw new Error('incomplete');
    return manifest;
  } catch {
    throw new Error(`${file} is not a tagwire backup (no readable ${MANIFEST})`);
  }
}

export async function main(args: readonly string[]): Promise<number> {
  const parsed = parseCommand(args, {
    name: 'restore',
    usage: USAGE,
    options: {
      ...CONFIG_OPTION,
      data: { type: 'string' },
      force: { type: 'boolean' },
    },
    positionals: (given) => (given.length === 1 ? undefined : 'give one backup FILE'),
  });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const file = path.resolve(positionals[0]!);
  if (!existsSync(file)) {
    process.stderr.write(`tagwire restore: ${file} not found\n`);
    return 1;
  }
  const stage = await mkdtemp(path.join(tmpdir(), 'tagwire-restore-'));
  try {
    await tarExtract(file, stage);
    const manifest = await readManifest(stage, file);
    if (manifest.format > BACKUP_FORMAT) {
      process.stderr.write(
        `tagwire restore: ${file} has backup format ${manifest.format}, newer than this tagwire ${RELEASE} reads (${BACKUP_FORMAT}): nothing restored\n`,
      );
      return 1;
    }
    const newer = newerComponents(manifest.schema ?? {}, currentSchema());
    if (newer.length > 0) {
      process.stderr.write(
        `tagwire restore: ${file} was made by tagwire ${manifest.release} with a newer data schema (${newer.join(', ')}) than this tagwire ${RELEASE}: install ${manifest.release} or later to restore it; nothing restored\n`,
      );
      return 1;
    }
    // Where each saved file goes: its old place, or moved along with a new config's folder.
    const configTo = values.config ? path.resolve(values.config) : manifest.config;
    const oldDir = path.dirname(manifest.config);
    const placeOf = (saved: string): string => {
      const relative = path.relative(oldDir, saved);
      return values.config && !relative.startsWith('..') && !path.isAbsolute(relative)
        ? path.join(path.dirname(configTo), relative)
        : saved;
    };
    // A data folder inside the old config folder moves with a new config; the service's stays put.
    const dataTo = path.resolve(values.data ?? process.env.TAGWIRE_DATA_DIR ?? placeOf(manifest.dataDir));
    const hasData = existsSync(path.join(stage, 'data'));
    const targets = [configTo, ...manifest.files.map(placeOf)];
    if (existsSync(path.join(dataTo, 'tagwire.db-wal'))) {
      process.stderr.write(
        `tagwire restore: ${dataTo} is in use (a gateway runs on it, or stopped uncleanly): stop it first (sudo systemctl stop tagwire); nothing restored\n`,
      );
      return 1;
    }
    const existing = [
      ...targets.filter((t) => existsSync(t)),
      ...(hasData && existsSync(path.join(dataTo, 'tagwire.db')) ? [dataTo] : []),
    ];
    if (existing.length > 0 && !values.force) {
      process.stderr.write(
        `tagwire restore: would overwrite ${existing.join(', ')}: nothing restored (--force overwrites)\n`,
      );
      return 1;
    }
    for (const saved of [manifest.config, ...manifest.files]) {
      const to = saved === manifest.config ? configTo : placeOf(saved);
      await mkdir(path.dirname(to), { recursive: true });
      // A replaced file keeps its owner and mode (the service reads its config through its group).
      const before = existsSync(to) ? await stat(to) : undefined;
      await copyFile(path.join(stage, archived(saved)), to);
      if (before) {
        await chmod(to, before.mode & 0o7777);
        if (asRoot) await chown(to, before.uid, before.gid);
      }
    }
    if (hasData) {
      await mkdir(dataTo, { recursive: true });
      // A WAL or shared-memory file left beside a replaced database would be replayed into it.
      for (const db of DATABASE_FILES)
        for (const suffix of ['', '-wal', '-shm']) await rm(path.join(dataTo, db + suffix), { force: true });
      await cp(path.join(stage, 'data'), dataTo, { recursive: true, preserveTimestamps: true });
      // Restored as root into the service's folder: hand the files to the folder's owner.
      if (asRoot) await chownTree(dataTo, await stat(dataTo));
    }
    process.stdout.write(
      `restored gateway ${manifest.gatewayId} from ${manifest.createdAt}: ${configTo}, ${manifest.files.length} file(s)${hasData ? `, data into ${dataTo}` : ''}\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`tagwire restore: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
