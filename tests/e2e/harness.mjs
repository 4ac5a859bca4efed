// The stack an end-to-end run needs, started fresh: maildev (a real SMTP receiver with a JSON
// API), `lk demo` and `lk serve` on a new SQLite database (or PostgreSQL with E2E_DATABASE_URL),
// and headless Chromium. Everything listens on 127.0.0.1 only.
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '../..');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitFor(url, what) {
  for (let i = 0; i < 150; i++) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch { /* not up yet */ }
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`${what} did not start (${url})`);
}

export async function startStack() {
  const children = [];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-e2e-'));
  const smtpPort = await freePort();
  const mailWebPort = await freePort();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const mailApi = `http://127.0.0.1:${mailWebPort}`;

  const maildev = spawn(path.join(here, 'node_modules/.bin/maildev'), [
    '--smtp', String(smtpPort), '--web', String(mailWebPort),
    '--ip', '127.0.0.1', '--web-ip', '127.0.0.1', '--mail-directory', path.join(dataDir, 'maildev'),
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(maildev);
  await waitFor(`${mailApi}/api/email`, 'maildev');

  const lk = process.env.LK_BIN || path.join(root, 'target/debug/lk');
  const env = {
    ...process.env,
    DATA_DIR: dataDir,
    LISTEN_ADDR: `127.0.0.1:${port}`,
    PUBLIC_BASE_URL: base,
    MAIL_TRANSPORT: 'smtp',
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}?tls=none`,
    // An instance that sends real mail is not a development one: it is given its secret.
    JWT_SECRET: crypto.randomBytes(32).toString('hex'),
    SPA_DIR: path.join(root, 'crates/web/dist'),
    RUST_LOG: process.env.RUST_LOG || 'warn',
  };
  if (process.env.E2E_DATABASE_URL) env.DATABASE_URL = process.env.E2E_DATABASE_URL;
  execFileSync(lk, ['demo'], { env, stdio: 'ignore' });
  const server = spawn(lk, ['serve'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  children.push(server);
  await waitFor(`${base}/readyz`, 'lk serve');

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });

  /** The link `…pathPart?token=…` of the newest message to `to`, rewritten to `base`. */
  async function linkFor(to, pathPart, since = 0) {
    const pattern = new RegExp(`https?://[^\\s"<>]*${pathPart}\\?token=[A-Za-z0-9_\\-]+`);
    for (let i = 0; i < 100; i++) {
      const mails = await (await fetch(`${mailApi}/api/email`)).json();
      const mine = mails
        .filter(m => new Date(m.time).getTime() >= since)
        .filter(m => (m.envelope?.to || []).some(t => t.address.toLowerCase() === to.toLowerCase()))
        .reverse();
      for (const mail of mine) {
        const found = (mail.text || '').match(pattern);
        if (found) return found[0].replace(/^https?:\/\/[^/]+/, base);
      }
      await new Promise(r => setTimeout(r, 100));
    }
    throw new Error(`no ${pathPart} mail for ${to}`);
  }

  /** The messages maildev received for `to`. */
  async function mailsTo(to) {
    const mails = await (await fetch(`${mailApi}/api/email`)).json();
    return mails.filter(m => (m.envelope?.to || []).some(t => t.address.toLowerCase() === to.toLowerCase()));
  }

  async function stop() {
    await browser.close().catch(() => {});
    for (const child of children.reverse()) child.kill('SIGTERM');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }

  return { base, browser, linkFor, mailsTo, stop, dataDir };
}
