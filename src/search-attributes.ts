/** The types Temporal can index a custom search attribute as, spelled as the `temporal` CLI takes them. */
export type SearchAttributeTypeName = 'Keyword' | 'KeywordList' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime';

/**
 * The custom search attributes of Vigil's conversation workflows, by name and Temporal type. A Temporal
 * namespace must have them registered before a workflow can set them; docker-compose.yml registers exactly
 * these in the `default` namespace (test/compose.test.ts keeps the two in step).
 *
 * @example
 *   // One agent's conversations that have spent more than 10k tokens:
 *   client.workflow.list({ query: `VigilAgent = 'support' AND VigilTokensUsed > 10000` });
 */
export const VIGIL_SEARCH_ATTRIBUTES = {
  /** The agent that runs the conversation. */
  VigilAgent: 'Keyword',
  /** The conversation's current state, as the conversation workflow reports it. */
  VigilStatus: 'Keyword',
  /** Model tokens spent by the conversation so far. */
  VigilTokensUsed: 'Int',
  /** When the conversation last received or sent a message. */
  VigilLastActivity: 'Datetime',
  /** What the conversation's model calls cost so far, in micro-USD (1 USD = 1,000,000), by the worker's prices. */
  VigilCostMicros: 'Int',
} as const satisfies Record<string, SearchAttributeTypeName>;

export type VigilSearchAttributeName = keyof typeof VIGIL_SEARCH_ATTRIBUTES;
