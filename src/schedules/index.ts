/** Scheduled messages: recurring messages to a conversation, on Temporal Schedules. */
export {
  CreateScheduleRequest,
  ListSchedulesRequest,
  SCHEDULE_ID_PREFIX,
  ScheduleClient,
  scheduleIdFor,
  type ScheduleClientOptions,
  type ScheduledMessage,
} from './schedule-client';
