/**
 * Conformance: timers, child workflows, and signals or cancellation sent from one workflow to another.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure, TerminatedFailure } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { eventTypes, eventually, useWorker } from '../helpers/conformance';
import * as wf from './workflows';

const fx = useWorker({});
const id = (prefix: string) => `${prefix}-${randomUUID()}`;

describe('timers', () => {
  test('a timer fires after its duration', async () => {
    const handle = await fx.env.client.workflow.start(wf.sleeper, {
      taskQueue: fx.taskQueue,
      workflowId: id('sleep'),
      args: [300],
    });
    expect(await handle.result()).toBeGreaterThanOrEqual(300);
    expect(await eventTypes(handle)).toEqual(expect.arrayContaining(['TIMER_STARTED', 'TIMER_FIRED']));
  });

  test('a timer the workflow no longer needs is cancelled', async () => {
    const handle = await fx.env.client.workflow.start(wf.waitOrTimeout, {
      taskQueue: fx.taskQueue,
      workflowId: id('cancel-timer'),
      args: [60_000],
    });
    await eventually(async () => ((await eventTypes(handle)).includes('TIMER_STARTED') ? true : undefined));
    await handle.signal(wf.finishSignal);
    expect(await handle.result()).toBe('signalled');
    const types = await eventTypes(handle);
    expect(types).toContain('TIMER_CANCELED');
    expect(types).not.toContain('TIMER_FIRED');
  });

  test('a condition with a timeout times out when nothing arrives', async () => {
    const handle = await fx.env.client.workflow.start(wf.waitOrTimeout, {
      taskQueue: fx.taskQueue,
      workflowId: id('timeout'),
      args: [200],
    });
    expect(await handle.result()).toBe('timed out');
  });
});

describe('child workflows', () => {
  test("a child's result reaches its parent, with the child's events in the parent's history", async () => {
    const childId = id('child');
    const handle = await fx.env.client.workflow.start(wf.parent, {
      taskQueue: fx.taskQueue,
      workflowId: id('parent'),
      args: [childId],
    });
    expect(await handle.result()).toBe('from child');
    expect((await eventTypes(handle)).filter((t) => t.includes('CHILD'))).toEqual([
      'START_CHILD_WORKFLOW_EXECUTION_INITIATED',
      'CHILD_WORKFLOW_EXECUTION_STARTED',
      'CHILD_WORKFLOW_EXECUTION_COMPLETED',
    ]);
    const child = await fx.env.client.workflow.getHandle(childId).describe();
    expect(child.parentExecution?.workflowId).toBe(handle.workflowId);
  });

  test("a child's failure reaches its parent as a child workflow failure", async () => {
    const handle = await fx.env.client.workflow.start(wf.parentOfFailingChild, {
      taskQueue: fx.taskQueue,
      workflowId: id('parent'),
      args: [id('child')],
    });
    expect(await handle.result()).toBe('ChildWorkflowFailure: child failed');
    expect(await eventTypes(handle)).toContain('CHILD_WORKFLOW_EXECUTION_FAILED');
  });

  test('the parent close policy terminates or abandons a running child', async () => {
    const terminated = id('child');
    await fx.env.client.workflow.execute(wf.parentLeavesChild, {
      taskQueue: fx.taskQueue,
      workflowId: id('parent'),
      args: [terminated, 'TERMINATE'],
    });
    const err = await fx.env.client.workflow
      .getHandle(terminated)
      .result()
      .catch((e: WorkflowFailedError) => e);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(TerminatedFailure);

    const abandoned = id('child');
    await fx.env.client.workflow.execute(wf.parentLeavesChild, {
      taskQueue: fx.taskQueue,
      workflowId: id('parent'),
      args: [abandoned, 'ABANDON'],
    });
    const child = fx.env.client.workflow.getHandle(abandoned);
    expect((await child.describe()).status.name).toBe('RUNNING');
    await child.terminate();
  });

  test('starting a child whose id is taken fails in the parent', async () => {
    const taken = id('taken');
    const blocker = await fx.env.client.workflow.start(wf.waitForever, { taskQueue: fx.taskQueue, workflowId: taken });
    const err = await fx.env.client.workflow
      .execute(wf.parent, { taskQueue: fx.taskQueue, workflowId: id('parent'), args: [taken] })
      .catch((e: WorkflowFailedError) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toMatch(/already started|already exists/i);
    await blocker.terminate();
  });
});

describe('external workflows', () => {
  test('a workflow signals another by id', async () => {
    const target = await fx.env.client.workflow.start(wf.counter, {
      taskQueue: fx.taskQueue,
      workflowId: id('target'),
    });
    const result = await fx.env.client.workflow.execute(wf.signalExternal, {
      taskQueue: fx.taskQueue,
      workflowId: id('sender'),
      args: [target.workflowId, 5],
    });
    expect(result).toBe('signalled');
    expect(await target.query(wf.totalQuery)).toBe(5);
    await target.terminate();
  });

  test('signalling a workflow that does not exist fails in the sender', async () => {
    const result = await fx.env.client.workflow.execute(wf.signalExternal, {
      taskQueue: fx.taskQueue,
      workflowId: id('sender'),
      args: [id('missing'), 1],
    });
    expect(result).toMatch(/^failed: /);
  });

  test('a workflow cancels another, which ends cancelled', async () => {
    const target = await fx.env.client.workflow.start(wf.waitForever, {
      taskQueue: fx.taskQueue,
      workflowId: id('target'),
    });
    const result = await fx.env.client.workflow.execute(wf.cancelExternal, {
      taskQueue: fx.taskQueue,
      workflowId: id('canceller'),
      args: [target.workflowId],
    });
    expect(result).toBe('cancel requested');
    const err = await target.result().catch((e: WorkflowFailedError) => e);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  });
});
