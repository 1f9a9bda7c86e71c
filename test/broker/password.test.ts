// scrypt password hashes and the `tagwire passwd` CLI module (stdin piped, as in scripts).
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hashPassword, parsePasswordHash, verifyPassword } from '../../src/broker/auth/password.js';

describe('password hashes', () => {
  it('verifies the right password only, with a fresh salt each time', async () => {
    const a = await hashPassword('s3cret');
    const b = await hashPassword('s3cret');
    expect(a).toMatch(/^scrypt\$15\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('s3cret', a)).toBe(true);
    expect(await verifyPassword('s3cret!', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
  });

  it.each([
    ['bcrypt$xyz', 'not a scrypt$... hash'],
    ['scrypt$30$8$1$c2FsdHNhbHQ=$a2V5a2V5a2V5a2V5a2V5', 'scrypt cost (log2 N) must be 10..20'],
    ['scrypt$15$8$1$c2E=$a2V5a2V5a2V5a2V5a2V5', 'salt is too short'],
  ])('explains what is wrong with %s', async (hash, message) => {
    expect(parsePasswordHash(hash)).toContain(message);
    expect(await verifyPassword('x', hash)).toBe(false);
  });
});

function runPasswd(
  stdin: string,
  args: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const script = `import('./src/cli/passwd.ts').then((m) => m.main(${JSON.stringify(args)})).then((code) => process.exit(code))`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

describe('tagwire passwd', () => {
  it('hashes the first line of piped stdin', async () => {
    const res = await runPasswd('hunter2\nignored\n');
    expect(res.code).toBe(0);
    const hash = res.stdout.trim();
    expect(await verifyPassword('hunter2', hash)).toBe(true);
  });

  it('refuses an empty password with exit code 1', async () => {
    const res = await runPasswd('\n');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('empty password refused');
    expect(res.stdout).toBe('');
  });

  it('rejects unknown arguments with exit code 2', async () => {
    const res = await runPasswd('', ['--bogus']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("Unknown option '--bogus'");
  });
});
