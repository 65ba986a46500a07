import { randomBytes } from 'node:crypto';
import { type Rule, Windows } from './limits.js';
import type {
  FakeCall,
  FakeChat,
  FakeFile,
  FakeMessage,
  FakeTelegramOptions,
  FakeUser,
  Update,
} from './types.js';

/** A Bot API error: `{ok: false, error_code, description, parameters?}` with that HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly description: string,
    readonly parameters?: { retry_after?: number; migrate_to_chat_id?: number },
  ) {
    super(description);
  }
}

export const QUERY_TOO_OLD =
  'Bad Request: query is too old and response timeout expired or query ID is invalid';

/** Everything the fake Telegram remembers: chats, messages, queries, updates, what the bot did. */
export class TelegramState {
  readonly token: string;
  readonly bot: FakeUser;
  readonly chats = new Map<number, FakeChat>();
  readonly messages = new Map<string, FakeMessage>();
  readonly calls: FakeCall[] = [];
  /** Every 429 the fake answered. */
  readonly limited: { method: string; chatId: number | undefined; retryAfter: number; at: number }[] = [];
  readonly blocked = new Set<number>();
  readonly windows = new Windows();
  readonly rules: { private: Rule; group: Rule; global: Rule };
  readonly preCheckoutTimeoutMs: number;
  /** Updates not yet confirmed by a getUpdates offset. */
  pending: Update[] = [];
  webhook: { url: string; secret_token?: string; allowed_updates?: string[] } | undefined;
  allowedUpdates: string[] | undefined;
  commands: { command: string; description: string }[] | undefined;
  readonly callbackQueries = new Map<
    string,
    { sentAt: number; answer?: { text?: string; show_alert?: boolean; at: number } }
  >();
  readonly preCheckouts = new Map<
    string,
    { sentAt: number; answer?: { ok: boolean; error_message?: string; at: number; late: boolean } }
  >();
  readonly charges = new Map<string, { userId: number; refunded: boolean }>();
  /** Files people sent, by file_id, for getFile and `/file/bot<token>/<file_path>`. */
  readonly files = new Map<string, FakeFile>();
  /** Every download of a file: the path asked for and whether the token in it was right. */
  readonly downloads: { path: string; authorized: boolean; at: number }[] = [];
  /** Failures the test asks for: the next `times` calls of `method`. */
  readonly faults: { method: string; times: number; error: ApiError }[] = [];
  private nextUpdate = 400_000 + Math.floor(Math.random() * 1000);
  private nextMessage = new Map<number, number>();
  private nextUserId = 100_000_001;
  private nextGroupId = 1_000_000_001;

  constructor(options: FakeTelegramOptions) {
    this.token = options.token ?? '123:abc';
    this.bot = {
      id: Number(this.token.split(':')[0]) || 123,
      is_bot: true,
      first_name: 'SpawnAI',
      username: options.botUsername ?? 'spawnai_test_bot',
    };
    this.rules = {
      private: options.privateLimit ?? { max: 10, windowMs: 10_000 },
      group: options.groupLimit ?? { max: 20, windowMs: 60_000 },
      global: options.globalLimit ?? { max: 30, windowMs: 1_000 },
    };
    this.preCheckoutTimeoutMs = options.preCheckoutTimeoutMs ?? 10_000;
  }

  updateId(): number {
    return this.nextUpdate++;
  }

  newUser(firstName: string, username?: string): FakeUser {
    return { id: this.nextUserId++, is_bot: false, first_name: firstName, ...(username ? { username } : {}) };
  }

  newGroupId(): number {
    return -(1_000_000_000_000 + this.nextGroupId++);
  }

  messageId(chatId: number): number {
    const id = (this.nextMessage.get(chatId) ?? 0) + 1;
    this.nextMessage.set(chatId, id);
    return id;
  }

  chargeId(): string {
    return `stxFAKE${randomBytes(12).toString('base64url')}`;
  }

  message(chatId: number, messageId: number): FakeMessage | undefined {
    return this.messages.get(`${chatId}:${messageId}`);
  }

  store(message: FakeMessage): void {
    this.messages.set(`${message.chatId}:${message.messageId}`, message);
  }

  chat(id: unknown): FakeChat {
    const chat = this.chats.get(Number(id));
    if (!chat) throw new ApiError(400, 'Bad Request: chat not found');
    return chat;
  }

  chatJson(chat: FakeChat): Record<string, unknown> {
    return { ...chat };
  }

  messageJson(m: FakeMessage, depth = 0): Record<string, unknown> {
    const chat = this.chats.get(m.chatId)!;
    const replied = m.replyTo !== undefined ? this.message(m.chatId, m.replyTo) : undefined;
    const last = m.edits.at(-1);
    return {
      message_id: m.messageId,
      from: m.from,
      chat: this.chatJson(chat),
      date: m.date,
      ...(m.topic !== undefined ? { message_thread_id: m.topic, is_topic_message: true } : {}),
      ...(m.text !== undefined ? { text: m.text } : {}),
      ...(m.entities && m.entities.length > 0 ? { entities: m.entities } : {}),
      ...(m.replyMarkup ? { reply_markup: m.replyMarkup } : {}),
      ...(replied && depth === 0 ? { reply_to_message: this.messageJson(replied, 1) } : {}),
      ...(m.invoice
        ? {
            invoice: {
              title: m.invoice.title,
              description: m.invoice.description,
              start_parameter: '',
              currency: m.invoice.currency,
              total_amount: m.invoice.total_amount,
            },
          }
        : {}),
      ...(m.successfulPayment ? { successful_payment: m.successfulPayment } : {}),
      ...(m.photo ? { photo: m.photo } : {}),
      ...(m.document ? { document: m.document } : {}),
      ...(m.caption !== undefined ? { caption: m.caption } : {}),
      ...(m.captionEntities && m.captionEntities.length > 0 ? { caption_entities: m.captionEntities } : {}),
      ...(last ? { edit_date: Math.floor(last.at / 1000) } : {}),
    };
  }

  /**
   * Telegram's flood control for one message to a chat: the bot-wide rate, and the chat's own
   * (1/s-ish for a private chat, 20 a minute for a group). Over either: 429 with retry_after.
   */
  admit(method: string, chat: FakeChat, now: number): void {
    const rule = chat.type === 'private' ? this.rules.private : this.rules.group;
    const waits = [
      this.windows.wait('global', this.rules.global, now),
      this.windows.wait(`chat:${chat.id}`, rule, now),
    ];
    const waitMs = Math.max(...waits);
    if (waitMs > 0) {
      const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
      this.limited.push({ method, chatId: chat.id, retryAfter, at: now });
      throw new ApiError(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter });
    }
    this.windows.add('global', now);
    this.windows.add(`chat:${chat.id}`, now);
  }
}
