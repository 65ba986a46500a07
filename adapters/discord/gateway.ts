import { Client, Events, GatewayIntentBits, type Message, Partials } from 'discord.js';
import type { Connection } from '../../src/core/adapter.js';
import type { ConversationHandler } from '../../src/core/conversation.js';
import { type ConversationRef, conversationKey } from '../../src/core/platform.js';
import type { ReplyView } from '../../src/core/view.js';
import type { Repos } from '../../src/db/repos/index.js';
import { StartupError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { withRateLimitRetry } from './retry.js';
import type { TaskSet } from './tasks.js';
import {
  DISCORD_LOGIN_TIMEOUT_MS,
  DISCORD_REQUEST_RETRIES,
  DISCORD_REQUEST_TIMEOUT_MS,
  DISCORD_WAIT_GUILD_TIMEOUT_MS,
  type DiscordOutbound,
} from './types.js';

export interface GatewayDeps {
  readonly token: string;
  readonly apiUrl: string;
  readonly repos: Repos;
  readonly conversation: ConversationHandler;
  readonly outbound: DiscordOutbound;
  readonly tasks: TaskSet;
  readonly logger: Logger;
}

/** Close codes after which reconnecting cannot help; each with what the operator should do. */
const FATAL_CLOSE: Record<number, string> = {
  4004: 'DISCORD_BOT_TOKEN: Discord rejected the bot token (reset it under Bot in the Developer Portal)',
  4013: 'Discord gateway: the requested intents are invalid',
  4014: 'Discord gateway: enable "Message Content Intent" under Bot → Privileged Gateway Intents in the Developer Portal',
};

const FAILED: ReplyView = {
  tone: 'error',
  title: 'Something went wrong',
  text: 'I could not handle that just now. Please try again in a moment.',
};

function stripMentions(content: string, botId: string): string {
  return content.replace(new RegExp(`<@!?${botId}>`, 'g'), ' ').trim();
}

/**
 * The Discord gateway in the `bot` process. A mention in a guild channel or any DM starts (or
 * continues) a conversation; in a session's thread, its owner's messages iterate without a
 * mention. Each message is handled once, by its id, however often it is delivered.
 */
export async function connectGateway(deps: GatewayDeps): Promise<Connection> {
  const { repos, outbound, tasks } = deps;
  const logger = deps.logger.child({ part: 'gateway' });
  const client = new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.MessageContent,
      GatewayIntentBits.DirectMessages,
    ],
    // DM channels are never cached before their first message.
    partials: [Partials.Channel],
    rest: { api: deps.apiUrl, timeout: DISCORD_REQUEST_TIMEOUT_MS, retries: DISCORD_REQUEST_RETRIES },
    waitGuildTimeout: DISCORD_WAIT_GUILD_TIMEOUT_MS,
  });

  /** Who owns the live session of a thread: none, the author, or someone else. */
  async function threadOwner(
    thread: ConversationRef,
    authorId: string,
  ): Promise<'none' | 'author' | 'other'> {
    const session = await repos.sessions.findActiveInConversation(conversationKey(thread));
    if (!session) return 'none';
    const identity = await repos.users.findIdentity('discord', '', authorId);
    return identity?.userId === session.userId ? 'author' : 'other';
  }

  async function conversationOf(message: Message, botId: string): Promise<ConversationRef | undefined> {
    if (!message.inGuild()) return { platform: 'discord', teamId: '', channelId: message.channelId };
    const mentioned = message.mentions.users.has(botId);
    if (message.channel.isThread()) {
      const thread: ConversationRef = {
        platform: 'discord',
        teamId: message.guildId,
        channelId: message.channelId,
      };
      const owner = await threadOwner(thread, message.author.id);
      // In a session's thread its owner iterates without a mention; others are chatting.
      if (owner === 'author') return thread;
      if (!mentioned) return undefined;
      // Someone else's request in that thread is their own app, answered in the thread but
      // kept apart (by the message id) so it does not take the thread's session over.
      return owner === 'other' ? { ...thread, threadId: message.id } : thread;
    }
    if (!mentioned) return undefined;
    // The message id keeps two mentions in one channel apart; the first post opens a thread from it.
    return {
      platform: 'discord',
      teamId: message.guildId,
      channelId: message.channelId,
      threadId: message.id,
      extra: { startMessageId: message.id },
    };
  }

  async function onMessage(message: Message): Promise<void> {
    if (message.author.bot || message.system || message.webhookId) return;
    const botId = client.user?.id;
    if (!botId) return;
    const conversation = await conversationOf(message, botId);
    if (!conversation) return;
    if (!(await repos.inboundEvents.record('discord', message.id))) {
      logger.info({ messageId: message.id }, 'duplicate discord message ignored');
      return;
    }
    const name = message.member?.displayName ?? message.author.globalName ?? message.author.username;
    let replies: readonly ReplyView[];
    try {
      const result = await deps.conversation.handleMessage({
        platform: 'discord',
        // Discord accounts are global: one person is one user in every guild and in DMs.
        teamId: '',
        user: { id: message.author.id, name: name.slice(0, 100) },
        conversation,
        text: stripMentions(message.content, botId),
        idempotencyKey: message.id,
        correlationId: `discord-${message.id}`,
      });
      // A new build: its status card (posted by the worker) is the answer; the rest is said here.
      replies =
        result.spawn && !result.spawn.duplicate ? result.replies.filter((r) => !r.ephemeral) : result.replies;
    } catch (e) {
      logger.error(
        { messageId: message.id, err: e instanceof Error ? e.message : String(e) },
        'message failed',
      );
      replies = [FAILED];
    }
    // A bot cannot whisper outside interactions: every reply is public, as a reply to the message.
    for (const view of replies) {
      await withRateLimitRetry(() => outbound.reply(message.channelId, view, message.id));
    }
  }

  client.on(Events.MessageCreate, (message) => tasks.run('gateway message', () => onMessage(message)));
  let stopping = false;
  client.on(Events.ShardReconnecting, () => {
    if (!stopping) logger.info('gateway reconnecting');
  });
  client.on(Events.ShardResume, (_id, replayed) => logger.info({ replayed }, 'gateway resumed'));
  client.on(Events.Error, (e) => logger.warn({ err: e.message }, 'gateway error'));

  let rejectLogin: ((e: Error) => void) | undefined;
  client.on(Events.ShardDisconnect, (event) => {
    const hint =
      FATAL_CLOSE[event.code] ?? `Discord gateway closed the connection for good (code ${event.code})`;
    logger.error({ code: event.code }, hint);
    rejectLogin?.(new StartupError(hint));
  });

  const ready = new Promise<void>((resolve, reject) => {
    rejectLogin = reject;
    client.once(Events.ClientReady, () => resolve());
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.login(deps.token).then(() => ready),
      ready,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new StartupError(`Discord gateway: not ready after ${DISCORD_LOGIN_TIMEOUT_MS / 1000} s`)),
          DISCORD_LOGIN_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (e) {
    await client.destroy().catch(() => {});
    if (e instanceof StartupError) throw e;
    const code = (e as { code?: unknown }).code;
    if (code === 'TokenInvalid') throw new StartupError(FATAL_CLOSE[4004]!);
    if (code === 'DisallowedIntents') throw new StartupError(FATAL_CLOSE[4014]!);
    throw new StartupError(`Discord gateway: cannot connect (${e instanceof Error ? e.message : String(e)})`);
  } finally {
    clearTimeout(timer);
    rejectLogin = undefined;
  }
  logger.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'discord gateway ready');

  return {
    async stop() {
      stopping = true;
      await client.destroy();
    },
  };
}
