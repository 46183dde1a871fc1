/**
 * The app `vigil init` writes: the smallest app that shows each part once (an agent, a tool of its own, a test
 * of the agent with `vigil/testing`), as a pure function of its name and dependency versions.
 */

export interface AppVersions {
  /** What the app's package.json depends on for vigil: a version range, or `file:` a tarball. */
  vigil: string;
  /** The versions Vigil itself is built and tested with, so the app gets one zod and a compiler that agrees. */
  zod: string;
  typescript: string;
  tsx: string;
  typesNode: string;
}

/** Relative path → contents. */
export type AppFiles = Record<string, string>;

/** A package name from a folder's name: lower case, only the characters npm allows; `vigil-app` when none is left. */
export function packageNameFor(folderName: string): string {
  const name = folderName
    .toLowerCase()
    .replace(/[^a-z0-9._~-]+/g, '-')
    .replace(/^[._-]+|[-]+$/g, '')
    .slice(0, 214);
  return name === '' || name === 'vigil' ? 'vigil-app' : name;
}

export function appFiles(name: string, versions: AppVersions): AppFiles {
  const packageJson = {
    name,
    version: '0.1.0',
    private: true,
    scripts: {
      dev: 'vigil dev',
      worker: 'vigil worker',
      typecheck: 'tsc --noEmit',
      test: 'tsc --noEmit && node --import tsx --test test/*.test.ts',
    },
    dependencies: { vigil: versions.vigil, zod: versions.zod },
    devDependencies: { '@types/node': versions.typesNode, tsx: versions.tsx, typescript: versions.typescript },
    // Install scripts of packages deep in vigil's tree that nothing here needs (they check or optimise a native
    // build the package also ships); said once, so npm neither runs them nor asks about them.
    allowScripts: { '@swc/core': false, esbuild: false, protobufjs: false },
  };
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'node16',
      moduleResolution: 'node16',
      lib: ['ES2022'],
      types: ['node'],
      strict: true,
      esModuleInterop: true,
      skipLibCheck: true,
      noEmit: true,
    },
    include: ['vigil.config.ts', 'src', 'test'],
  };
  return {
    'package.json': `${JSON.stringify(packageJson, null, 2)}\n`,
    'tsconfig.json': `${JSON.stringify(tsconfig, null, 2)}\n`,
    '.gitignore': 'node_modules/\n.vigil/\n',
    'vigil.config.ts': VIGIL_CONFIG,
    'src/tools/word-count.ts': WORD_COUNT_TOOL,
    'test/helper.test.ts': HELPER_TEST,
    'README.md': readme(name),
  };
}

const VIGIL_CONFIG = `// The agents \`vigil dev\` and \`vigil worker\` serve. Each conversation with an agent is a durable Temporal
// workflow; its model calls and tool calls are activities, retried and never repeated once done.
import { calculator, defineAgent, defineConfig } from 'vigil';
import { wordCount } from './src/tools/word-count';

export const helper = defineAgent({
  name: 'helper',
  instructions: 'You are a concise assistant. Count words with word_count and do arithmetic with calculator.',
  model: 'gpt-4o-mini',
  tools: [wordCount, calculator],
});

export default defineConfig({ agents: [helper] });
`;

const WORD_COUNT_TOOL = `import { defineTool } from 'vigil';
import { z } from 'zod';

export function countWords(text: string): number {
  return text.split(/\\s+/).filter(Boolean).length;
}

// A tool runs on the worker, as an activity: it may use any of the app's modules and dependencies. The model
// sees its name, description and parameters; its arguments are checked against them before it runs.
export const wordCount = defineTool({
  name: 'word_count',
  description: 'Counts the words in a text',
  parameters: z.object({ text: z.string().describe('The text whose words to count') }),
  execute: async ({ text }) => String(countWords(text)),
});
`;

const HELPER_TEST = `// The helper agent end to end: a Temporal and a Vigil worker in this process, and a scripted model that plays
// the provider, so the test needs no network and no API key.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startAgentTest, type AgentTest } from 'vigil/testing';
import config from '../vigil.config';
import { countWords } from '../src/tools/word-count';

let t: AgentTest;
before(async () => {
  t = await startAgentTest({ agents: config.agents });
});
after(() => t.close());

test('countWords counts words', () => {
  assert.equal(countWords('  one two\\tthree\\n'), 3);
});

test('helper counts words with its tool', async () => {
  t.model.script(
    { toolCalls: [{ id: 'call-1', name: 'word_count', arguments: '{"text":"one two three"}' }] },
    { content: 'Three words.' },
  );
  const reply = await t.conversation('helper').send('How many words in "one two three"?');

  assert.equal(reply.status, 'completed');
  assert.equal(reply.content, 'Three words.');
  // The tool ran, and the model was given its result.
  const toolResult = t.model.requests[1].body.messages.at(-1);
  assert.deepEqual(toolResult, { role: 'tool', tool_call_id: 'call-1', content: '3' });
});
`;

function readme(name: string): string {
  return `# ${name}

An agent app on Vigil, the durable agent runtime for TypeScript on Temporal.

- \`vigil.config.ts\`: the agents (\`helper\`) and their tools.
- \`src/tools/word-count.ts\`: a tool of the app's own.
- \`test/helper.test.ts\`: the agent tested end to end with \`vigil/testing\` (a scripted model; no network).

\`\`\`sh
npm install
npm test          # type-check, then the tests
npx vigil dev     # Temporal, a worker and the HTTP gateway; prints where to send messages
\`\`\`

\`vigil dev\` uses OpenAI with \`OPENAI_API_KEY\`, any OpenAI-compatible server with \`OPENAI_BASE_URL\`, and an
offline demo model with neither (it answers arithmetic with the calculator). Then, in another terminal:

\`\`\`sh
npx vigil send --agent helper c1 "What is 17 * 23?"
npx vigil chat --agent helper c1
curl -s localhost:8787/v1/agents/helper/conversations/c1/messages -H 'content-type: application/json' -d '{"content":"hi"}'
\`\`\`

In production, run \`npx vigil worker\` against your Temporal (\`TEMPORAL_ADDRESS\`, \`TEMPORAL_NAMESPACE\`).
`;
}
