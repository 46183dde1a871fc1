/**
 * `vigil/testing`: a Temporal for tests, in the test process (Vigil's own in-process server, or `TEMPORAL_TEST_ADDRESS`
 * for a real one), with Vigil's search attributes registered.
 */
export { createTemporalTestEnv, type TemporalTestEnv, type TemporalTestEnvOptions } from './temporal-env';
