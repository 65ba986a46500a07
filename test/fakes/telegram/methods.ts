import { parseTelegramHtml } from './html.js';
import { ApiError, QUERY_TOO_OLD, type TelegramState } from './state.js';
import type { FakeChat, FakeMarkup, FakeMessage } from './types.js';

type Params = Record<string, unknown>;
type Method = (state: TelegramState, p: Params, now: number) => unknown;

const TEXT_MAX = 4096;
const CALLBACK_DATA_MAX_BYTES = 64;

function str(p: Params, name: string): string {
  const v = p[name];
  if (typeof v !== 'string') throw new ApiError(400, `Bad Request: parameter "${name}" is required`);
  return v;
}

function int(p: Params, name: string): number {
  const v = typeof p[name] === 'string' ? Number(p[name]) : p[name];
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new ApiError(400, `Bad Request: parameter "${name}" is required`);
  }
  return v;
}

/** The visible text of a message: HTML parsed like Telegram does, 1-4096 characters. */
function parseText(p: Params): { text: string; html?: string } {
  const raw = str(p, 'text');
  let text = raw;
  if (p.parse_mode === 'HTML') {
    const parsed = parseTelegramHtml(raw);
    if (!parsed.ok) throw new ApiError(400, `Bad Request: can't parse entities: ${parsed.error}`);
    text = parsed.text;
  } else if (p.parse_mode !== undefined) {
    throw new ApiError(400, 'Bad Request: unsupported parse_mode in this fake');
  }
  if (text.trim().length === 0) throw new ApiError(400, 'Bad Request: message text is empty');
  if (text.length > TEXT_MAX) throw new ApiError(400, 'Bad Request: message is too long');
  return p.parse_mode === 'HTML' ? { text, html: raw } : { text };
}

/** Inline keyboards as Telegram checks them: 1-64 byte callback data, URLs it accepts. */
function parseMarkup(p: Params): FakeMarkup | undefined {
  const markup = p.reply_markup;
  if (markup === undefined) return undefined;
  const m = (typeof markup === 'string' ? JSON.parse(markup) : markup) as FakeMarkup;
  if (!Array.isArray(m.inline_keyboard)) throw new ApiError(400, 'Bad Request: unsupported reply_markup');
  for (const row of m.inline_keyboard) {
    for (const b of row) {
      if (typeof b.text !== 'string' || b.text.length === 0)
        throw new ApiError(400, 'Bad Request: BUTTON_TEXT_INVALID');
      if (b.callback_data !== undefined) {
        const bytes = Buffer.byteLength(b.callback_data);
        if (bytes < 1 || bytes > CALLBACK_DATA_MAX_BYTES)
          throw new ApiError(400, 'Bad Request: BUTTON_DATA_INVALID');
      } else if (b.url !== undefined) {
        let host = '';
        try {
          const u = new URL(b.url);
          host = u.protocol === 'http:' || u.protocol === 'https:' ? u.hostname : '';
        } catch {
          host = '';
        }
        // Telegram refuses hosts without a dot (localhost) and anything not http(s).
        if (!host.includes('.')) throw new ApiError(400, 'Bad Request: BUTTON_URL_INVALID');
      } else {
        throw new ApiError(400, 'Bad Request: unsupported inline keyboard button in this fake');
      }
    }
  }
  return m;
}

function writable(state: TelegramState, p: Params): FakeChat {
  const chat = state.chat(p.chat_id);
  if (state.blocked.has(chat.id)) {
    throw new ApiError(
      403,
      chat.type === 'private'
        ? 'Forbidden: bot was blocked by the user'
        : 'Forbidden: bot was kicked from the group chat',
    );
  }
  return chat;
}

function replyTarget(state: TelegramState, chat: FakeChat, p: Params): number | undefined {
  const params = p.reply_parameters as
    | { message_id?: number; allow_sending_without_reply?: boolean }
    | undefined;
  const id =
    params?.message_id ?? (typeof p.reply_to_message_id === 'number' ? p.reply_to_message_id : undefined);
  if (id === undefined) return undefined;
  if (state.message(chat.id, id)) return id;
  if (params?.allow_sending_without_reply) return undefined;
  throw new ApiError(400, 'Bad Request: message to be replied not found');
}

function newBotMessage(
  state: TelegramState,
  chat: FakeChat,
  p: Params,
  now: number,
  extra: Partial<FakeMessage>,
) {
  const replyTo = replyTarget(state, chat, p);
  const topic = typeof p.message_thread_id === 'number' ? p.message_thread_id : undefined;
  const message: FakeMessage = {
    chatId: chat.id,
    messageId: state.messageId(chat.id),
    from: state.bot,
    date: Math.floor(now / 1000),
    edits: [],
    sentAt: now,
    ...(replyTo !== undefined ? { replyTo } : {}),
    ...(topic !== undefined ? { topic } : {}),
    ...extra,
    ...(extra.text !== undefined ? { firstText: extra.text } : {}),
  };
  state.store(message);
  return state.messageJson(message);
}

const sameMarkup = (a: FakeMarkup | undefined, b: FakeMarkup | undefined) =>
  JSON.stringify(a) === JSON.stringify(b);

/**
 * https://core.telegram.org/bots/api#getfile: "Use this method to get basic information about a
 * file and prepare it for downloading. For the moment, bots can download files of up to 20MB in
 * size. On success, a File object is returned. The file can then be downloaded via the link
 * https://api.telegram.org/file/bot<token>/<file_path>".
 */
export const TELEGRAM_DOWNLOAD_MAX_BYTES = 20 * 1024 * 1024;

export const METHODS: Record<string, Method> = {
  getFile(s, p) {
    const file = s.files.get(String(p.file_id ?? ''));
    if (!file) throw new ApiError(400, 'Bad Request: invalid file_id');
    if (file.bytes.length > TELEGRAM_DOWNLOAD_MAX_BYTES)
      throw new ApiError(400, 'Bad Request: file is too big');
    return {
      file_id: file.fileId,
      file_unique_id: file.uniqueId,
      file_size: file.bytes.length,
      file_path: file.path,
    };
  },

  getMe: (s) => ({
    ...s.bot,
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
  }),

  setWebhook(s, p) {
    const url = str(p, 'url');
    if (url !== '' && !url.startsWith('https://')) {
      throw new ApiError(400, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
    }
    const secret = p.secret_token;
    if (secret !== undefined && (typeof secret !== 'string' || !/^[A-Za-z0-9_-]{1,256}$/.test(secret))) {
      throw new ApiError(400, 'Bad Request: bad webhook: secret token contains unallowed characters');
    }
    s.webhook =
      url === ''
        ? undefined
        : {
            url,
            ...(typeof secret === 'string' ? { secret_token: secret } : {}),
            ...(Array.isArray(p.allowed_updates) ? { allowed_updates: p.allowed_updates as string[] } : {}),
          };
    if (p.drop_pending_updates === true) s.pending = [];
    return true;
  },

  deleteWebhook(s, p) {
    s.webhook = undefined;
    if (p.drop_pending_updates === true) s.pending = [];
    return true;
  },

  getWebhookInfo: (s) => ({
    url: s.webhook?.url ?? '',
    has_custom_certificate: false,
    pending_update_count: s.pending.length,
    ...(s.webhook?.allowed_updates ? { allowed_updates: s.webhook.allowed_updates } : {}),
  }),

  setMyCommands(s, p) {
    const commands = p.commands as { command?: unknown; description?: unknown }[];
    if (!Array.isArray(commands) || commands.length > 100)
      throw new ApiError(400, 'Bad Request: BOT_COMMANDS_TOO_MUCH');
    for (const c of commands) {
      if (typeof c.command !== 'string' || !/^[a-z0-9_]{1,32}$/.test(c.command)) {
        throw new ApiError(400, 'Bad Request: BOT_COMMAND_INVALID');
      }
      if (typeof c.description !== 'string' || c.description.length < 1 || c.description.length > 256) {
        throw new ApiError(400, 'Bad Request: BOT_COMMAND_DESCRIPTION_INVALID');
      }
    }
    s.commands = commands as { command: string; description: string }[];
    return true;
  },

  getMyCommands: (s) => s.commands ?? [],

  sendMessage(s, p, now) {
    const chat = writable(s, p);
    const { text, html } = parseText(p);
    const markup = parseMarkup(p);
    s.admit('sendMessage', chat, now);
    return newBotMessage(s, chat, p, now, { text, ...(html ? { html } : {}), replyMarkup: markup });
  },

  editMessageText(s, p, now) {
    const chat = writable(s, p);
    const message = s.message(chat.id, int(p, 'message_id'));
    if (!message) throw new ApiError(400, 'Bad Request: message to edit not found');
    if (message.from.id !== s.bot.id) throw new ApiError(400, "Bad Request: message can't be edited");
    const { text, html } = parseText(p);
    const markup = parseMarkup(p);
    if (
      text === message.text &&
      (html ?? '') === (message.html ?? '') &&
      sameMarkup(markup, message.replyMarkup)
    ) {
      throw new ApiError(
        400,
        'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
      );
    }
    s.admit('editMessageText', chat, now);
    message.text = text;
    if (html !== undefined) message.html = html;
    // An edit without reply_markup removes the keyboard, as in Telegram.
    message.replyMarkup = markup;
    message.edits.push({ text, ...(html ? { html } : {}), at: now });
    return s.messageJson(message);
  },

  answerCallbackQuery(s, p, now) {
    const query = s.callbackQueries.get(str(p, 'callback_query_id'));
    if (!query || query.answer) throw new ApiError(400, QUERY_TOO_OLD);
    const text = p.text;
    if (text !== undefined && (typeof text !== 'string' || text.length > 200)) {
      throw new ApiError(400, 'Bad Request: MESSAGE_TOO_LONG');
    }
    query.answer = {
      ...(typeof text === 'string' ? { text } : {}),
      ...(p.show_alert === true ? { show_alert: true } : {}),
      at: now,
    };
    return true;
  },

  sendInvoice(s, p, now) {
    const chat = writable(s, p);
    const title = str(p, 'title');
    const description = str(p, 'description');
    const payload = str(p, 'payload');
    const currency = str(p, 'currency');
    const prices = p.prices as { label?: unknown; amount?: unknown }[];
    if (title.length < 1 || title.length > 32) throw new ApiError(400, 'Bad Request: INVOICE_TITLE_INVALID');
    if (description.length < 1 || description.length > 255) {
      throw new ApiError(400, 'Bad Request: INVOICE_DESCRIPTION_INVALID');
    }
    const bytes = Buffer.byteLength(payload);
    if (bytes < 1 || bytes > 128) throw new ApiError(400, 'Bad Request: INVOICE_PAYLOAD_INVALID');
    if (!Array.isArray(prices) || prices.length === 0)
      throw new ApiError(400, 'Bad Request: prices must be non-empty');
    for (const price of prices) {
      if (
        typeof price.label !== 'string' ||
        !Number.isInteger(price.amount) ||
        (price.amount as number) <= 0
      ) {
        throw new ApiError(400, 'Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID');
      }
    }
    if (currency === 'XTR') {
      // Stars: no payment provider, and exactly one price.
      if (typeof p.provider_token === 'string' && p.provider_token !== '') {
        throw new ApiError(400, 'Bad Request: PAYMENT_PROVIDER_INVALID');
      }
      if (prices.length !== 1) throw new ApiError(400, 'Bad Request: STARS_INVOICE_INVALID');
    } else if (typeof p.provider_token !== 'string' || p.provider_token === '') {
      throw new ApiError(400, 'Bad Request: PAYMENT_PROVIDER_INVALID');
    }
    s.admit('sendInvoice', chat, now);
    const total = prices.reduce((sum, price) => sum + (price.amount as number), 0);
    return newBotMessage(s, chat, p, now, {
      invoice: { title, description, payload, currency, total_amount: total },
      replyMarkup: parseMarkup(p),
    });
  },

  answerPreCheckoutQuery(s, p, now) {
    const query = s.preCheckouts.get(str(p, 'pre_checkout_query_id'));
    if (!query || query.answer) throw new ApiError(400, QUERY_TOO_OLD);
    const ok = p.ok === true || p.ok === 'true';
    const late = now - query.sentAt > s.preCheckoutTimeoutMs;
    const errorMessage = typeof p.error_message === 'string' ? p.error_message : undefined;
    query.answer = { ok, at: now, late, ...(errorMessage ? { error_message: errorMessage } : {}) };
    if (late) throw new ApiError(400, QUERY_TOO_OLD);
    if (!ok && !errorMessage) throw new ApiError(400, 'Bad Request: ERROR_MESSAGE_EMPTY');
    return true;
  },

  refundStarPayment(s, p) {
    const charge = s.charges.get(str(p, 'telegram_payment_charge_id'));
    if (!charge || charge.userId !== int(p, 'user_id'))
      throw new ApiError(400, 'Bad Request: CHARGE_NOT_FOUND');
    if (charge.refunded) throw new ApiError(400, 'Bad Request: CHARGE_ALREADY_REFUNDED');
    charge.refunded = true;
    return true;
  },
};
