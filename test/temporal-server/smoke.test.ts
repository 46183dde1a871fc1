import { createTemporalTestEnv, TemporalTestEnv } from '../../src/testing/temporal-env';
import { createWorker, uniqueTaskQueue } from '../helpers/worker';
import * as activities from './activities';

let env: TemporalTestEnv;
beforeAll(async () => {
  env = await createTemporalTestEnv();
});
afterAll(async () => {
  await env?.teardown();
});

test('smoke', async () => {
  const taskQueue = uniqueTaskQueue();
  const worker = await createWorker(env, { taskQueue, activities });
  await worker.runUntil(async () => {
    const r = await env.client.workflow.execute('echo', { taskQueue, workflowId: 'w1', args: [{ a: 1 }] });
    expect(r).toEqual({ a: 1 });
    const r2 = await env.client.workflow.execute('oneActivity', { taskQueue, workflowId: 'w2', args: ['Bob'] });
    expect(r2).toEqual('Hello, Bob!');
    const h = await env.client.workflow.start('counter', { taskQueue, workflowId: 'w3' });
    await h.signal('add', 2);
    expect(await h.query('total')).toBe(2);
    expect(await h.executeUpdate('addAndGet', { args: [3] })).toBe(5);
    await expect(h.executeUpdate('addAndGet', { args: [-1] })).rejects.toMatchObject({ cause: { message: expect.stringMatching(/negative/) } });
    await h.signal('finish');
    expect(await h.result()).toBe(5);
    const hist = await h.fetchHistory();
    console.log(hist.events!.map((e) => e.eventType).join(','));
  });
});
