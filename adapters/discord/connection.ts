import { Client, Events, GatewayIntentBits, type Message, Partials } from 'discord.js';
import { SpawnError, StartupError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { InboundQueue } from '../../src/queue/inbound.js';
import type { Connection } from '../contract.js';
import { discordAttachments } from './files.js';
import type { GatewayMessage } from './gateway-messages.js';
import {
  DISCORD_LOGIN_TIMEOUT_MS,
  DISCORD_RECONNECTS_BEFORE_LOST,
  DISCORD_REQUEST_RETRIES,
  DISCORD_REQUEST_TIMEOUT_MS,
  DISCORD_WAIT_GUILD_TIMEOUT_MS,
} from './types.js';

export interface GatewayDeps {
  readonly token: string;
  readonly apiUrl: string;
  /** Every message for us becomes an `inbound` job; the worker runs the conversation. */
  readonly inbound: InboundQueue;
  readonly logger: Logger;
  /** Ends a login that has not reached READY: the client is destroyed and reconnects no more. */
  readonly signal?: AbortSignal;
}

/** Close codes after which reconnecting cannot help; each with what the operator should do. */
const FATAL_CLOSE: Record<number, string> = {
  4004: 'DISCORD_BOT_TOKEN: Discord rejected the bot token (reset it under Bot in the Developer Portal)',
  4013: 'Discord gateway: the requested intents are invalid',
  4014: 'Discord gateway: enable "Message Content Intent" under Bot → Privileged Gateway Intents in the Developer Portal',
};

/** The part of @discordjs/ws that ending a reconnect loop needs. */
interface ShardManager {
  readonly strategy?: { readonly shards?: ReadonlyMap<number, object> };
}

/**
 * `client.destroy()` does not end a reconnect that @discordjs/ws has scheduled: a shard in its
 * half-second wait between attempts is idle, so the destroy passes it by (and forgets it), and
 * it connects again afterwards, every 500 ms, forever, in a client nobody holds. Destroying it
 * once it connects is no cure (it drops the socket's error listener, and the socket's error
 * then ends the process); its next connect is made a no-op instead.
 */
async function destroyClient(client: Client): Promise<void> {
  const manager = (client.ws as unknown as { _ws: ShardManager | null })._ws;
  const shards = [...(manager?.strategy?.shards?.values() ?? [])];
  // Before the destroy: a shard waiting for HELLO that is destroyed schedules a reconnect of
  // its own, 500 ms later, which a slow close handshake would otherwise let through.
  for (const shard of shards) {
    Object.defineProperty(shard, 'internalConnect', { value: async () => {}, configurable: true });
  }
  await client.destroy().catch(() => {});
}

/**
 * The Discord gateway in the `bot` process. A mention in a guild channel or any DM starts (or
 * continues) a conversation; in a session's thread, its owner's messages iterate without a
 * mention. Each message is handled once, by its id, however often it is delivered.
 */
export async function connectGateway(deps: GatewayDeps): Promise<Connection> {
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

  async function onMessage(message: Message): Promise<void> {
    if (message.author.bot || message.system || message.webhookId) return;
    const botId = client.user?.id;
    if (!botId) return;
    const inGuild = message.inGuild();
    const mentioned = message.mentions.users.has(botId);
    // Guild chatter outside threads is not for us; threads are decided by the worker (their owner).
    if (inGuild && !mentioned && !message.channel.isThread()) return;
    const name = message.member?.displayName ?? message.author.globalName ?? message.author.username;
    const reduced: GatewayMessage = {
      id: message.id,
      channelId: message.channelId,
      ...(inGuild ? { guildId: message.guildId } : {}),
      inThread: inGuild && message.channel.isThread(),
      mentioned,
      botId,
      authorId: message.author.id,
      authorName: name,
      content: message.content,
      ...(message.attachments.size > 0
        ? { attachments: discordAttachments(message.attachments.values()) }
        : {}),
    };
    // The message id is the job id: a message delivered twice (a resume replays) is one job.
    // A gateway message has no acknowledgement to carry the busy note (interactions do), and a
    // reply from here would be one more REST call per message exactly when the service is
    // overloaded, against the channel's 5-per-5-s bucket its answers need: nothing extra is
    // said, and the status card (or the answer) is the first thing the person sees.
    await deps.inbound.enqueue('discord', message.id, 'message', reduced);
  }

  client.on(Events.MessageCreate, (message) => {
    onMessage(message).catch((e: unknown) =>
      logger.error(
        { messageId: message.id, err: e instanceof Error ? e.message : String(e) },
        'discord message not queued',
      ),
    );
  });
  let stopping = false;
  let ready = false;
  /** Reconnects in a row since the last READY or RESUMED. */
  let reconnects = 0;
  let markLost: (reason: Error) => void = () => {};
  const lost = new Promise<Error>((resolve) => {
    markLost = resolve;
  });
  let rejectLogin: ((e: Error) => void) | undefined;
  client.on(Events.ShardReconnecting, () => {
    if (stopping) return;
    if (!ready) {
      // The first connection failed (refused, reset, no HELLO): this attempt is over; the
      // supervisor waits before the next one instead of discord.js retrying every 500 ms.
      rejectLogin?.(
        new SpawnError('ERR_PLATFORM_UNAVAILABLE', 'Discord gateway: cannot connect (the connection failed)'),
      );
      return;
    }
    reconnects += 1;
    logger.info({ reconnects }, 'gateway reconnecting');
    if (reconnects >= DISCORD_RECONNECTS_BEFORE_LOST) {
      markLost(
        new SpawnError(
          'ERR_PLATFORM_UNAVAILABLE',
          `Discord gateway: ${reconnects} reconnects in a row failed`,
        ),
      );
    }
  });
  const resumed = () => {
    reconnects = 0;
  };
  client.on(Events.ShardResume, (_id, replayed) => {
    resumed();
    logger.info({ replayed }, 'gateway resumed');
  });
  client.on(Events.ShardReady, resumed);
  client.on(Events.Error, (e) => logger.warn({ err: e.message }, 'gateway error'));

  client.on(Events.ShardDisconnect, (event) => {
    if (stopping) return;
    const hint = FATAL_CLOSE[event.code];
    logger.error(
      { code: event.code },
      hint ?? `Discord gateway closed the connection for good (code ${event.code})`,
    );
    // Discord's fatal close codes need the operator; any other close is worth another attempt.
    const reason = hint
      ? new StartupError(hint)
      : new SpawnError(
          'ERR_PLATFORM_UNAVAILABLE',
          `Discord gateway closed the connection (code ${event.code})`,
        );
    if (ready) markLost(reason);
    else rejectLogin?.(reason);
  });

  const readyEvent = new Promise<void>((resolve, reject) => {
    rejectLogin = reject;
    client.once(Events.ClientReady, () => resolve());
  });
  const abandon = () =>
    rejectLogin?.(new SpawnError('ERR_PLATFORM_UNAVAILABLE', 'Discord gateway: the attempt was given up'));
  if (deps.signal?.aborted) abandon();
  deps.signal?.addEventListener('abort', abandon, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.login(deps.token).then(() => readyEvent),
      readyEvent,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new SpawnError(
                'ERR_PLATFORM_UNAVAILABLE',
                `Discord gateway: not ready after ${DISCORD_LOGIN_TIMEOUT_MS / 1000} s`,
              ),
            ),
          DISCORD_LOGIN_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (e) {
    stopping = true;
    await destroyClient(client);
    if (e instanceof StartupError || e instanceof SpawnError) throw e;
    const code = (e as { code?: unknown }).code;
    if (code === 'TokenInvalid') throw new StartupError(FATAL_CLOSE[4004]!);
    if (code === 'DisallowedIntents') throw new StartupError(FATAL_CLOSE[4014]!);
    throw new SpawnError(
      'ERR_PLATFORM_UNAVAILABLE',
      `Discord gateway: cannot connect (${e instanceof Error ? e.message : String(e)})`,
      { cause: e },
    );
  } finally {
    clearTimeout(timer);
    deps.signal?.removeEventListener('abort', abandon);
    rejectLogin = undefined;
  }
  ready = true;
  logger.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'discord gateway ready');

  return {
    lost,
    health: () => (reconnects > 0 ? `reconnecting to the gateway (${reconnects} tries)` : 'ok'),
    async stop() {
      stopping = true;
      await destroyClient(client);
    },
  };
}
