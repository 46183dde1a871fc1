/**
 * The one mapping from errors to responses, for the failures the end-to-end tests cannot provoke on demand:
 * a failing conversation, a bug. Whatever their messages hold never reaches the caller.
 */
import {
  ConfigError,
  ConversationBusyError,
  ConversationExistsError,
  ConversationNotFoundError,
  SystemError,
  TimeoutError,
  TurnInProgressError,
  UnknownAgentError,
  ValidationError,
} from '../../src/errors';
import { HttpError, openAIErrorBody, toErrorResponse, vigilErrorBody } from '../../src/gateway/errors';

const context = { requestId: 'req-1', bodyLimitBytes: 1024 };
const INTERNALS = 'temporal.internal:7233 password=hunter2';

test('each kind of error has its status and code', () => {
  const cases: [unknown, number, string][] = [
    [new ValidationError('bad', [{ path: 'body.content', message: 'Too small' }]), 400, 'invalid_request'],
    [new HttpError(401, 'unauthorized', 'no'), 401, 'unauthorized'],
    [new ConversationNotFoundError('a', 'c'), 404, 'not_found'],
    [new UnknownAgentError('a', ['b']), 404, 'unknown_agent'],
    [new HttpError(409, 'conflict', 'already decided'), 409, 'conflict'],
    [new TurnInProgressError('a', 'c', 'the conversation is busy'), 409, 'turn_in_progress'],
    [new ConversationExistsError('a', 'c'), 409, 'conversation_exists'],
    [new TimeoutError('slow'), 504, 'timeout'],
    [
      new ConversationBusyError('a', 'c', 'signals', 'post', 'exceeded workflow execution limit'),
      429,
      'conversation_busy',
    ],
    [
      new ConversationBusyError(
        'a',
        'c',
        'in-flight updates',
        'send',
        'limit on number of concurrent in-flight updates',
      ),
      429,
      'conversation_busy',
    ],
    [new SystemError(`send failed: ${INTERNALS}`), 502, 'upstream_error'],
    [new ConfigError([INTERNALS]), 500, 'internal'],
    [new TypeError(`cannot read ${INTERNALS}`), 500, 'internal'],
    ['a thrown string', 500, 'internal'],
  ];
  for (const [error, status, code] of cases) expect(toErrorResponse(error, context)).toMatchObject({ status, code });
});

test("a conversation whose run took all it may is told as such, with when to try again: it is not the gateway's failure", () => {
  const error = new ConversationBusyError(
    'a',
    'c',
    'signals',
    'post',
    'exceeded workflow execution limit for signal events',
  );
  expect(toErrorResponse(error, context)).toEqual({
    status: 429,
    code: 'conversation_busy',
    message: error.message,
    headers: { 'retry-after': '5' },
  });
  expect(openAIErrorBody(toErrorResponse(error, context)).error).toMatchObject({
    type: 'requests',
    code: 'conversation_busy',
  });
});

test('system failures and bugs answer with the request id, never their own message', () => {
  for (const error of [
    new SystemError(`send failed: ${INTERNALS}`),
    new ConfigError([INTERNALS]),
    new Error(INTERNALS),
  ]) {
    const response = toErrorResponse(error, context);
    expect(response.message).toContain('req-1');
    expect(JSON.stringify(vigilErrorBody(response))).not.toContain('hunter2');
    expect(JSON.stringify(openAIErrorBody(response))).not.toContain('hunter2');
  }
});

test('the two wire shapes carry the same facts', () => {
  const response = toErrorResponse(
    new ValidationError('invalid request: body.content: Too small', [{ path: 'body.content', message: 'Too small' }]),
    context,
  );
  expect(vigilErrorBody(response)).toEqual({
    error: {
      code: 'invalid_request',
      message: 'invalid request: body.content: Too small',
      issues: [{ path: 'body.content', message: 'Too small' }],
    },
  });
  expect(openAIErrorBody(response)).toEqual({
    error: {
      message: 'invalid request: body.content: Too small',
      type: 'invalid_request_error',
      code: 'invalid_request',
      param: 'body.content',
    },
  });
  expect(vigilErrorBody(toErrorResponse(new ConversationNotFoundError('a', 'c'), context))).toEqual({
    error: { code: 'not_found', message: 'conversation c of agent a was not found' },
  });
});

test("an unknown agent is OpenAI's model_not_found on the OpenAI-compatible route, where the agent is the model", () => {
  expect(openAIErrorBody(toErrorResponse(new UnknownAgentError('gpt-9', ['assistant']), context))).toEqual({
    error: {
      message: 'no agent named "gpt-9" is served here; the agents are: assistant',
      type: 'invalid_request_error',
      code: 'model_not_found',
      param: null,
    },
  });
});
