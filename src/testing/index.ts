/**
 * `vigil/testing`: test an app's agents the way Vigil tests its own, in the test process and with no network.
 *
 * - `startAgentTest`: the app's agents on a real Vigil worker, a Temporal, and a scripted model; the usual start.
 * - `startScriptedModel`: an OpenAI-compatible HTTP server answering from a script (replies, tool calls, faults,
 *   the stream shapes of other providers).
 * - `createTemporalTestEnv`: a Temporal for a test with Vigil's search attributes registered: the in-process
 *   server, or a real one at `TEMPORAL_TEST_ADDRESS`.
 * - `startTestServer`: the in-process Temporal-protocol server itself (the workspace package
 *   `@vigil/temporal-test-server`, bundled in this package).
 */
export { startAgentTest, type AgentTest, type AgentTestOptions, type TestConversation } from './agent-test';
export {
  PROVIDER_SHAPES,
  startScriptedModel,
  type DisconnectStep,
  type FaultStep,
  type HangStep,
  type ProviderShape,
  type RecordedRequest,
  type ScriptedModel,
  type ScriptedUsage,
  type ScriptStep,
  type StreamErrorStep,
  type TextStep,
  type ToolCallsStep,
} from './scripted-model';
export { createTemporalTestEnv, type TemporalTestEnv, type TemporalTestEnvOptions } from './temporal-env';
export {
  DYNAMIC_CONFIG_DEFAULTS,
  DynamicConfigError,
  startTestServer,
  type DynamicConfig,
  type TestServer,
  type TestServerOptions,
} from '@vigil/temporal-test-server';
