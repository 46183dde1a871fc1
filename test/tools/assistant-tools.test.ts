import { assistantTools, ASSISTANT_NAME, createAssistant } from '../../src/agents/assistant';

describe('the shipped assistant', () => {
  it('offers current_time and calculator at once, and http_fetch only after approval', () => {
    const spec = createAssistant({ model: 'gpt-4o-mini', httpAllowHosts: ['en.wikipedia.org'] }).spec();
    expect(spec.name).toBe(ASSISTANT_NAME);
    expect(spec.model).toBe('gpt-4o-mini');
    expect(spec.tools.map((tool) => [tool.name, tool.approval])).toEqual([
      ['current_time', 'auto'],
      ['calculator', 'auto'],
      ['http_fetch', 'ask'],
    ]);
  });

  it('leaves http_fetch out when no host is allowed', () => {
    const names = assistantTools({ httpAllowHosts: [] }).map((entry) => ('tool' in entry ? entry.tool : entry).name);
    expect(names).toEqual(['current_time', 'calculator']);
  });
});
