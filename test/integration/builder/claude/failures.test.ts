import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SpawnError } from '../../../../src/errors.js';
import {
  FakeAnthropic,
  type FakeBlock,
  finish,
  httpError,
  message,
  nodeApp,
  text,
  writeFile,
} from '../../../fakes/anthropic/server.js';
import { builderFor, buildRequest } from './setup.js';

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await new FakeAnthropic().start();
});
afterAll(async () => {
  await fake?.stop();
});
beforeEach(() => fake.reset());

const app = (title = 'App'): FakeBlock[] => nodeApp(title).map((f) => writeFile(f.path, f.content, 2));
const done = message([...app(), finish('App', 'An app.')]);

async function failure(promise: Promise<unknown>): Promise<SpawnError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof SpawnError)) throw new Error(`expected a SpawnError, got ${String(e)}`);
  return e;
}

describe('Claude builder: HTTP errors before the stream', () => {
  it('retries a 429, waiting as long as retry-after says, then succeeds', async () => {
    fake.script(
      httpError(429, 'rate_limit_error', {
        retryAfter: '0.3',
        message: 'Number of requests has exceeded your rate limit',
      }),
      done,
    );
    const result = await builderFor(fake).build(buildRequest());
    expect(result.files).toHaveLength(2);
    const [first, second] = fake.messageRequests();
    expect([first?.retryCount, second?.retryCount]).toEqual([0, 1]);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(280);
  });

  it('retries 529 overloaded answers, then succeeds', async () => {
    fake.script(
      httpError(529, 'overloaded_error', { retryAfter: '0.01' }),
      httpError(529, 'overloaded_error', { retryAfter: '0.01' }),
      done,
    );
    const result = await builderFor(fake).build(buildRequest());
    expect(result.title).toBe('App');
    expect(fake.messageRequests().map((r) => r.retryCount)).toEqual([0, 1, 2]);
  });

  it('gives up after its retries with a rate limit that carries retry-after, for the job to wait out', async () => {
    for (let i = 0; i < 3; i++) fake.script(httpError(429, 'rate_limit_error', { retryAfter: '0.01' }));
    const err = await failure(builderFor(fake).build(buildRequest()));
    expect(err).toMatchObject({ code: 'ERR_LLM_RATE_LIMITED', kind: 'rate_limited', retryable: true });
    expect(err.retryAfterMs).toBe(10);
    expect(err.userMessage).toContain('rate limited');
    expect(fake.messageRequests()).toHaveLength(3);
  });

  it('tells an answered outage (529) from one where the API was not reached', async () => {
    for (let i = 0; i < 3; i++) fake.script(httpError(529, 'overloaded_error', { retryAfter: '0.01' }));
    const answered = await failure(builderFor(fake).build(buildRequest()));
    expect(answered).toMatchObject({ code: 'ERR_LLM_UNAVAILABLE', kind: 'unavailable', reached: true });
    // A port nothing listens on: the request never reaches an API.
    const closed = await new FakeAnthropic().start();
    const url = closed.url;
    await closed.stop();
    const unreached = await failure(builderFor(fake, { baseURL: url, maxRetries: 0 }).build(buildRequest()));
    expect(unreached).toMatchObject({ code: 'ERR_LLM_UNAVAILABLE', kind: 'unavailable', reached: false });
  });

  it('does not retry a spend limit (the SDK retries the 429 itself, the job must not)', async () => {
    for (let i = 0; i < 3; i++) {
      fake.script(
        httpError(429, 'rate_limit_error', { retryAfter: '0.01', errorCode: 'enforced_spend_limit_reached' }),
      );
    }
    const err = await failure(builderFor(fake).build(buildRequest()));
    expect(err).toMatchObject({ code: 'ERR_LLM_AUTH', retryable: false });
    expect(err.userMessage).toContain('spending limit');
  });

  it('ends at once on an invalid key: ERR_LLM_AUTH, no retries, the key in no message', async () => {
    const secret = 'sk-ant-wrong-key-1234567890';
    const err = await failure(builderFor(fake, { apiKey: secret }).build(buildRequest()));
    expect(err).toMatchObject({ code: 'ERR_LLM_AUTH', kind: 'auth', retryable: false });
    expect(err.userMessage).toContain('rejected this server’s API key');
    expect(`${err.message} ${err.userMessage}`).not.toContain(secret);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]!.authorized).toBe(false);
    expect(fake.pending).toBe(0);
  });

  it('says when the model does not exist', async () => {
    const err = await failure(builderFor(fake).build(buildRequest({ model: 'claude-nonexistent-1' })));
    expect(err).toMatchObject({ code: 'ERR_BUILD_FAILED', retryable: false });
    expect(err.userMessage).toContain('claude-nonexistent-1');
  });
});

describe('Claude builder: streams that break off', () => {
  it('restarts the turn after an error event mid-stream, keeping nothing of the broken answer', async () => {
    fake.script(
      message([writeFile('stale.js', 'half'), ...app()], { break: { kind: 'error', afterEvents: 8 } }),
      done,
    );
    const request = buildRequest();
    const result = await builderFor(fake).build(request);
    expect(result.files.map((f) => f.path)).toEqual(['package.json', 'server.js']);
    const [broken, retried] = fake.messageRequests();
    expect(retried?.body?.messages).toEqual(broken?.body?.messages);
    expect(request.progress.map((p) => p.detail)).toContain('the AI service broke off; trying again');
  });

  it('restarts after a cut connection and after a stream that ends without message_stop', async () => {
    fake.script(
      message(app(), { break: { kind: 'cut', afterEvents: 5 } }),
      message(app(), { break: { kind: 'end', afterEvents: 12 } }),
      done,
    );
    const result = await builderFor(fake).build(buildRequest());
    expect(result.files).toHaveLength(2);
    // Each restart is ours (a new request), not an HTTP-level retry of the SDK.
    expect(fake.messageRequests().map((r) => r.retryCount)).toEqual([0, 0, 0]);
  });

  it('never takes a finish from a cut stream as a finished app', async () => {
    fake.script(
      message(app()),
      // The finish call streams completely, then the connection drops before message_stop.
      message([finish('App', 'An app.')], { break: { kind: 'cut', afterEvents: 6 } }),
      message([finish('App', 'An app.')], { break: { kind: 'cut', afterEvents: 6 } }),
      message([finish('App', 'An app.')], { break: { kind: 'cut', afterEvents: 6 } }),
    );
    const err = await failure(builderFor(fake).build(buildRequest()));
    expect(err).toMatchObject({ code: 'ERR_LLM_UNAVAILABLE', retryable: true });
    expect(err.userMessage).toContain('kept breaking off');
    // One turn, then the finish turn and two restarts of it.
    expect(fake.messageRequests().map((r) => r.retryCount)).toEqual([0, 0, 0, 0]);
  });

  it('treats a stream that goes quiet as broken', async () => {
    fake.script(message(app(), { break: { kind: 'stall', afterEvents: 4 } }), done);
    const started = Date.now();
    const result = await builderFor(fake, { streamIdleTimeoutMs: 200 }).build(buildRequest());
    expect(result.files).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('answers a malformed tool input with an error result, and takes the corrected call', async () => {
    fake.script(
      message([
        { type: 'tool_use_raw', name: 'write_file', json: '{"path": "server.js", "content": "const x = ' },
        ...app(),
      ]),
      (req) => {
        const last = (req.body!.messages as { content: { is_error?: boolean; content?: string }[] }[]).at(
          -1,
        )!;
        expect(last.content[0]).toMatchObject({
          is_error: true,
          content: expect.stringContaining('not valid JSON'),
        });
        return message([finish('App', 'An app.')]);
      },
    );
    const result = await builderFor(fake).build(buildRequest());
    // The broken call wrote nothing: server.js is the one from the valid call.
    expect(result.files.find((f) => f.path === 'server.js')?.content).toBe(nodeApp('App')[1]!.content);
  });
});

describe('Claude builder: budgets and limits', () => {
  it('stops at the output token budget and says so', async () => {
    fake.script(message([writeFile('server.js', 'x'.repeat(4000))]));
    const err = await failure(
      builderFor(fake).build(buildRequest({ budget: { maxOutputTokens: 300, wallTimeMs: 30_000 } })),
    );
    expect(err).toMatchObject({ code: 'ERR_BUILD_BUDGET', kind: 'budget', retryable: false });
    expect(err.userMessage).toContain('output budget of 300 tokens');
    expect(fake.messageRequests()[0]?.body?.max_tokens).toBe(300);
  });

  it('counts tokens across turns against the budget', async () => {
    fake.script(
      message(app(), { outputTokens: 600 }),
      message([writeFile('a.js', '1')], { outputTokens: 300 }),
    );
    const err = await failure(
      builderFor(fake).build(buildRequest({ budget: { maxOutputTokens: 900, wallTimeMs: 30_000 } })),
    );
    expect(err.code).toBe('ERR_BUILD_BUDGET');
    expect(fake.messageRequests().map((r) => r.body?.max_tokens)).toEqual([900, 300]);
  });

  it('stops at the wall-time budget, in the middle of a stream', async () => {
    fake.script(message(app(), { break: { kind: 'stall', afterEvents: 4 } }));
    const started = Date.now();
    const err = await failure(
      builderFor(fake, { streamIdleTimeoutMs: 10_000 }).build(
        buildRequest({ budget: { maxOutputTokens: 32_000, wallTimeMs: 500 } }),
      ),
    );
    expect(err).toMatchObject({ code: 'ERR_BUILD_BUDGET' });
    expect(err.userMessage).toContain('time limit of 1 s');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('stops when the request is cancelled', async () => {
    const controller = new AbortController();
    fake.script(message(app(), { break: { kind: 'stall', afterEvents: 4 } }));
    const building = builderFor(fake).build(buildRequest({ signal: controller.signal }));
    setTimeout(() => controller.abort(new SpawnError('ERR_BUILD_TIMEOUT')), 100);
    const err = await failure(building);
    expect(err.code).toBe('ERR_BUILD_TIMEOUT');
  });

  it('caps the number of turns', async () => {
    for (let i = 0; i < 3; i++) fake.script(message([writeFile(`f${i}.js`, 'x')]));
    const err = await failure(builderFor(fake, { maxTurns: 3 }).build(buildRequest()));
    expect(err).toMatchObject({ code: 'ERR_BUILD_FAILED' });
    expect(err.userMessage).toContain('within 3 steps');
  });

  it('nudges a model that stops without tools once, then fails', async () => {
    fake.script(message([text('Here is your app!')]), message([text('Done.')]));
    const err = await failure(builderFor(fake).build(buildRequest()));
    expect(err.userMessage).toContain('stopped before finishing');
    const second = fake.messageRequests()[1]!;
    expect(JSON.stringify(second.body?.messages)).toContain('write_file');
  });
});
