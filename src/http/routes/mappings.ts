// Mapping files (admin): list, read, check an edit, save an edit. A save validates the whole config
// with the new text, keeps a backup, writes atomically and applies the result at once (hot reload),
// whether or not the gateway watches its files. A bad edit leaves the file untouched.
import { readFile } from 'node:fs/promises';
import { errorBody } from '../errors.js';
import { backup, checkEdit, emptySummary, writeAtomically } from '../mappings/edit.js';
import { listMappingFiles, resolveMappingFile } from '../mappings/files.js';
import { exactObject } from './exact-object.js';
import type { RouteModule } from './route-module.js';

/** Mapping files can be large (thousands of tags); other requests keep the small default limit. */
const MAPPING_BODY_LIMIT = 8 * 1024 * 1024;
const MAX_CONTENT = MAPPING_BODY_LIMIT - 1024;

const validateBody = exactObject(
  {
    file: { type: 'string', minLength: 1, maxLength: 4096 },
    content: { type: 'string', maxLength: MAX_CONTENT },
  },
  ['file', 'content'],
);

const putBody = exactObject({ content: { type: 'string', maxLength: MAX_CONTENT } }, ['content']);

function problemCount(n: number): string {
  return n === 1 ? '1 problem' : `${n} problems`;
}

export const mappingRoutes: RouteModule = (app, ctx) => {
  const gateway = ctx.gateway;
  /** One edit at a time: each save checks against the config the previous one produced. */
  let editing: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = editing.then(work, work);
    editing = run.catch(() => undefined);
    return run;
  };
  const resolve = (name: string) => {
    const { file, config } = gateway.config();
    return resolveMappingFile(file, config.mappings, name);
  };

  app.get('/api/mappings', { config: { access: 'admin' } }, async () => {
    const { file, config, mappings } = gateway.config();
    const files = await listMappingFiles(file, config.mappings);
    return files.map((f) => {
      const loaded = mappings.filter((m) => m.file === f.path);
      return {
        file: f.name,
        device:
          loaded.length === 1 ? loaded[0]!.device : loaded.length > 1 ? loaded.map((m) => m.device) : null,
        tags: loaded.reduce((n, m) => n + m.tags.length, 0),
      };
    });
  });

  app.get<{ Params: { file: string } }>(
    '/api/mappings/:file',
    { config: { access: 'admin' } },
    async (request, reply) => {
      const found = await resolve(request.params.file);
      if (!found.ok) return reply.code(found.status).send(errorBody(found.error));
      return { file: found.file.name, content: await readFile(found.file.path, 'utf8') };
    },
  );

  app.post<{ Body: { file: string; content: string } }>(
    '/api/mappings/validate',
    { config: { access: 'admin' }, bodyLimit: MAPPING_BODY_LIMIT, schema: { body: validateBody } },
    async (request, reply) => {
      const found = await resolve(request.body.file);
      if (!found.ok) return reply.code(found.status).send(errorBody(found.error));
      const checked = await checkEdit(gateway.config(), found.file.path, request.body.content);
      if (!checked.ok) return { ok: false, problems: checked.problems, summary: emptySummary() };
      return { ok: true, problems: [], summary: checked.summary };
    },
  );

  app.put<{ Params: { file: string }; Body: { content: string } }>(
    '/api/mappings/:file',
    { config: { access: 'admin' }, bodyLimit: MAPPING_BODY_LIMIT, schema: { body: putBody } },
    async (request, reply) =>
      serial(async () => {
        const found = await resolve(request.params.file);
        if (!found.ok) return reply.code(found.status).send(errorBody(found.error));
        const { name, path: file } = found.file;
        const checked = await checkEdit(gateway.config(), file, request.body.content);
        if (!checked.ok) {
          return reply.code(422).send({
            ok: false,
            error: `${name} not saved: ${problemCount(checked.problems.length)} in the configuration`,
            problems: checked.problems,
          });
        }
        const saved = await backup(gateway.config().config.gateway.dataDir, name, file);
        await writeAtomically(file, request.body.content);
        const who = request.identity!;
        ctx.log.info({ file: name, by: who.name, backup: saved }, 'mapping file saved through the API');
        let applied = false;
        let message: string;
        try {
          await gateway.reload(checked.next);
          applied = true;
          const s = checked.summary;
          message =
            `saved and applied: ${s.tagsAdded.length} tag(s) added, ${s.tagsRemoved.length} removed, ` +
            `${s.tagsChanged.length} changed; ${s.devicesRestarted.length} device(s) restarted` +
            (s.restartNeeded.length > 0
              ? `; ${s.restartNeeded.join(', ')} change(s) apply at the next restart`
              : '');
        } catch (err) {
          message = `saved, but not applied: ${(err as Error).message}`;
          ctx.log.error({ err, file: name }, 'mapping saved through the API could not be applied');
        }
        return { ok: true, summary: checked.summary, applied, message, backup: saved };
      }),
  );
};
