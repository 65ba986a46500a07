import Anthropic, { BadRequestError } from '@anthropic-ai/sdk';
import type { MessageCreateParamsNonStreaming, MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CLAUDE_MODEL } from '../../../../src/builder/claude/models.js';
import {
  FakeAnthropic,
  finish,
  message,
  redactedThinking,
  text,
  thinking,
  writeFile,
} from '../../../fakes/anthropic/server.js';

/**
 * The fake refuses what today's API refuses for the default model, with the real error shape.
 * Each request is sent through the official SDK; a 400 is not retried, so nothing is consumed
 * from the script by a refused request.
 */
let fake: FakeAnthropic;
let client: Anthropic;
beforeAll(async () => {
  fake = await new FakeAnthropic().start();
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
const base: MessageCreateParamsNonStreaming = {
  model: DEFAULT_CLAUDE_MODEL,
  max_tokens: 1000,
  tools,
  tool_choice: { type: 'auto' },
  thinking: { type: 'adaptive' },
  messages: [{ role: 'user', content: 'build a page' }],
};

async function refusal(params: object): Promise<BadRequestError> {
  const e = await client.messages.create(params as MessageCreateParamsNonStreaming).then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof BadRequestError)) throw new Error(`expected a 400, got ${String(e)}`);
  expect(e.status).toBe(400);
  expect(e.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  return e;
}

/** A first turn answered by the fake, and the request that returns its tool result. */
async function firstTurn(...blocks: Parameters<typeof message>[0]) {
  fake.script(message(blocks));
  const answer = await client.messages.create(base);
  const toolUse = answer.content.find((b) => b.type === 'tool_use')!;
  const next = (assistant: MessageParam['content']): MessageCreateParamsNonStreaming => ({
    ...base,
    messages: [
      ...base.messages,
      { role: 'assistant', content: assistant },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: 'Wrote a.js.' }] },
    ],
  });
  return { answer, next };
}

describe('fake Anthropic: the default model’s rules (Claude Sonnet 5.5)', () => {
  it('has the error shape of the API, as a raw client sees it', async () => {
    const res = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': 'test-key',
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ ...base, tool_choice: { type: 'any' } }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('tool_choice') },
    });
  });

  it('refuses forced tool choice (any and tool)', async () => {
    await refusal({ ...base, tool_choice: { type: 'any' } });
    await refusal({ ...base, tool_choice: { type: 'tool', name: 'finish' } });
  });

  it('refuses thinking disabled (pointing to between_tools) and manual extended thinking', async () => {
    const disabled = await refusal({ ...base, thinking: { type: 'disabled' } });
    expect(disabled.message).toContain('between_tools');
    await refusal({ ...base, thinking: { type: 'enabled', budget_tokens: 2048 } });
    // between_tools only up to high effort.
    await refusal({ ...base, thinking: { type: 'between_tools' }, output_config: { effort: 'max' } });
  });

  it('refuses non-default sampling parameters and an assistant prefill', async () => {
    await refusal({ ...base, temperature: 0.2 });
    await refusal({ ...base, top_p: 0.9 });
    await refusal({ ...base, top_k: 40 });
    await refusal({ ...base, messages: [...base.messages, { role: 'assistant', content: 'Here is' }] });
  });

  it('refuses a turn whose thinking block was dropped, changed or moved to another model', async () => {
    const { answer, next } = await firstTurn(thinking('Plan: one file.'), writeFile('a.js', 'x'));
    expect(answer.content.map((b) => b.type)).toEqual(['thinking', 'tool_use']);
    const [think, toolUse] = answer.content as [Anthropic.ThinkingBlock, Anthropic.ToolUseBlock];
    const rebuilt = [{ type: 'tool_use' as const, id: toolUse.id, name: toolUse.name, input: toolUse.input }];

    const dropped = await refusal(next(rebuilt));
    expect(dropped.message).toContain('thinking blocks of this assistant turn');
    await refusal(next([{ ...think, thinking: 'I changed my mind.' }, ...rebuilt]));
    await refusal(next([{ ...think, signature: `${think.signature}x` }, ...rebuilt]));
    await refusal({ ...next([think, ...rebuilt]), model: 'claude-opus-5-5' });
    // The conversation before the block changed: it is bound to the old one.
    const altered = next([think, ...rebuilt]);
    await refusal({
      ...altered,
      messages: [{ role: 'user', content: 'build a different page' }, ...altered.messages.slice(1)],
    });

    // The same turn, returned exactly as received, is accepted.
    fake.script(message([finish('A', 'a')]));
    const ok = await client.messages.create(next([think, ...rebuilt]));
    expect(ok.stop_reason).toBe('tool_use');
  });

  it('refuses a turn whose redacted thinking was filtered out', async () => {
    const { answer, next } = await firstTurn(thinking('Plan.'), redactedThinking(), writeFile('a.js', 'x'));
    expect(answer.content.map((b) => b.type)).toEqual(['thinking', 'redacted_thinking', 'tool_use']);
    const kept = answer.content.filter((b) => b.type !== 'redacted_thinking');
    await refusal(next(kept as MessageParam['content']));
    fake.script(message([text('done')]));
    await client.messages.create(next(answer.content as MessageParam['content']));
  });

  it('streams thinking with its signature: text only with display summarized', async () => {
    fake.script(message([thinking('Thinking out loud about the layout.'), writeFile('a.js', 'x')]));
    const summarized = await client.messages
      .stream({ ...base, thinking: { type: 'adaptive', display: 'summarized' } })
      .finalMessage();
    expect(summarized.content[0]).toMatchObject({
      type: 'thinking',
      thinking: 'Thinking out loud about the layout.',
      signature: expect.stringMatching(/\S{20,}/),
    });
    fake.script(message([thinking('Hidden.'), writeFile('a.js', 'x')]));
    const omitted = await client.messages.stream(base).finalMessage();
    expect(omitted.content[0]).toMatchObject({
      type: 'thinking',
      thinking: '',
      signature: expect.any(String),
    });
    // Thinking tokens are billed as output whether or not they are shown.
    expect(omitted.usage.output_tokens).toBeGreaterThan(1);
  });
});
