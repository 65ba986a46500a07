import { randomBytes } from 'node:crypto';
import { FakeBotApi } from './http.js';
import { maxInWindow } from './limits.js';
import { ApiError } from './state.js';
import type { FakeChat, FakeEntity, FakeMessage, FakeSuccessfulPayment, FakeUser, Update } from './types.js';

export { parseTelegramHtml } from './html.js';
export { SECRET_HEADER } from './http.js';
export type * from './types.js';

/** Methods that send a message to a chat: these count against Telegram's flood limits. */
const COUNTED = new Set(['sendMessage', 'editMessageText', 'sendInvoice']);

/**
 * A local Telegram: the Bot API ({@link FakeBotApi}) with its flood limits per private chat,
 * per group and per bot (429 with `retry_after`), and the people: they write, reply, press
 * buttons and pay; their updates reach the bot through getUpdates or the webhook pusher.
 */
export class FakeTelegram extends FakeBotApi {
  // --- people --------------------------------------------------------------------------------

  user(firstName: string, username?: string): FakeUser {
    return this.state.newUser(firstName, username);
  }

  privateChat(user: FakeUser): FakeChat {
    const chat: FakeChat = { id: user.id, type: 'private', first_name: user.first_name };
    this.state.chats.set(chat.id, chat);
    return chat;
  }

  group(title: string, options: { supergroup?: boolean; forum?: boolean } = {}): FakeChat {
    const chat: FakeChat = {
      id: this.state.newGroupId(),
      type: options.supergroup === false ? 'group' : 'supergroup',
      title,
      ...(options.forum ? { is_forum: true } : {}),
    };
    this.state.chats.set(chat.id, chat);
    return chat;
  }

  /** The bot may no longer write there (blocked by the person, removed from the group). */
  block(chat: FakeChat): void {
    this.state.blocked.add(chat.id);
  }

  /** Someone writes in a chat; commands and @mentions get their entities, as Telegram adds them. */
  async sendText(
    chat: FakeChat,
    from: FakeUser,
    text: string,
    options: { replyTo?: number; topic?: number } = {},
  ): Promise<{ update: Update; message: FakeMessage; status: number | undefined }> {
    const entities: FakeEntity[] = [];
    const command = /^\/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?/.exec(text);
    if (command) entities.push({ type: 'bot_command', offset: 0, length: command[0].length });
    for (const m of text.matchAll(/@[A-Za-z0-9_]{5,32}/g)) {
      if (!command || m.index >= command[0].length)
        entities.push({ type: 'mention', offset: m.index, length: m[0].length });
    }
    const now = Date.now();
    const message: FakeMessage = {
      chatId: chat.id,
      messageId: this.state.messageId(chat.id),
      from,
      date: Math.floor(now / 1000),
      text,
      entities,
      edits: [],
      sentAt: now,
      ...(options.replyTo !== undefined ? { replyTo: options.replyTo } : {}),
      ...(options.topic !== undefined ? { topic: options.topic } : {}),
    };
    this.state.store(message);
    const update: Update = { update_id: this.state.updateId(), message: this.state.messageJson(message) };
    return { update, message, status: await this.deliver(update) };
  }

  /** Keeps a file as Telegram's servers would, for getFile and its download link. */
  private storeFile(
    bytes: Buffer,
    folder: 'photos' | 'documents',
    ext: string,
  ): { fileId: string; uniqueId: string } {
    const uniqueId = randomBytes(6).toString('hex');
    const fileId = `AgAC${randomBytes(12).toString('hex')}`;
    const n = this.state.files.size;
    this.state.files.set(fileId, { fileId, uniqueId, path: `${folder}/file_${n}.${ext}`, bytes });
    return { fileId, uniqueId };
  }

  /**
   * Someone sends a photo with a caption. Telegram keeps photos as JPEG in several sizes and
   * sends `photo` as an array of PhotoSize, smallest first
   * (https://core.telegram.org/bots/api#message: "photo: Array of PhotoSize, available sizes of
   * the photo"); the caption has its own entities. `declaredSize` overrides `file_size` of the
   * largest size (a photo over the limit without sending megabytes through the test).
   */
  async sendPhoto(
    chat: FakeChat,
    from: FakeUser,
    jpeg: Buffer,
    caption: string,
    options: { declaredSize?: number } = {},
  ): Promise<{ update: Update; message: FakeMessage; status: number | undefined }> {
    const thumb = this.storeFile(jpeg.subarray(0, Math.min(jpeg.length, 32)), 'photos', 'jpg');
    const full = this.storeFile(jpeg, 'photos', 'jpg');
    return this.sendMedia(chat, from, caption, {
      photo: [
        { file_id: thumb.fileId, file_unique_id: thumb.uniqueId, width: 90, height: 90, file_size: 32 },
        {
          file_id: full.fileId,
          file_unique_id: full.uniqueId,
          width: 1280,
          height: 960,
          file_size: options.declaredSize ?? jpeg.length,
        },
      ],
    });
  }

  /** Someone sends a file as a document (uncompressed), with its name and MIME type. */
  async sendDocument(
    chat: FakeChat,
    from: FakeUser,
    bytes: Buffer,
    document: { name: string; mimeType: string },
    caption: string,
  ): Promise<{ update: Update; message: FakeMessage; status: number | undefined }> {
    const stored = this.storeFile(bytes, 'documents', document.name.split('.').pop() ?? 'bin');
    return this.sendMedia(chat, from, caption, {
      document: {
        file_id: stored.fileId,
        file_unique_id: stored.uniqueId,
        file_name: document.name,
        mime_type: document.mimeType,
        file_size: bytes.length,
      },
    });
  }

  private async sendMedia(
    chat: FakeChat,
    from: FakeUser,
    caption: string,
    media: Pick<FakeMessage, 'photo' | 'document'>,
  ): Promise<{ update: Update; message: FakeMessage; status: number | undefined }> {
    const entities: FakeEntity[] = [];
    const command = /^\/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?/.exec(caption);
    if (command) entities.push({ type: 'bot_command', offset: 0, length: command[0].length });
    for (const m of caption.matchAll(/@[A-Za-z0-9_]{5,32}/g)) {
      if (!command || m.index >= command[0].length)
        entities.push({ type: 'mention', offset: m.index, length: m[0].length });
    }
    const now = Date.now();
    const message: FakeMessage = {
      chatId: chat.id,
      messageId: this.state.messageId(chat.id),
      from,
      date: Math.floor(now / 1000),
      ...media,
      ...(caption ? { caption, captionEntities: entities } : {}),
      edits: [],
      sentAt: now,
    };
    this.state.store(message);
    const update: Update = { update_id: this.state.updateId(), message: this.state.messageJson(message) };
    return { update, message, status: await this.deliver(update) };
  }

  /** Someone presses an inline button of a bot message (it must be on the message). */
  async press(
    chat: FakeChat,
    messageId: number,
    from: FakeUser,
    data: string,
  ): Promise<{ update: Update; queryId: string; status: number | undefined }> {
    const message = this.state.message(chat.id, messageId);
    const buttons = message?.replyMarkup?.inline_keyboard.flat() ?? [];
    if (!buttons.some((b) => b.callback_data === data))
      throw new Error(`no button ${data} on message ${messageId}`);
    const queryId = randomBytes(8).toString('hex');
    this.state.callbackQueries.set(queryId, { sentAt: Date.now() });
    const update: Update = {
      update_id: this.state.updateId(),
      callback_query: {
        id: queryId,
        from,
        message: this.state.messageJson(message!),
        chat_instance: String(chat.id),
        data,
      },
    };
    return { update, queryId, status: await this.deliver(update) };
  }

  /** Waits until the bot answered a callback query. */
  async callbackAnswer(
    queryId: string,
    timeoutMs = 10_000,
  ): Promise<{ text?: string; show_alert?: boolean }> {
    const started = Date.now();
    while (Date.now() - started < timeoutMs) {
      const answer = this.state.callbackQueries.get(queryId)?.answer;
      if (answer) return answer;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`callback query ${queryId} not answered within ${timeoutMs} ms`);
  }

  /**
   * Someone pays an invoice: a pre_checkout_query goes to the bot, which has 10 s to answer;
   * when it says ok, Telegram takes the Stars and sends the successful_payment message.
   * `overrides` tamper with what the query says (a stale price, a forged payload).
   */
  async pay(
    chat: FakeChat,
    invoiceMessageId: number,
    from: FakeUser,
    overrides: { totalAmount?: number; payload?: string; currency?: string } = {},
  ): Promise<{
    answer: { ok: boolean; error_message?: string; late: boolean } | undefined;
    latencyMs: number | undefined;
    payment?: { update: Update; chargeId: string; status: number | undefined };
  }> {
    const invoice = this.state.message(chat.id, invoiceMessageId)?.invoice;
    if (!invoice) throw new Error(`message ${invoiceMessageId} is not an invoice`);
    const queryId = randomBytes(8).toString('hex');
    const sentAt = Date.now();
    this.state.preCheckouts.set(queryId, { sentAt });
    const answered = new Promise<void>((resolve) => this.preCheckoutWaiters.set(queryId, resolve));
    const currency = overrides.currency ?? invoice.currency;
    const total = overrides.totalAmount ?? invoice.total_amount;
    const payload = overrides.payload ?? invoice.payload;
    await this.deliver({
      update_id: this.state.updateId(),
      pre_checkout_query: { id: queryId, from, currency, total_amount: total, invoice_payload: payload },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      answered,
      new Promise<void>((r) => (timer = setTimeout(r, this.state.preCheckoutTimeoutMs))),
    ]);
    clearTimeout(timer);
    this.preCheckoutWaiters.delete(queryId);
    const answer = this.state.preCheckouts.get(queryId)?.answer;
    if (!answer || answer.late || !answer.ok) {
      return { answer, latencyMs: answer ? answer.at - sentAt : undefined };
    }
    const chargeId = this.state.chargeId();
    this.state.charges.set(chargeId, { userId: from.id, refunded: false });
    const sent = await this.paymentMessage(chat, from, {
      currency,
      total_amount: total,
      invoice_payload: payload,
      telegram_payment_charge_id: chargeId,
      provider_payment_charge_id: '',
    });
    return { answer, latencyMs: answer.at - sentAt, payment: { ...sent, chargeId } };
  }

  /** A successful_payment service message (Telegram sends one per charge; tests may repeat it). */
  async paymentMessage(
    chat: FakeChat,
    from: FakeUser,
    payment: FakeSuccessfulPayment,
  ): Promise<{ update: Update; status: number | undefined }> {
    const now = Date.now();
    const message: FakeMessage = {
      chatId: chat.id,
      messageId: this.state.messageId(chat.id),
      from,
      date: Math.floor(now / 1000),
      successfulPayment: payment,
      edits: [],
      sentAt: now,
    };
    this.state.store(message);
    const update: Update = { update_id: this.state.updateId(), message: this.state.messageJson(message) };
    return { update, status: await this.deliver(update) };
  }

  // --- what the bot did ----------------------------------------------------------------------

  /** The bot's messages in a chat, oldest first. */
  botMessages(chat: FakeChat): FakeMessage[] {
    return [...this.state.messages.values()]
      .filter((m) => m.chatId === chat.id && m.from.id === this.state.bot.id)
      .sort((a, b) => a.messageId - b.messageId);
  }

  /** The callback data of the button whose label matches. */
  button(message: FakeMessage, label: RegExp): string {
    const b = message.replyMarkup?.inline_keyboard.flat().find((x) => label.test(x.text) && x.callback_data);
    if (!b?.callback_data) throw new Error(`no button ${label} on message ${message.messageId}`);
    return b.callback_data;
  }

  /** When each message (send, edit, invoice) reached this chat. */
  messageTimes(chat: FakeChat): number[] {
    return this.state.calls
      .filter((c) => c.chatId === chat.id && c.status === 200 && COUNTED.has(c.method))
      .map((c) => c.at);
  }

  /** The most messages this chat received within any window of `windowMs`. */
  busiestWindow(chat: FakeChat, windowMs: number): number {
    return maxInWindow(this.messageTimes(chat), windowMs);
  }

  calls(method: string): { status: number; at: number; body: Record<string, unknown> }[] {
    return this.state.calls.filter((c) => c.method === method);
  }

  /** The next `times` calls of `method` fail with this Bot API error (e.g. 429 with retry_after). */
  failNext(
    method: string,
    code: number,
    description: string,
    options: { retryAfter?: number; times?: number } = {},
  ): void {
    this.state.faults.push({
      method,
      times: options.times ?? 1,
      error: new ApiError(
        code,
        description,
        options.retryAfter ? { retry_after: options.retryAfter } : undefined,
      ),
    });
  }
}
