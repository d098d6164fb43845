/**
 * axe-core's WCAG 2 A/AA rules (2.0 and 2.1) run inside a Chromium page. Returns the violations
 * as short sentences (rule, impact, the first few offending elements) so a failing assertion
 * says what to fix.
 */
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.addScriptTag({ path: axePath });
  const violations = (await page.evaluate(`window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] })
    .then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 4).map((n) => n.target.join(' ') + (n.failureSummary ? ' — ' + n.failureSummary.split('\\n').slice(1, 2).join('') : '')) })))`)) as Array<{
    id: string;
    impact: string;
    nodes: string[];
  }>;
  return violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.join(' | ')}`);
}
