// `tagwire passwd`: prints a scrypt hash for the broker's `users[].passwordHash` (or, with --user,
// the whole user entry with its HTTP role). The password is read from the terminal without echo,
// or from the first line of stdin when it is piped. `--token NAME` makes a random bearer token for
// the HTTP API instead, and prints it once with the `http.tokens` entry holding its hash.
import { randomBytes } from 'node:crypto';
import { hashPassword } from '../broker/auth/password.js';
import { parse } from './options.js';

const ROLES = ['viewer', 'operator', 'admin'] as const;
type Role = (typeof ROLES)[number];

const USAGE = `usage: tagwire passwd [--user NAME] [--role viewer|operator|admin]
       tagwire passwd --token NAME [--role viewer|operator|admin]
  Reads a password (typed twice without echo on a terminal, or the first line of piped stdin)
  and prints its scrypt hash for "passwordHash" in the broker's "users" list.
  --user NAME   print the whole user entry: {"username", "passwordHash", "role"}
  --role ROLE   the user's (or token's) HTTP role: viewer reads, operator also writes tags,
                admin also edits mappings and reads the audit log (default viewer)
  --token NAME  make a random bearer token for the HTTP API: prints the token (shown once,
                keep it) and its "http.tokens" entry {"name", "tokenHash", "role"}
  examples: echo 's3cret' | tagwire passwd
            echo 's3cret' | tagwire passwd --user ops --role operator
            tagwire passwd --token grafana --role viewer`;

class Interrupted extends Error {}

function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let typed = '';
    stdin.setRawMode(true);
    stdin.resume();
    const finish = (result: string | Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish(typed);
        if (ch === '\u0003' || ch === '\u0004') return finish(new Interrupted('interrupted'));
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else if (ch >= ' ') typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function readPiped(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text.split(/\r?\n/, 1)[0] ?? '';
}

export async function main(args: readonly string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let values: { user?: string; role?: string; token?: string };
  try {
    ({ values } = parse('passwd', args, {
      user: { type: 'string', short: 'u' },
      role: { type: 'string', short: 'r' },
      token: { type: 'string', short: 't' },
    }));
  } catch (err) {
    process.stderr.write(`tagwire ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const role = values.role ?? 'viewer';
  if (!ROLES.includes(role as Role)) {
    process.stderr.write(
      `tagwire passwd: --role must be viewer, operator or admin, not ${JSON.stringify(role)}\n`,
    );
    return 2;
  }
  if (values.token !== undefined && values.user !== undefined) {
    process.stderr.write('tagwire passwd: --token and --user do not go together\n');
    return 2;
  }
  for (const [option, name] of [
    ['--user', values.user],
    ['--token', values.token],
  ] as const) {
    if (name !== undefined && name.trim().length === 0) {
      process.stderr.write(`tagwire passwd: ${option} needs a name\n`);
      return 2;
    }
  }
  if (values.token !== undefined) {
    const token = `tw_${randomBytes(32).toString('base64url')}`;
    const entry = { name: values.token, tokenHash: await hashPassword(token), role };
    process.stdout.write(`token (shown once): ${token}\n${JSON.stringify(entry)}\n`);
    return 0;
  }
  let password: string;
  try {
    if (process.stdin.isTTY) {
      password = await readHidden('Password: ');
      const again = await readHidden('Repeat password: ');
      if (again !== password) {
        process.stderr.write('tagwire passwd: the two passwords differ; nothing printed\n');
        return 1;
      }
    } else {
      password = await readPiped();
    }
  } catch (err) {
    if (err instanceof Interrupted) return 130;
    throw err;
  }
  if (password.length === 0) {
    process.stderr.write('tagwire passwd: empty password refused\n');
    return 1;
  }
  const hash = await hashPassword(password);
  if (values.user !== undefined)
    process.stdout.write(`${JSON.stringify({ username: values.user, passwordHash: hash, role })}\n`);
  else {
    process.stdout.write(`${hash}\n`);
    if (values.role !== undefined) process.stderr.write(`add "role": "${role}" to the user entry\n`);
  }
  return 0;
}
