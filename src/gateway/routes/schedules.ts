/** Scheduled messages: a recurring message to a conversation (see src/schedules). */
import type { FastifyInstance } from 'fastify';
import { ScheduleConflictError, ScheduleNotFoundError } from '../../errors';
import type { ScheduleClient } from '../../schedules';
import { HttpError } from '../errors';
import {
  checkRequest,
  ConversationRequest,
  CreateScheduleHttpRequest,
  ListSchedulesHttpRequest,
  ScheduleIdRequest,
} from '../requests';
import type { RouteDeps } from './deps';

/** Schedule errors -> HTTP; everything else goes on to the gateway's error handler. */
function scheduleError(error: unknown): never {
  if (error instanceof ScheduleNotFoundError) throw new HttpError(404, 'not_found', error.message);
  if (error instanceof ScheduleConflictError) throw new HttpError(409, 'conflict', error.message);
  throw error;
}

export function scheduleRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const schedules = (): ScheduleClient => {
    if (!deps.schedules) throw new HttpError(404, 'not_found', 'schedules are not enabled on this gateway');
    return deps.schedules;
  };
  const path = '/agents/:agent/conversations/:conversationId/schedules';

  /** 201 the schedule; 400 a bad cron or duration; 409 a schedule of that name exists. */
  app.post(path, async (request, reply) => {
    const { params, body } = checkRequest(CreateScheduleHttpRequest, request);
    const created = await schedules()
      .create({ ...params, ...body })
      .catch(scheduleError);
    return reply.code(201).send(created);
  });

  /** 200 `{ schedules }` of one conversation. */
  app.get(path, async (request) => {
    const { params } = checkRequest(ConversationRequest, request);
    return { schedules: await schedules().list(params) };
  });

  /** 200 `{ schedules }`, optionally of one agent (`?agent=`) or conversation (`?conversationId=`). */
  app.get('/schedules', async (request) => {
    const { query } = checkRequest(ListSchedulesHttpRequest, request);
    return { schedules: await schedules().list(query) };
  });

  /** 204; 404 an unknown schedule. Firings already started finish. */
  app.delete('/schedules/:scheduleId', async (request, reply) => {
    const { params } = checkRequest(ScheduleIdRequest, request);
    await schedules().delete(params.scheduleId).catch(scheduleError);
    return reply.code(204).send();
  });
}
