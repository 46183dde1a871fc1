import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineAgent } from '../../src/agents/define-agent';
import { runCli } from '../../src/cli/program';
import { ConfigError } from '../../src/errors';
import { createPaymentVerifiers, FileCreditsLedger } from '../../src/payments';

let dataDir: string;
let output: string[];
const saved = { ...process.env };

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'vigil-credits-cli-'));
  process.env.VIGIL_DATA_DIR = dataDir;
  delete process.env.VIGIL_STORE;
  output = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    output.push(String(chunk));
    return true;
  });
  jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    output.push(String(chunk));
    return true;
  });
});
afterEach(() => {
  jest.restoreAllMocks();
  process.env = { ...saved };
  rmSync(dataDir, { recursive: true, force: true });
});

test('vigil credits grant and balance work on the ledger under VIGIL_DATA_DIR', async () => {
  expect(await runCli(['credits', 'grant', 'alice', '2.5'])).toBe(0);
  expect(await runCli(['credits', 'grant', 'alice', '0.000001', '--json'])).toBe(0);
  expect(await runCli(['credits', 'balance', 'alice'])).toBe(0);
  expect(output).toEqual([
    'granted 2.5 credits to alice; balance 2.5\n',
    '{"account":"alice","grantedMicros":1,"balanceMicros":2500001}\n',
    'alice: 2.500001 credits\n',
  ]);
  expect(await new FileCreditsLedger({ dataDir }).balance('alice')).toBe(2_500_001);
});

test('a bad amount or account is a usage error; an unknown account fails', async () => {
  expect(await runCli(['credits', 'grant', 'alice', '-1'])).toBe(2);
  expect(await runCli(['credits', 'grant', 'alice', '1.0000001'])).toBe(2);
  expect(await runCli(['credits', 'grant', '../x', '1'])).toBe(2);
  expect(await runCli(['credits', 'balance', 'nobody'])).toBe(1);
  expect(output.join('')).toContain('there is no credits account "nobody"');
});

test('the worker offers the credits verifier always and the webhook verifier when configured', async () => {
  const plain = createPaymentVerifiers({ store: { kind: 'file', dataDir, payloadThresholdBytes: 65536 } });
  expect(plain.verifiers.map((v) => v.name)).toEqual(['credits']);
  const both = createPaymentVerifiers({
    store: { kind: 'file', dataDir, payloadThresholdBytes: 65536 },
    paymentWebhook: { url: 'https://pay.example.com/v', secret: 'whsec-0123456789abcdef' },
  });
  expect(both.verifiers.map((v) => v.name)).toEqual(['credits', 'webhook']);
  await Promise.all([plain.close(), both.close()]);
});

describe('agent options', () => {
  const base = { name: 'paid', instructions: 'Be brief.', model: 'gpt-4o-mini' };

  test('budget and pricing reach the spec as given; absent, they are absent', () => {
    const agent = defineAgent({
      ...base,
      budget: { conversation: { maxTokens: 100_000, maxCostMicros: 500_000 }, perAuthor: { maxCostMicros: 50_000 } },
      pricing: { pricePerMessageMicros: 10_000, verifier: 'credits' },
    });
    expect(agent.spec()).toMatchObject({
      budget: { conversation: { maxTokens: 100_000, maxCostMicros: 500_000 }, perAuthor: { maxCostMicros: 50_000 } },
      pricing: { pricePerMessageMicros: 10_000, verifier: 'credits' },
    });
    const free = defineAgent(base).spec();
    expect('budget' in free || 'pricing' in free).toBe(false);
  });

  test('bad budgets and prices are configuration errors, every one listed', () => {
    const error = (() => {
      try {
        defineAgent({
          ...base,
          budget: { conversation: { maxTokens: 0, maxCost: 5 } as never },
          pricing: { pricePerMessageMicros: 0.5, verifier: '' },
        });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const problems = error.problems.join('\n');
    expect(problems).toContain('budget.conversation.maxTokens');
    expect(problems).toContain('maxCost');
    expect(problems).toContain('pricing.pricePerMessageMicros');
    expect(problems).toContain('pricing.verifier');
  });
});
