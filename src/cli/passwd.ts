// `tagwire passwd`: prints a scrypt hash for the broker's `users[].passwordHash`. The password is
// read from the terminal without echo, or from the first line of stdin when it is piped.
import { hashPassword } from '../broker/auth/password.js';

const USAGE = `usage: tagwire passwd
  Reads a password (typed twice without echo on a terminal, or the first line of piped stdin)
  and prints its scrypt hash for "passwordHash" in the broker's "users" list.
  example: echo 's3cret' | tagwire passwd`;

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
  if (args.length > 0) {
    process.stderr.write(`tagwire passwd: unexpected argument ${JSON.stringify(args[0])}\n${USAGE}\n`);
    return 2;
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
  process.stdout.write(`${await hashPassword(password)}\n`);
  return 0;
}
