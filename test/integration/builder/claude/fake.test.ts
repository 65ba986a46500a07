import Anthropic, { AuthenticationError, BadRequestError } from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeAnthropic, finish, message, text, writeFile } from '../../../fakes/anthropic/server.js';

/** The fake itself, driven through the official SDK: it must speak the API as the SDK expects. */
let fake: FakeAnthropic;
let client: Anthropic;
beforeAll(async () => {
  fake = await new FakeAnthropic({ minCacheTokens: 50 }).start();
  client = new Anthropic({ apiKey: 'test-key', baseURL: fake.url, maxRetries: 0, timeout: 5000 });
});
afterAll(async () => {
  await fake?.stop();
});
beforeEach(() => fake.reset());

const tools = [
  { name: 'write_file', input_schema: { type: 'object' as const, properties: {} } },
  { name: 'finish', input_schema: { type: 'object' as const, properties: {} } },
];

describe('fake Anthropic API', () => {
  it('answers JSON without stream', async () => {
    fake.script(message([text('hello'), finish('T', 's')]));
    const msg = await client.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 100,
      tools,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(msg.stop_reason).toBe('tool_use');
    // Sonnet 5.5 thinks by default: a thinking block (text omitted, signed) comes first.
    expect(msg.content[0]).toMatchObject({ type: 'thinking', thinking: '', signature: expect.any(String) });
    expect(msg.content[1]).toMatchObject({ type: 'text', text: 'hello' });
    expect(msg.content[2]).toMatchObject({
      type: 'tool_use',
      name: 'finish',
      input: { title: 'T', summary: 's' },
    });
    expect(msg.usage.input_tokens).toBeGreaterThan(0);
  });

  it('streams tool input as input_json_delta pieces that the SDK assembles', async () => {
    const content = 'x'.repeat(500);
    fake.script(message([writeFile('a.js', content)], { chunkChars: 37 }));
    const stream = client.messages.stream({
      model: 'claude-sonnet-5-5',
      max_tokens: 1000,
      tools,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const pieces: string[] = [];
    stream.on('inputJson', (partial) => pieces.push(partial));
    const final = await stream.finalMessage();
    expect(pieces.length).toBeGreaterThan(10);
    expect(pieces[0]).toBe('');
    expect(final.content.find((b) => b.type === 'tool_use')).toMatchObject({
      input: { path: 'a.js', content },
    });
    expect(final.stop_reason).toBe('tool_use');
    expect(final.usage.output_tokens).toBeGreaterThan(100);
  });

  it('cuts output at max_tokens', async () => {
    fake.script(message([writeFile('a.js', 'x'.repeat(4000))]));
    const final = await client.messages
      .stream({
        model: 'claude-sonnet-5-5',
        max_tokens: 50,
        tools,
        messages: [{ role: 'user', content: 'hi' }],
      })
      .finalMessage();
    expect(final.stop_reason).toBe('max_tokens');
    expect(final.usage.output_tokens).toBe(50);
  });

  it('refuses a wrong key with 401 and accepts x-api-key as well as Bearer', async () => {
    const wrong = new Anthropic({ apiKey: 'nope', baseURL: fake.url, maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toBeInstanceOf(AuthenticationError);
    const res = await fetch(`${fake.url}/v1/models?limit=1`, {
      headers: { 'x-api-key': 'test-key', 'anthropic-version': '2023-06-01' },
    });
    expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(1);
  });

  it('refuses tool_use without a tool_result after it, as the API does', async () => {
    await expect(
      client.messages.create({
        model: 'claude-sonnet-5-5',
        max_tokens: 10,
        tools,
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'finish', input: {} }] },
          { role: 'user', content: 'go on' },
        ],
      }),
    ).rejects.toBeInstanceOf(BadRequestError);
    expect(fake.pending).toBe(0);
  });

  it('writes a cached prefix once and reads it back', async () => {
    fake.script(message([text('a')]), message([text('b')]));
    const request = {
      model: 'claude-sonnet-5-5',
      max_tokens: 10,
      system: [
        { type: 'text' as const, text: 'y'.repeat(1000), cache_control: { type: 'ephemeral' as const } },
      ],
      messages: [{ role: 'user' as const, content: 'hi' }],
    };
    const first = await client.messages.create(request);
    const second = await client.messages.create(request);
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(200);
    expect(first.usage.cache_read_input_tokens).toBe(0);
    expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    expect(second.usage.cache_creation_input_tokens).toBe(0);
  });
});
