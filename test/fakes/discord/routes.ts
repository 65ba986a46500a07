import { INTENTS } from './gateway.js';
import { channelJson } from './payloads.js';
import type { FakeDiscord } from './server.js';
import { snowflake } from './snowflake.js';
import {
  ApiError,
  type FakeChannel,
  INTERACTION_ACK_DEADLINE_MS,
  MESSAGE_FLAGS,
  messageJson,
  validateInteractionResponse,
  validateMessageBody,
} from './state.js';

export interface Reply {
  status: number;
  body?: unknown;
}

export type Handler = (args: {
  params: string[];
  body: unknown;
  query: URLSearchParams;
}) => Reply | Promise<Reply>;

export interface Route {
  method: string;
  pattern: RegExp;
  /** Bot routes need `Authorization: Bot <token>`; webhook routes carry their token in the path. */
  auth: boolean;
  /** The bucket key from the path parameters. */
  bucket: (params: string[]) => string;
  handler: Handler;
}

/**
 * The REST routes of the fake (paths after `/api/v10`): gateway discovery, channel messages,
 * threads, interaction callbacks, interaction webhooks and application commands, each with
 * Discord's checks and error codes.
 */
export function discordRoutes(fake: FakeDiscord): Route[] {
  const routes: Route[] = [];
  const route = (
    method: string,
    pattern: RegExp,
    auth: boolean,
    bucket: Route['bucket'],
    handler: Handler,
  ) => {
    routes.push({ method, pattern, auth, bucket, handler });
  };
  const botChannel = (id: string, write: boolean): FakeChannel => {
    const channel = fake.channels.get(id);
    if (!channel) throw new ApiError(404, 10003, 'Unknown Channel');
    if (write && channel.forbidden) throw new ApiError(403, 50013, 'Missing Permissions');
    return channel;
  };

  route(
    'GET',
    /^\/gateway\/bot$/,
    true,
    () => 'GET /gateway/bot',
    () => ({
      status: 200,
      body: {
        url: fake.gateway.url,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
      },
    }),
  );
  route(
    'GET',
    /^\/users\/@me$/,
    true,
    () => 'GET /users/@me',
    () => ({ status: 200, body: fake.botUser }),
  );

  route(
    'POST',
    /^\/channels\/(\d+)\/messages$/,
    true,
    ([c]) => `POST /channels/${c}/messages`,
    ({ params, body }) => {
      const channel = botChannel(params[0]!, true);
      const parts = validateMessageBody(body, { requireSomething: true });
      const ref = (body as { message_reference?: { message_id?: string } }).message_reference;
      const replied = ref?.message_id ? fake.messages.get(ref.message_id) : undefined;
      const message = fake.store(
        channel,
        fake.botUser,
        {
          content: parts.content ?? '',
          embeds: parts.embeds ?? [],
          components: parts.components ?? [],
          flags: 0,
        },
        'channel',
        replied
          ? {
              message_reference: {
                message_id: replied.id,
                channel_id: replied.channel_id,
                ...(replied.guild_id ? { guild_id: replied.guild_id } : {}),
              },
            }
          : {},
      );
      fake.dispatchMessage(message);
      return { status: 200, body: messageJson(message) };
    },
  );

  route(
    'PATCH',
    /^\/channels\/(\d+)\/messages\/(\d+)$/,
    true,
    ([c]) => `PATCH /channels/${c}/messages/:id`,
    ({ params, body }) => {
      botChannel(params[0]!, false);
      const message = fake.messages.get(params[1]!);
      // Ephemeral messages cannot be reached through the channel, only through their token.
      if (!message || message.deleted || message.channel_id !== params[0] || message.ephemeralFor)
        throw new ApiError(404, 10008, 'Unknown Message');
      if (message.author.id !== fake.botUser.id)
        throw new ApiError(403, 50005, 'Cannot edit a message authored by another user');
      return { status: 200, body: messageJson(fake.edit(message, body, 'channel')) };
    },
  );

  route(
    'POST',
    /^\/channels\/(\d+)\/messages\/(\d+)\/threads$/,
    true,
    ([c]) => `POST /channels/${c}/messages/:id/threads`,
    ({ params, body }) => {
      const parent = botChannel(params[0]!, true);
      const message = fake.messages.get(params[1]!);
      if (!message || message.channel_id !== parent.id) throw new ApiError(404, 10008, 'Unknown Message');
      if (parent.type !== 0 && parent.type !== 5)
        throw new ApiError(400, 50024, 'Cannot execute action on this channel type');
      // A thread started from a message takes the message's id.
      if (fake.channels.has(message.id))
        throw new ApiError(400, 160004, 'A thread has already been created for this message');
      const name = (body as { name?: unknown }).name;
      if (typeof name !== 'string' || name.length < 1 || name.length > 100) {
        throw new ApiError(400, 50035, 'Invalid Form Body', {
          name: { _errors: [{ code: 'BASE_TYPE_BAD_LENGTH' }] },
        });
      }
      const thread: FakeChannel = {
        id: message.id,
        type: 11,
        guild_id: parent.guild_id!,
        name,
        parent_id: parent.id,
        owner_id: fake.botUser.id,
      };
      fake.channels.set(thread.id, thread);
      fake.gateway.dispatch('THREAD_CREATE', { ...channelJson(thread), newly_created: true }, INTENTS.guilds);
      return { status: 201, body: channelJson(thread) };
    },
  );

  // Create Interaction Response: answered within 3 s of the interaction, once (a second answer
  // is 40060), and 204 without ?with_response; the body's rules are validateInteractionResponse's
  // (https://discord.com/developers/docs/interactions/receiving-and-responding#create-interaction-response,
  // error codes: https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes).
  route(
    'POST',
    /^\/interactions\/(\d+)\/([\w.-]+)\/callback$/,
    false,
    ([id]) => `POST /interactions/${id}/callback`,
    ({ params, body }) => {
      const i = fake.interactions.get(params[1]!);
      if (!i || i.id !== params[0] || Date.now() - i.createdAt > INTERACTION_ACK_DEADLINE_MS)
        throw new ApiError(404, 10062, 'Unknown interaction');
      if (i.ack) throw new ApiError(400, 40060, 'Interaction has already been acknowledged.');
      const { type, data } = validateInteractionResponse(i.type, body);
      fake.acknowledge(i, type, data, 'callback');
      return { status: 204 };
    },
  );

  route(
    'PATCH',
    /^\/webhooks\/(\d+)\/([\w.-]+)\/messages\/(@original|\d+)$/,
    false,
    ([a, t]) => `PATCH /webhooks/${a}/${t}/messages/:id`,
    ({ params, body }) => {
      const i = fake.interactionFor(params[1]!, params[0]!);
      const id = params[2] === '@original' ? i.originalMessageId : params[2];
      const message = id ? fake.messages.get(id) : undefined;
      if (!message || message.deleted || message.interactionId !== i.id)
        throw new ApiError(404, 10008, 'Unknown Message');
      return { status: 200, body: messageJson(fake.edit(message, body, 'webhook')) };
    },
  );

  route(
    'DELETE',
    /^\/webhooks\/(\d+)\/([\w.-]+)\/messages\/(@original|\d+)$/,
    false,
    ([a, t]) => `DELETE /webhooks/${a}/${t}/messages/:id`,
    ({ params }) => {
      const i = fake.interactionFor(params[1]!, params[0]!);
      const id = params[2] === '@original' ? i.originalMessageId : params[2];
      const message = id ? fake.messages.get(id) : undefined;
      if (!message || message.deleted || message.interactionId !== i.id)
        throw new ApiError(404, 10008, 'Unknown Message');
      message.deleted = true;
      return { status: 204 };
    },
  );

  route(
    'POST',
    /^\/webhooks\/(\d+)\/([\w.-]+)$/,
    false,
    ([a, t]) => `POST /webhooks/${a}/${t}`,
    ({ params, body, query }) => {
      const i = fake.interactionFor(params[1]!, params[0]!);
      if (!i.ack) throw new ApiError(404, 10015, 'Unknown Webhook');
      const parts = validateMessageBody(body, { requireSomething: true });
      const ephemeral = ((parts.flags ?? 0) & MESSAGE_FLAGS.ephemeral) !== 0;
      const message = fake.store(
        fake.channels.get(i.channelId)!,
        fake.botUser,
        {
          content: parts.content ?? '',
          embeds: parts.embeds ?? [],
          components: parts.components ?? [],
          flags: ephemeral ? MESSAGE_FLAGS.ephemeral : 0,
        },
        'webhook',
        {
          webhook_id: fake.applicationId,
          interactionId: i.id,
          ...(ephemeral ? { ephemeralFor: i.userId } : {}),
        },
      );
      i.followUps.push(message.id);
      fake.dispatchMessage(message);
      // Without ?wait=true Discord answers 204 and the caller never learns the message id.
      return query.get('wait') === 'true' ? { status: 200, body: messageJson(message) } : { status: 204 };
    },
  );

  const putCommands = (key: string, body: unknown): Reply => {
    if (!Array.isArray(body)) throw new ApiError(400, 50035, 'Invalid Form Body');
    for (const c of body as { name?: unknown; description?: unknown }[]) {
      if (typeof c.name !== 'string' || !/^[-_\p{Ll}\p{N}]{1,32}$/u.test(c.name))
        throw new ApiError(400, 50035, 'Invalid Form Body', {
          name: { _errors: [{ code: 'APPLICATION_COMMAND_INVALID_NAME' }] },
        });
      if (typeof c.description !== 'string' || c.description.length < 1 || c.description.length > 100)
        throw new ApiError(400, 50035, 'Invalid Form Body', {
          description: { _errors: [{ code: 'BASE_TYPE_BAD_LENGTH' }] },
        });
    }
    const stored = (body as Record<string, unknown>[]).map((c) => ({
      ...c,
      id: snowflake(),
      application_id: fake.applicationId,
      version: snowflake(),
      ...(key !== 'global' ? { guild_id: key } : {}),
    }));
    fake.commands.set(key, stored);
    return { status: 200, body: stored };
  };
  route(
    'PUT',
    /^\/applications\/(\d+)\/commands$/,
    true,
    ([a]) => `PUT /applications/${a}/commands`,
    ({ params, body }) => {
      if (params[0] !== fake.applicationId) throw new ApiError(403, 50001, 'Missing Access');
      return putCommands('global', body);
    },
  );
  route(
    'PUT',
    /^\/applications\/(\d+)\/guilds\/(\d+)\/commands$/,
    true,
    ([a, g]) => `PUT /applications/${a}/guilds/${g}/commands`,
    ({ params, body }) => {
      if (params[0] !== fake.applicationId || !fake.guilds.has(params[1]!))
        throw new ApiError(403, 50001, 'Missing Access');
      return putCommands(params[1]!, body);
    },
  );
  return routes;
}
