import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROMPT_VERSION } from '../../../../src/builder/claude/index.js';
import { costMicroUsd } from '../../../../src/builder/claude/usage.js';
import {
  deleteFile,
  FakeAnthropic,
  finish,
  message,
  nodeApp,
  redactedThinking,
  text,
  thinking,
  writeFile,
} from '../../../fakes/anthropic/server.js';
import { until } from '../../../helpers/app.js';
import { builderFor, buildRequest, PRICES } from './setup.js';

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await new FakeAnthropic().start();
});
afterAll(async () => {
  await fake?.stop();
});
beforeEach(() => fake.reset());

const [pkg, server] = nodeApp('Tip Calculator');
const css = { path: 'public/style.css', content: 'body { font-family: sans-serif; }\n' };

describe('Claude builder: writing an app', () => {
  it('turns the streamed tool calls into files, one progress event per file, usage and cost', async () => {
    fake.script(
      message([
        text('Writing the app.'),
        writeFile(pkg!.path, pkg!.content, 3),
        writeFile(server!.path, server!.content, 3),
        writeFile(css.path, css.content, 3),
      ]),
      message([finish('Tip Calculator', 'A tip calculator that splits the bill.')]),
    );
    const request = buildRequest();
    const result = await builderFor(fake).build(request);

    expect(result.files.map((f) => f.path)).toEqual(['package.json', 'public/style.css', 'server.js']);
    expect(result.files.find((f) => f.path === 'server.js')?.content).toBe(server!.content);
    expect(result).toMatchObject({
      title: 'Tip Calculator',
      summary: 'A tip calculator that splits the bill.',
      model: 'claude-sonnet-5-5',
      promptVersion: PROMPT_VERSION,
      findings: [],
    });
    const details = request.progress.map((p) => p.detail);
    expect(details).toEqual(
      expect.arrayContaining([
        'wrote package.json (1/3)',
        'wrote server.js (2/3)',
        'wrote public/style.css (3/3)',
      ]),
    );
    const percents = request.progress.map((p) => p.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(percents.at(-1)).toBe(100);

    // Usage is the sum over both requests, as the fake reported them; cost from the prices.
    const [first, second] = fake.messageRequests();
    expect(first?.body?.stream).toBe(true);
    const { inputTokens, cacheReadTokens, cacheWriteTokens } = result.usage;
    expect(inputTokens + cacheReadTokens + cacheWriteTokens).toBeGreaterThan(1000); // system prompt and tools
    expect(result.usage.outputTokens).toBeGreaterThan(Math.ceil(server!.content.length / 4));
    expect(result.usage.costMicroUsd).toBe(costMicroUsd(result.usage, PRICES));
    expect(result.usage.costMicroUsd).toBeGreaterThan(0);

    // The second request carries the first answer and a result for every tool call.
    const messages = second?.body?.messages as {
      role: string;
      content: { type: string; is_error?: boolean }[];
    }[];
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(messages[2]!.content.filter((b) => b.type === 'tool_result')).toHaveLength(3);
    expect(messages[2]!.content.some((b) => b.is_error)).toBe(false);
  });

  it('sends the key, the model, the tools and a cached system prompt', async () => {
    fake.script(message([...nodeApp('X').map((f) => writeFile(f.path, f.content)), finish('X', 'x')]));
    await builderFor(fake, { model: 'claude-haiku-5-5' }).build(buildRequest({ model: 'claude-opus-5-5' }));
    const [req] = fake.messageRequests();
    expect(req?.authorized).toBe(true);
    expect(req?.headers['anthropic-version']).toBeDefined();
    const body = req!.body!;
    expect(body.model).toBe('claude-opus-5-5'); // the plan's model wins over the default
    expect((body.tools as { name: string }[]).map((t) => t.name)).toEqual([
      'write_file',
      'delete_file',
      'finish',
    ]);
    expect((body.system as { cache_control?: unknown }[])[0]?.cache_control).toEqual({ type: 'ephemeral' });
    expect(body.max_tokens).toBeLessThanOrEqual(32_000);
    expect(JSON.stringify(body.messages)).toContain('a tip calculator');
    // A model the table does not know gets a shape valid for current models: no forced tool
    // choice, no thinking or effort fields (its own defaults), no sampling parameters.
    expect(body.tool_choice).toEqual({ type: 'auto' });
    expect(body).not.toHaveProperty('thinking');
    expect(body).not.toHaveProperty('output_config');
    expect(body).not.toHaveProperty('temperature');
  });

  it('sends a known model its own shape: adaptive thinking and the plan’s effort, priced from its table row', async () => {
    fake.script(
      message([...nodeApp('X').map((f) => writeFile(f.path, f.content)), finish('X', 'x')], {
        outputTokens: 1000,
        inputUsage: { inputTokens: 2000, cacheReadTokens: 0, cacheWriteTokens: 0 },
      }),
    );
    const result = await builderFor(fake, { effort: 'high' }).build(
      buildRequest({ model: 'claude-haiku-5-5', effort: 'low' }),
    );
    const body = fake.messageRequests()[0]!.body!;
    expect(body).toMatchObject({
      model: 'claude-haiku-5-5',
      tool_choice: { type: 'auto' },
      thinking: { type: 'adaptive' },
      output_config: { effort: 'low' },
    });
    // Claude Haiku 5.5 for prompts up to 100,000 tokens: $0.10 input, $0.50 output per million
    // (https://platform.claude.com/docs/en/models/haiku-5-5/overview).
    expect(result.usage.costMicroUsd).toBe(2000 * 0.1 + 1000 * 0.5);
  });

  it('keeps the card moving while the model thinks, and returns every thinking block unmodified', async () => {
    fake.script(
      message([thinking('First the server.'), ...nodeApp('T').map((f) => writeFile(f.path, f.content, 2))]),
      message([thinking('Between tools: the files are written.'), redactedThinking(), finish('T', 't')]),
    );
    const request = buildRequest();
    await builderFor(fake).build(request);
    expect(request.progress.map((p) => p.detail)).toContain('Claude is thinking');
    const [, second] = fake.messageRequests();
    const assistant = (second!.body!.messages as { role: string; content: { type: string }[] }[])[1]!;
    expect(assistant.content.map((b) => b.type)).toEqual(['thinking', 'tool_use', 'tool_use']);
  });

  it('keeps counting on the card while a thinking block is still streaming', async () => {
    const request = buildRequest();
    const counted = () => request.progress.some((p) => /^Claude is thinking \(\d+ s\)$/.test(p.detail));
    fake.script(
      message(
        [
          thinking('A long think.'),
          ...nodeApp('T').map((f) => writeFile(f.path, f.content)),
          finish('T', 't'),
        ],
        {
          // The model goes on thinking until the card has moved on its own.
          holdThinking: async () => {
            await until('the card counts while the model thinks', async () => counted());
          },
        },
      ),
    );
    await builderFor(fake, { thinkingTickMs: 20 }).build(request);
    expect(counted()).toBe(true);
  });

  it('finishes when the model ends its turn with a working app but without calling finish', async () => {
    fake.script(
      message(nodeApp('Quiet').map((f) => writeFile(f.path, f.content))),
      message([text('The tip calculator is ready.')], { stopReason: 'end_turn' }),
    );
    const result = await builderFor(fake).build(buildRequest());
    expect(result.files.map((f) => f.path)).toEqual(['package.json', 'server.js']);
    expect(result.summary).toBe('The tip calculator is ready.');
    expect(result.title).toBe('Tip Calculator');
    expect(fake.messageRequests()).toHaveLength(2);
  });

  it('names the default model in its label', () => {
    expect(builderFor(fake).label).toBe('Claude (claude-sonnet-5-5)');
    expect(builderFor(fake).name).toBe('claude');
  });

  it('an iteration sends the previous files under cache_control, and later turns read the cache', async () => {
    const previousFiles = [...nodeApp('Tip Calculator'), css];
    const changed = nodeApp('Tip Calculator', '<h1>Tip Calculator</h1><p>dark</p>')[1]!;
    fake.script(
      message([writeFile(changed.path, changed.content, 1), deleteFile(css.path)]),
      message([finish('Tip Calculator', 'Dark mode, no stylesheet.')]),
    );
    const request = buildRequest({
      prompt: 'make it dark',
      originalPrompt: 'a tip calculator',
      previousFiles,
      buildId: 'build-2',
    });
    const result = await builderFor(fake).build(request);
    expect(result.files.map((f) => f.path)).toEqual(['package.json', 'server.js']);
    expect(result.files.find((f) => f.path === 'server.js')?.content).toContain('dark');

    const [first] = fake.messageRequests();
    const firstMessage = (
      first!.body!.messages as { content: { type: string; text: string; cache_control?: unknown }[] }[]
    )[0]!;
    const filesBlock = firstMessage.content[0]!;
    expect(filesBlock.cache_control).toEqual({ type: 'ephemeral' });
    for (const f of previousFiles) expect(filesBlock.text).toContain(f.content);
    expect(filesBlock.text).toContain('a tip calculator');
    expect(firstMessage.content[1]!.text).toContain('make it dark');
    expect(firstMessage.content[1]!.cache_control).toEqual({ type: 'ephemeral' });

    // The second turn repeats the prefix: read from the cache, billed at the cache rate.
    expect(result.usage.cacheReadTokens).toBeGreaterThan(0);
    expect(result.usage.cacheWriteTokens).toBeGreaterThan(0);
    const uncached = {
      ...result.usage,
      inputTokens: result.usage.inputTokens + result.usage.cacheReadTokens,
      cacheReadTokens: 0,
    };
    expect(result.usage.costMicroUsd).toBeLessThan(costMicroUsd(uncached, PRICES));
  });

  it('serves a static site with a tiny server of ours', async () => {
    fake.script(
      message([
        writeFile('index.html', '<!doctype html><title>Hi</title><h1>Hi</h1>'),
        finish('Hello Page', 'A static greeting page.'),
      ]),
    );
    const result = await builderFor(fake).build(buildRequest());
    expect(result.files.map((f) => f.path).sort()).toEqual(['index.html', 'package.json', 'server.js']);
    expect(JSON.parse(result.files.find((f) => f.path === 'package.json')!.content).scripts.start).toBe(
      'node server.js',
    );
  });
});

describe('Claude builder: validation', () => {
  it('refuses a path outside the app, records it, and keeps going', async () => {
    fake.script(
      message([
        writeFile('../../etc/passwd', 'root:x:0:0'),
        writeFile('/etc/hosts', 'x'),
        ...nodeApp('A').map((f) => writeFile(f.path, f.content)),
      ]),
      message([finish('A', 'a')]),
    );
    const request = buildRequest();
    const result = await builderFor(fake).build(request);
    expect(result.files.map((f) => f.path)).toEqual(['package.json', 'server.js']);
    expect(request.progress.map((p) => p.detail).filter((d) => d.startsWith('wrote'))).toEqual([
      'wrote package.json (1)',
      'wrote server.js (2)',
    ]);
    expect(result.findings).toEqual([
      expect.objectContaining({ rule: 'unsafe-path', path: '../../etc/passwd' }),
      expect.objectContaining({ rule: 'unsafe-path', path: '/etc/hosts' }),
    ]);
    const results = (
      fake.messageRequests()[1]!.body!.messages as { content: { is_error?: boolean; content?: string }[] }[]
    )[2]!.content;
    expect(results[0]).toMatchObject({ is_error: true, content: expect.stringContaining('".." segment') });
    expect(results[1]).toMatchObject({ is_error: true, content: expect.stringContaining('absolute') });
  });

  it('asks once for a fix when finish finds problems, and takes the fixed app', async () => {
    fake.script(message([writeFile('server.js', nodeApp('A')[1]!.content), finish('A', 'a')]), (req) => {
      const last = (
        req.body!.messages as { content: { type: string; content?: string; is_error?: boolean }[] }[]
      ).at(-1)!;
      const finishResult = last.content.find((b) => b.is_error && b.content?.includes('did not pass'));
      if (!finishResult?.content?.includes('package.json is missing')) throw new Error('no fix request');
      return message([writeFile('package.json', nodeApp('A')[0]!.content), finish('A', 'a')]);
    });
    const request = buildRequest();
    const result = await builderFor(fake).build(request);
    expect(result.files.map((f) => f.path)).toEqual(['package.json', 'server.js']);
    expect(request.progress.map((p) => p.detail)).toContain('fixing problems found by the checks');
  });

  it('fails with the reason when the fix does not pass either', async () => {
    const spawning = "const { exec } = require('node:child_process');\nexec('ls');\n";
    fake.script(
      message([
        ...nodeApp('A').map((f) => writeFile(f.path, f.content)),
        writeFile('lib.js', spawning),
        finish('A', 'a'),
      ]),
      message([finish('A', 'a')]),
    );
    const err = await builderFor(fake)
      .build(buildRequest())
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'ERR_BUILD_INVALID',
      kind: 'invalid',
      userMessage: expect.stringContaining('lib.js line 1 starts other processes'),
    });
    expect(fake.messageRequests()).toHaveLength(2);
  });

  it('records a non-blocking finding (reading the environment) on a passing build', async () => {
    const [p, s] = nodeApp('A');
    fake.script(
      message([
        writeFile(p!.path, p!.content),
        writeFile(s!.path, `${s!.content}const name = process.env.GREETING || 'hi';\n`),
        finish('A', 'a'),
      ]),
    );
    const result = await builderFor(fake).build(buildRequest());
    expect(result.findings).toEqual([
      expect.objectContaining({ rule: 'env-read', path: 'server.js', line: 10 }),
    ]);
  });
});
