// The console in a real browser: Debian's chromium driven by playwright-core, against a running
// gateway (the demo config on free ports, users of each role, anonymous access off) whose press
// simulator runs apart so a test can kill it and bring it back.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { modbusSimulatorConfig } from '../../drivers/modbus/config.js';
import { startModbusSimulator, type RunningModbusSimulator } from '../../drivers/modbus/simulator/index.js';
import { hashPassword } from '../../src/broker/auth/password.js';
import { loadConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/log.js';
import { demoConfig, repoRoot, type DemoConfig } from '../helpers/demo-config.js';
import { freePort } from '../helpers/net.js';

export const USERS = {
  viewer: { username: 'vera', password: 'viewer-pass-1' },
  operator: { username: 'otto', password: 'operator-pass-1' },
  admin: { username: 'ada', password: 'admin-pass-1' },
} as const;
export type RoleName = keyof typeof USERS;

export const artifacts = path.join(repoRoot, 'test-artifacts', 'web');

/** Builds the console when dist/web is missing (a checkout where `npm run build` has not run). */
export function ensureConsoleBuilt(): void {
  if (existsSync(path.join(repoRoot, 'dist', 'web', 'index.html'))) return;
  execFileSync('npx', ['vite', 'build', '--config', 'web/vite.config.ts'], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
}

export function chromiumPath(): string {
  const found = execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser || true'])
    .toString()
    .trim();
  if (!found) throw new Error('chromium is not installed (apt-get install chromium; .ci/run does it)');
  return found;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export interface ConsoleGateway {
  demo: DemoConfig;
  gateway: Gateway;
  url: string;
  /** The folder of the mapping files the gateway loads (copies of the demo's). */
  mappingsDir: string;
  press: { sim?: RunningModbusSimulator; stop(): Promise<void>; start(): Promise<void> };
  stop(): Promise<void>;
}

/** The demo gateway with HTTP on a free port, users of each role, and the press simulator apart. */
export async function startConsoleGateway(
  options: { allowAnonymous?: boolean } = {},
): Promise<ConsoleGateway> {
  ensureConsoleBuilt();
  const httpPort = await freePort();
  const users = await Promise.all(
    (Object.keys(USERS) as RoleName[]).map(async (role) => ({
      username: USERS[role].username,
      passwordHash: await hashPassword(USERS[role].password),
      role,
    })),
  );
  const demo = await demoConfig((config) => {
    const broker = config.broker as Record<string, unknown>;
    broker.users = users;
    config.http = {
      host: '127.0.0.1',
      port: httpPort,
      allowAnonymous: options.allowAnonymous ?? false,
      // Every test logs in afresh from the same address.
      loginAttemptsPerMin: 1000,
    };
    config.simulators.modbus = [];
  });
  // The editor tests change mapping files: they edit copies, never the repository's.
  const mappingsDir = path.join(demo.dir, 'mappings');
  mkdirSync(mappingsDir, { recursive: true });
  cpSync(path.join(repoRoot, 'mappings'), mappingsDir, { recursive: true });
  const json = JSON.parse(readFileSync(demo.file, 'utf8')) as { mappings: string[] };
  json.mappings = ['mappings/*.json'];
  const { writeFileSync } = await import('node:fs');
  writeFileSync(demo.file, JSON.stringify(json, null, 2));

  const pressConfig = modbusSimulatorConfig({ port: demo.modbusPort, profile: 'press' });
  const log = silentLogger();
  const press: ConsoleGateway['press'] = {
    sim: await startModbusSimulator(pressConfig, log),
    async stop() {
      await press.sim?.close();
      press.sim = undefined;
    },
    async start() {
      press.sim ??= await startModbusSimulator(pressConfig, log);
    },
  };
  const gateway = new Gateway(await loadConfig(demo.file), { log });
  await gateway.start();
  return {
    demo,
    gateway,
    url: `http://127.0.0.1:${httpPort}`,
    mappingsDir,
    press,
    async stop() {
      await gateway.stop();
      await press.stop();
    },
  };
}

/**
 * Answers that are part of the API contract, not faults: 401 from /api/me before logging in and
 * from /api/login for a wrong password, 422 for a write refused by a check or a mapping edit
 * refused by validation.
 */
const EXPECTED_ANSWERS = [
  /\/api\/me$/,
  /\/api\/login$/,
  /\/api\/tags\/[^/]+\/[^/]+\/write$/,
  /\/api\/mappings\/[^/]+$/,
];

export interface ConsolePage {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions seen so far on this page. */
  errors: string[];
}

/** A fresh browser context (its own cookies) with a page that records console errors. */
export async function openPage(
  browser: Browser,
  url: string,
  viewport = { width: 1366, height: 850 },
): Promise<ConsolePage> {
  const context = await browser.newContext({ baseURL: url, viewport, locale: 'en-GB', timezoneId: 'UTC' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    // Chromium logs every 4xx answer; these are the API telling the page something it shows.
    if (
      /^Failed to load resource/.test(msg.text()) &&
      EXPECTED_ANSWERS.some((re) => re.test(msg.location().url))
    )
      return;
    errors.push(`${page.url()}: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => errors.push(`${page.url()}: ${err.message}`));
  return { context, page, errors };
}

/** Logs in through the login page. */
export async function logIn(page: Page, role: RoleName): Promise<void> {
  await page.goto('/');
  await page.getByLabel('User name').fill(USERS[role].username);
  await page.getByLabel('Password').fill(USERS[role].password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByTestId('who').waitFor();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: false });
}
