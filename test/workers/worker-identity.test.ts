/** A worker's identity names its agents, within the length Temporal takes, and clients read the list back. */
import { agentsOfIdentity, workerIdentity } from '../../src/workers/worker-identity';

test('names the agents, and reads back as them', () => {
  const identity = workerIdentity(['assistant', 'helper.v2'], 'box', 4242);
  expect(identity).toBe('4242@box vigil agents=assistant,helper.v2');
  expect(agentsOfIdentity(identity)).toEqual(['assistant', 'helper.v2']);
});

test('an identity that would be too long for Temporal names no agents, and says nothing', () => {
  const many = Array.from({ length: 10 }, (_, k) => `agent-${k}-${'x'.repeat(120)}`);
  const identity = workerIdentity(many, 'box', 1);
  expect(identity).toBe('1@box');
  expect(agentsOfIdentity(identity)).toBeUndefined();
});

test("another SDK's worker says nothing about agents", () => {
  expect(agentsOfIdentity('12345@some-host')).toBeUndefined();
  expect(agentsOfIdentity('1@box vigil agents=')).toEqual([]);
});
