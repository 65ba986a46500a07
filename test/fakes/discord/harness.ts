import { expect } from 'vitest';
import type { Roles } from '../../../src/app.js';
import { startTestApp, type TestApp, until } from '../../helpers/app.js';
import { type ReadyLink, readReady } from '../../helpers/ready.js';
import { FakeDiscord, type FakeDiscordOptions } from './server.js';
import type { Embed, FakeMessage } from './state.js';

export { FakeDiscord } from './server.js';
export type { Embed, FakeChannel, FakeInteraction, FakeMessage, FakeUser } from './state.js';

export interface DiscordWorld {
  fake: FakeDiscord;
  t: TestApp;
  stop(): Promise<void>;
}

/** The environment that points the real app at a fake Discord. */
export function discordEnv(fake: FakeDiscord): Record<string, string> {
  return {
    DISCORD_BOT_TOKEN: fake.botToken,
    DISCORD_APPLICATION_ID: fake.applicationId,
    DISCORD_PUBLIC_KEY: fake.signer.publicKeyHex,
    DISCORD_API_URL: fake.apiUrl,
  };
}

/**
 * A fake Discord and the real app (web + worker, and the gateway with `bot: true`) talking to
 * it; `prepare` adds guilds and channels before the gateway connects. This file adds no rule
 * of Discord's: those live in the fakes it starts, each citing its page (the gateway's Hello,
 * which `silent` withholds: https://discord.com/developers/docs/events/gateway#hello-event).
 */
export async function startDiscordWorld(
  options: {
    roles?: Partial<Roles>;
    env?: Record<string, string>;
    fake?: FakeDiscordOptions;
    prepare?: (fake: FakeDiscord) => void;
  } = {},
): Promise<DiscordWorld> {
  const fake = await new FakeDiscord(options.fake).start();
  options.prepare?.(fake);
  let t: TestApp;
  try {
    t = await startTestApp({ ...discordEnv(fake), ...options.env }, options.roles ?? {});
  } catch (e) {
    await fake.stop();
    throw e;
  }
  fake.signer.target = `${t.url}/discord/interactions`;
  return {
    fake,
    t,
    async stop() {
      await t.stop();
      await fake.stop();
    },
  };
}

/** The message's embed as it is now. */
export function embedOf(m: FakeMessage | undefined): Embed | undefined {
  return m?.embeds[0];
}

export function field(embed: Embed | undefined, name: string): string | undefined {
  return embed?.fields?.find((f) => f.name === name)?.value;
}

/** Link buttons (style 5) of a message. */
export function links(m: FakeMessage | undefined): string[] {
  return (m?.components ?? []).flatMap((row) =>
    row.components.filter((b) => b.style === 5).map((b) => b.url!),
  );
}

export function customIds(m: FakeMessage | undefined): string[] {
  return (m?.components ?? []).flatMap((row) =>
    row.components.flatMap((b) => (b.custom_id ? [b.custom_id] : [])),
  );
}

/** Bot messages of a channel whose embed title matches. */
export function botMessages(fake: FakeDiscord, channelId: string, title?: RegExp): FakeMessage[] {
  return fake
    .messagesIn(channelId)
    .filter((m) => m.author.id === fake.botUser.id && (!title || title.test(embedOf(m)?.title ?? '')));
}

/** Waits for the "<title> is ready" result message in a channel (the `n`th one). */
export function readyMessage(
  fake: FakeDiscord,
  channelId: string,
  n = 1,
  timeoutMs = 30_000,
): Promise<FakeMessage> {
  return until(
    `result message #${n} in ${channelId}`,
    async () => botMessages(fake, channelId, / is ready$/)[n - 1],
    timeoutMs,
  );
}

/** The stages a status message went through, from its history. */
export function stagesOf(m: FakeMessage): string[] {
  const stages = m.history
    .map((h) => field(h.embeds[0], 'Stage'))
    .filter((s): s is string => s !== undefined);
  return stages.filter((s, i) => s !== stages[i - 1]);
}

/** The percentages a status message showed, from its history. */
export function percentsOf(m: FakeMessage): number[] {
  return m.history
    .map((h) => /(\d+)%$/.exec(field(h.embeds[0], 'Progress') ?? '')?.[1])
    .filter((p): p is string => p !== undefined)
    .map(Number);
}

/** Bot messages that reply to a given message. */
export function repliesTo(fake: FakeDiscord, message: FakeMessage): FakeMessage[] {
  return fake.messagesIn(message.channel_id).filter((m) => m.message_reference?.message_id === message.id);
}

/** The gateway's state as /ready (200, also when degraded) reports it. */
export async function gatewayStatus(w: DiscordWorld): Promise<ReadyLink | undefined> {
  const { status, body } = await readReady(w.t.url);
  expect(status).toBe(200);
  return body.platforms?.discord;
}
