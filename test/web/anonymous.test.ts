// The demo's set-up in the browser: anonymous access on loopback, so the console opens without a
// login as an operator who may write; "Log in" still lets an admin sign in for mappings and audit.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  launchChromium,
  openPage,
  screenshot,
  startConsoleGateway,
  USERS,
  type ConsoleGateway,
  type ConsolePage,
} from './harness.js';

let gw: ConsoleGateway;
let browser: Browser;
let p: ConsolePage;

beforeAll(async () => {
  gw = await startConsoleGateway({ allowAnonymous: true });
  browser = await launchChromium();
  p = await openPage(browser, gw.url);
}, 120_000);

afterAll(async () => {
  await p?.context.close();
  await browser?.close();
  await gw?.stop();
});

describe('anonymous demo console', { timeout: 60_000 }, () => {
  it('skips the login page and offers the write control to the anonymous operator', async () => {
    const { page } = p;
    await page.goto('/tags/press1/setpoint');
    expect(await page.getByTestId('who').textContent()).toMatch(/anonymous\s*operator/);
    await page.getByTestId('write-control').waitFor();
    const nav = await page.getByRole('navigation', { name: 'Pages' }).textContent();
    expect(nav).not.toContain('Mappings');
    await screenshot(page, 'anonymous-tag');
  });

  it('lets an admin log in from there, and go back to anonymous by logging out', async () => {
    const { page } = p;
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByLabel('User name').fill(USERS.admin.username);
    await page.getByLabel('Password').fill(USERS.admin.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByTestId('who').textContent()).toContain(USERS.admin.username);
    expect(await page.getByRole('navigation', { name: 'Pages' }).textContent()).toContain('Mappings');
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect.poll(() => page.getByTestId('who').textContent()).toMatch(/anonymous/);
    expect(p.errors).toEqual([]);
  });
});
