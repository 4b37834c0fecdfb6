/**
 * A real browser for the UI tests: Debian's chromium (`/usr/bin/chromium`, package `chromium`)
 * driven by playwright-core, which downloads nothing. A missing chromium fails the test loudly.
 *
 * Playwright starts chromium with `--no-sandbox` unless asked for the sandbox; the tests run as
 * root, where chromium refuses to start with its sandbox, so the default stays.
 *
 * `axeViolations` runs axe-core inside the page. The UI's Content-Security-Policy forbids every
 * script, so axe is evaluated through the DevTools protocol (as Playwright's `evaluate` does),
 * not added as a <script> — the policy under test stays as served.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from './paths.js';

export type { Browser, BrowserContext, Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: apt-get install -y chromium (scripts/debian-packages.txt)`
    );
  return chromium.launch({ executablePath: CHROMIUM, timeout: 60_000 });
}

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8'
);

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly targets: string[];
}

/** axe-core's WCAG 2 A/AA rules over the page; the violations rated serious or critical. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run(o: unknown): Promise<{
            violations: {
              id: string;
              impact: string | null;
              help: string;
              nodes: { target: unknown[] }[];
            }[];
          }>;
        };
      }
    ).axe;
    const r = await axe.run({
      runOnly: {
        type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'],
      },
    });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => String(n.target[0])),
    }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Where screenshots go (gitignored; docs/ui.md "How it is tested"). */
export const SCREENSHOT_DIR = join(repoRoot, 'test-artifacts', 'ui');

/** Empties SCREENSHOT_DIR, so it holds only the screenshots of this run. */
export function clearScreenshots(): void {
  rmSync(SCREENSHOT_DIR, { recursive: true, force: true });
}

/** Writes test-artifacts/ui/NAME.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
