// A served dist/web and Debian's chromium driven by playwright-core (it never downloads a
// browser): a persistent profile (OPFS has room there; incognito contexts get little
// quota), the flags of docs/browser.md, every request the page makes recorded.
import * as fs from 'node:fs';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { buildWeb } from '../../web/build.mjs';
import { serveWeb } from '../../web/serve.mjs';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export interface WebSession {
  url: string;
  page: Page;
  context: BrowserContext;
  /** Every URL the page (and its worker) requested. */
  requests: string[];
  close(): Promise<void>;
}

export async function openPage(profile: string): Promise<WebSession> {
  await buildWeb({ quiet: true });
  const server = await serveWeb();
  fs.mkdirSync(profile, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, acceptDownloads: true, viewport: { width: 1500, height: 1000 } });
  const requests: string[] = [];
  context.on('request', (r) => void requests.push(r.url()));
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    if (m.type() === 'error') console.error('page:', m.text());
  });
  await page.goto(server.url);
  let closed = false;
  return {
    url: server.url, page, context, requests,
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => {});
      await server.close();
    },
  };
}
