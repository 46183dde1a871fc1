/**
 * Conformance: namespaces, custom search attributes registered through the OperatorService, upserts from
 * workflow code, and list / count with visibility queries. Visibility on a real server is eventually
 * consistent, so list and count results are awaited, not read once.
 */
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import { eventually, useWorker } from '../helpers/conformance';
import * as wf from './workflows';

const fx = useWorker({});
const IVT = temporal.api.enums.v1.IndexedValueType;
const ATTRIBUTE = 'VigilConformanceKeyword';

beforeAll(async () => {
  await fx.env.connection.operatorService.addSearchAttributes({
    namespace: fx.env.namespace,
    searchAttributes: { [ATTRIBUTE]: IVT.INDEXED_VALUE_TYPE_KEYWORD },
  });
});

async function listIds(query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const execution of fx.env.client.workflow.list({ query })) ids.push(execution.workflowId);
  return ids.sort();
}

test('a registered search attribute is listed with its type', async () => {
  const listed = await fx.env.connection.operatorService.listSearchAttributes({ namespace: fx.env.namespace });
  expect(listed.customAttributes?.[ATTRIBUTE]).toBe(IVT.INDEXED_VALUE_TYPE_KEYWORD);
  expect(listed.systemAttributes?.WorkflowType).toBe(IVT.INDEXED_VALUE_TYPE_KEYWORD);
});

test('search attributes and memo upserted by the workflow are visible and searchable', async () => {
  const tag = randomUUID();
  const handle = await fx.env.client.workflow.start(wf.tagged, {
    taskQueue: fx.taskQueue,
    workflowId: `tagged-${randomUUID()}`,
    args: [ATTRIBUTE, tag],
  });
  await eventually(async () => ((await listIds(`${ATTRIBUTE} = '${tag}'`)).length === 1 ? true : undefined));
  const d = await handle.describe();
  expect(d.searchAttributes[ATTRIBUTE]).toEqual([tag]);
  expect(d.memo).toEqual({ note: `tagged ${tag}` });
  const types = (await handle.fetchHistory()).events!.map((e) => e.eventType);
  expect(types).toContain(temporal.api.enums.v1.EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
  expect(types).toContain(temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED);
  await handle.signal(wf.finishSignal);
  await handle.result();
});

test('list and count filter by type, id, status, start time and custom attributes', async () => {
  const tag = randomUUID();
  const since = new Date(Date.now() - 60_000).toISOString();
  const done = `done-${randomUUID()}`;
  const running = `running-${randomUUID()}`;
  await fx.env.client.workflow.execute(wf.echo, {
    taskQueue: fx.taskQueue,
    workflowId: done,
    args: [1],
    searchAttributes: { [ATTRIBUTE]: [tag] },
  });
  const handle = await fx.env.client.workflow.start(wf.waitForever, {
    taskQueue: fx.taskQueue,
    workflowId: running,
    searchAttributes: { [ATTRIBUTE]: [tag] },
  });
  const mine = `${ATTRIBUTE} = '${tag}'`;
  await eventually(async () =>
    (await listIds(`${mine} AND ExecutionStatus = 'Completed'`)).length === 1 ? true : undefined,
  );
  expect(await listIds(mine)).toEqual([done, running].sort());
  expect(await listIds(`${mine} AND ExecutionStatus = 'Running'`)).toEqual([running]);
  expect(await listIds(`${mine} AND WorkflowType = 'echo'`)).toEqual([done]);
  expect(await listIds(`${mine} AND WorkflowId = '${running}'`)).toEqual([running]);
  expect(await listIds(`${mine} AND StartTime > '${since}'`)).toEqual([done, running].sort());
  expect(await listIds(`${mine} AND (WorkflowType = 'echo' OR WorkflowType = 'waitForever')`)).toEqual(
    [done, running].sort(),
  );
  expect(await listIds(`${mine} AND WorkflowType IN ('echo', 'nothing')`)).toEqual([done]);
  expect((await fx.env.client.workflow.count(mine)).count).toBe(2);
  expect((await fx.env.client.workflow.count(`${mine} AND ExecutionStatus = 'Running'`)).count).toBe(1);
  await handle.terminate();
});

test('a namespace can be registered and described', async () => {
  const namespace = `vigil-conformance-${randomUUID().slice(0, 8)}`;
  await fx.env.client.workflowService.registerNamespace({
    namespace,
    description: 'made by the conformance suite',
    workflowExecutionRetentionPeriod: msToTs('1 day'),
  });
  const described = await eventually(async () =>
    fx.env.client.workflowService.describeNamespace({ namespace }).catch(() => undefined),
  );
  expect(described.namespaceInfo?.name).toBe(namespace);
  expect(described.namespaceInfo?.description).toBe('made by the conformance suite');
  expect(described.namespaceInfo?.state).toBe(temporal.api.enums.v1.NamespaceState.NAMESPACE_STATE_REGISTERED);
  const defaultNs = await fx.env.client.workflowService.describeNamespace({ namespace: 'default' });
  expect(defaultNs.namespaceInfo?.name).toBe('default');
});
