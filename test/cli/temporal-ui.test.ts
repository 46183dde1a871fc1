/**
 * A Vigil conversation in the Temporal Web UI, as a person inspects one: a real browser (Debian's chromium, driven by
 * playwright-core) on the Temporal CLI dev server's UI finds the conversation by its Vigil search attributes, opens
 * it, and sees its event history and memo. The screenshots are kept in test-output/temporal-ui/.
 *
 * Runs under `npm run test:temporal` (test/helpers/in-process-only.ts, NEEDS_TEMPORAL_CLI), where chromium must be
 * there too (VIGIL_CHROMIUM, default /usr/bin/chromium); .ci/run installs both.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { defineAgent } from '../../src/agents/define-agent';
import { conversationWorkflowId } from '../../src/conversation/protocol';
import { startTemporalCliServer, type TemporalCliServer } from '../../src/testing/temporal-cli';
import { startConversationHarness } from '../helpers/conversation';
import { REPO } from './cli-process';
import { describeWithCli, TEMPORAL_CLI } from '../helpers/in-process-only';

const temporalCli = TEMPORAL_CLI;
const CHROMIUM = process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = join(REPO, 'test-output', 'temporal-ui');

describeWithCli('the Temporal Web UI', () => {
  let server: TemporalCliServer;
  let harness: Awaited<ReturnType<typeof startConversationHarness>>;
  let browser: Browser;

  beforeAll(async () => {
    // A dev server of its own: the one the test run shares is headless.
    server = await startTemporalCliServer({ executable: temporalCli!, ui: true });
    const agent = defineAgent({ name: 'ui-visible', instructions: 'Be brief.', model: 'test-model' });
    harness = await startConversationHarness([agent], { temporalAddress: server.address });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await harness?.close();
    await server?.close();
  });

  test('finds a conversation by VigilAgent, opens it, and shows its history and memo', async () => {
    const id = `ui-${Date.now()}`;
    const workflowId = conversationWorkflowId('ui-visible', id);
    harness.model.script({ content: 'seen in the UI' });
    await harness.client.send('ui-visible', id, { id: 'm1', content: 'hello, Temporal UI' });

    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const query = `VigilAgent = 'ui-visible' AND VigilStatus = 'idle'`;
    // Visibility lags behind: the list is reloaded until the conversation is in it.
    const link = page.getByRole('link', { name: workflowId });
    for (let attempt = 0; ; attempt++) {
      await page.goto(`${server.uiURL}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
      try {
        await link.waitFor({ timeout: 5_000 });
        break;
      } catch (error) {
        if (attempt === 5) throw error;
      }
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'list-by-vigil-agent.png') });

    await link.click();
    await page.getByText('Workflow Execution Update Accepted').first().waitFor();
    await page.getByText('Activity Task Completed').first().waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'conversation-history.png'), fullPage: true });
    await page.getByText('Memo', { exact: true }).click();
    await page.getByText('ui-visible · 1 turn · idle').waitFor();
    await page.getByText('hello, Temporal UI').first().waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'conversation-memo.png') });
  }, 120_000);
});
