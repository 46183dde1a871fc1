/**
 * A deliberately incompatible change to the conversation workflow: a new timer before anything else, as a
 * careless edit might add. Replaying stored histories against it must fail.
 */
import { sleep } from '@temporalio/workflow';
import { conversation as current } from '../../../src/workflows/conversation';

export async function conversation(...args: Parameters<typeof current>): ReturnType<typeof current> {
  await sleep(1);
  return current(...args);
}
