/**
 * Real-browser tests: the app from createTestContext() on an ephemeral port, driven by the
 * system's Chromium through playwright-core. Missing Chromium is a failure, not a skip (CI
 * installs the Debian package).
 *
 *   const b = useBrowser();           // inside describe(): registers before()/after()
 *   const page = await b.newPage();   // b.baseUrl, b.ctx (services, db) also available
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createTestContext, type TestContext } from './context';
import { startSmtpSink, type SmtpSink } from './smtp-sink';
import { authenticator } from 'otplib';
import { TEST_PASSWORD } from './factories';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../output/screenshots');

export const PHONE_VIEWPORT = { width: 375, height: 812 };
export const DESKTOP_VIEWPORT = { width: 1280, height: 800 };

export interface BrowserHarness {
  ctx: TestContext;
  browser: Browser;
  baseUrl: string;
  /** A page in a fresh browser context (own cookies), watched for CSP violations and script errors. */
  newPage(options?: { viewport?: { width: number; height: number }; isMobile?: boolean }): Promise<WatchedPage>;
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught page errors seen so far. */
  errors: string[];
  /** The subset of `errors` that are Content-Security-Policy violations. */
  cspViolations(): string[];
}

const VIOLATION_MARK = 'Content-Security-Policy violation:';

function isCspMessage(text: string): boolean {
  return /Content Security Policy|Content-Security-Policy|violates the following|Refused to (execute|apply|load|evaluate)/i.test(text);
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. Browser tests need it: install the Debian package ` +
        '(apt-get install chromium) or set CHROMIUM_PATH to a Chromium binary.',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
    timeout: 30_000,
  });
}

async function listen(ctx: TestContext): Promise<{ server: Server; baseUrl: string }> {
  return new Promise((resolve, reject) => {
    const server = ctx.app.listen(0, '127.0.0.1');
    server.once('error', reject);
    server.once('listening', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, baseUrl: `http://127.0.0.1:${port}` });
    });
  });
}

/** Registers before()/after() hooks in the current describe(); everything is closed even on failure. */
export function useBrowser(env: Record<string, string | undefined> = {}): BrowserHarness {
  let server: Server | undefined;
  const contexts: BrowserContext[] = [];
  const harness = {} as BrowserHarness;

  // A failure here (no Chromium, no database) is kept and thrown from newPage(), so each test
  // FAILS with the reason; thrown from before() node:test would only count the tests as cancelled.
  let setupError: unknown;
  harness.newPage = async () => {
    throw setupError ?? new Error('useBrowser(): before() has not run');
  };

  before(async () => {
    try {
      harness.browser = await launchChromium();
      harness.ctx = await createTestContext(env);
      const started = await listen(harness.ctx);
      server = started.server;
      harness.baseUrl = started.baseUrl;
    } catch (err) {
      setupError = err;
      return;
    }
    harness.newPage = async (options = {}) => {
      const context = await harness.browser.newContext({
        baseURL: harness.baseUrl,
        viewport: options.viewport ?? DESKTOP_VIEWPORT,
        isMobile: options.isMobile,
        hasTouch: options.isMobile,
        deviceScaleFactor: 1,
      });
      context.setDefaultTimeout(15_000);
      context.setDefaultNavigationTimeout(20_000);
      contexts.push(context);
      const page = await context.newPage();
      const errors: string[] = [];
      // The browser's own CSP message names no element; this event does (which page, which tag).
      await page.addInitScript((mark) => {
        document.addEventListener('securitypolicyviolation', (e) => {
          const target = e.target instanceof Element ? e.target.outerHTML.slice(0, 160) : String(e.target);
          console.log(`${mark} ${e.violatedDirective} on ${location.pathname} from ${e.sourceFile}:${e.lineNumber}:${e.columnNumber} at ${target}`);
        });
      }, VIOLATION_MARK);
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push(`console: ${msg.text()} (${msg.location().url || 'no url'})`);
        else if (msg.text().startsWith(VIOLATION_MARK)) errors.push(msg.text());
      });
      page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
      return { page, context, errors, cspViolations: () => errors.filter(isCspMessage) };
    };
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await harness.browser?.close().catch(() => undefined);
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
    }
    await harness.ctx?.close();
  });

  return harness;
}

/** axe-core's browser bundle, read once (issue 15 §13). */
let axeSource: string | undefined;
/** Impacts that fail a test; moderate and minor ones are left to review. */
const FAILING_IMPACTS = new Set(['serious', 'critical']);

/**
 * Runs axe-core on the page as it is now and fails on any serious or critical violation, listing
 * each rule, its help and the offending elements. Injected through page.evaluate (the DevTools
 * protocol), so the app's Content-Security-Policy is not loosened for it. Called by screenshot(),
 * so every page a browser test screenshots is checked; call it directly for a page not shot.
 */
export async function assertAccessible(page: Page, what = page.url()): Promise<void> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const result = await (window as any).axe.run(document, { resultTypes: ['violations'] });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return result.violations.map((v: any) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n: any) => `${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(1, 2).join(' ').trim() ?? ''}`) }));
  }) as Array<{ id: string; impact: string | null; help: string; nodes: string[] }>;
  const failing = violations.filter((v) => v.impact && FAILING_IMPACTS.has(v.impact));
  if (failing.length) {
    const list = failing.map((v) => `- [${v.impact}] ${v.id}: ${v.help}\n    ${v.nodes.slice(0, 5).join('\n    ')}`).join('\n');
    assert.fail(`axe-core: ${failing.length} serious/critical accessibility violation(s) on ${what}:\n${list}`);
  }
}

/** Checks the page with axe-core (assertAccessible), then saves a full-page PNG to test/output/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  // FAILED-* shots are taken after a failure: the page is whatever state it was left in.
  // /ops is the operators' bull-board dashboard, a third-party UI: the check covers our console and portal pages.
  const pathname = new URL(page.url()).pathname;
  if (!name.startsWith('FAILED-') && !pathname.startsWith('/ops/')) await assertAccessible(page, `${pathname} (${name})`);
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  // caret: 'initial' because hiding the caret leaves style="" on every input; htmx's settle step then
  // copies that attribute onto the next page's inputs with the same id, which the CSP (rightly) blocks.
  await page.screenshot({ path: file, fullPage: true, caret: 'initial' });
  return file;
}

/**
 * useBrowser() whose app delivers mail to a real SMTP sink (SMTP_URL; no REDIS_URL, so the
 * in-process queue sends it). Call inside describe(); `mail()` is the sink once before() ran.
 */
export function useBrowserWithMail(): { browser: BrowserHarness; mail: () => SmtpSink } {
  let sink: SmtpSink | undefined;
  // useBrowser() reads `env` in its own before(), which runs after this one.
  const env: Record<string, string | undefined> = {};
  before(async () => {
    sink = await startSmtpSink();
    env.SMTP_URL = sink.url;
  });
  const browser = useBrowser(env);
  after(async () => {
    await sink?.close();
  });
  return { browser, mail: () => sink ?? assert.fail('the SMTP sink is not started') };
}

/**
 * A `step(page, name, fn)` for a test: runs fn; on failure saves the screenshot
 * `FAILED-<prefix><name>` and puts the step's name in the error message.
 */
export function stepper(prefix = '') {
  return async function step<T>(page: Page, name: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      await screenshot(page, `FAILED-${prefix}${name}`).catch(() => undefined);
      (err as Error).message = `[step: ${name}] ${(err as Error).message}`;
      throw err;
    }
  };
}

/** The element that has focus, as "<tag>#id" or "<tag>:text" for buttons and links. */
export function focusedElement(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return 'body';
    if (el.id) return `${el.tagName.toLowerCase()}#${el.id}`;
    return `${el.tagName.toLowerCase()}:${(el.textContent ?? '').trim()}`;
  });
}

/** The page is no wider than the viewport (no sideways scrolling on a phone). */
export async function assertNoHorizontalScroll(page: Page, what: string): Promise<void> {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
  assert.ok(scrollWidth <= innerWidth, `${what} scrolls sideways: content is ${scrollWidth}px wide in a ${innerWidth}px viewport`);
}

/** No CSP violation and no console or script error seen so far on this page. */
export function assertClean(watched: WatchedPage, what: string): void {
  assert.deepEqual(watched.cspViolations(), [], `no CSP violations (${what})`);
  assert.deepEqual(watched.errors, [], `no console or script errors (${what})`);
}

/**
 * Signs an admin made by the factories in to the console through its pages (password, then a
 * TOTP code), ending on the resources page. A TOTP step is accepted once: a second sign-in of the
 * same admin within 30 s must wait for the next step (`waitForNextStep`).
 */
export async function signInToConsole(page: Page, admin: { email: string; totpSecret: string }, options: { waitForNextStep?: boolean } = {}): Promise<void> {
  await page.goto('/admin/sign-in');
  await page.getByLabel('Email', { exact: true }).fill(admin.email);
  await page.getByLabel('Password', { exact: true }).fill(TEST_PASSWORD);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(/\/admin\/sign-in\/totp/);
  if (options.waitForNextStep) await page.waitForTimeout(Math.max(0, 30_000 - (Date.now() % 30_000)) + 500);
  await page.getByLabel(/code/i).fill(authenticator.generate(admin.totpSecret));
  await page.getByRole('button', { name: /verify|sign in|continue/i }).click();
  await page.waitForURL(/\/admin\/resources/);
}
