import { describe, expect, it } from 'vitest';
import {
  buttonUrlAllowed,
  CALLBACK_DATA_MAX_BYTES,
  callbackData,
  clip,
  escapeHtml,
  parseCallbackData,
  purchaseOf,
  renderView,
  summaryOf,
  TELEGRAM_TEXT_MAX,
  upgradePlanOf,
} from '../../../adapters/telegram/render.js';
import type { ReplyView } from '../../../src/core/view.js';
import { parseTelegramHtml } from '../../fakes/telegram/html.js';

const status: ReplyView = {
  tone: 'progress',
  title: 'Tasks <for> "Crux" & co',
  text: 'wrote server.js (3/5)',
  progress: { stage: 'building', percent: 64, detail: 'wrote server.js (3/5)' },
  fields: [
    { label: 'Stage', value: 'Building' },
    { label: 'Cost so far', value: '$0.0123' },
  ],
  buttons: [
    { kind: 'link', label: 'Open preview', url: 'https://crux.example.app' },
    { kind: 'action', label: 'Extend', action: 'extend', sessionId: 'k7fq2m9xwd' },
    { kind: 'action', label: 'Stop', action: 'stop', sessionId: 'k7fq2m9xwd', style: 'danger' },
    { kind: 'action', label: 'Upgrade to Pro', action: 'upgrade', sessionId: 'k7fq2m9xwd' },
  ],
  footer: 'Built by the offline builder. App id k7fq2m9xwd.',
  sessionId: 'k7fq2m9xwd',
};

describe('Telegram rendering', () => {
  it('renders a status card as escaped HTML with a text progress bar, fields and footer', () => {
    const { text, replyMarkup } = renderView(status);
    expect(text).toBe(
      [
        '⏳ <b>Tasks &lt;for&gt; &quot;Crux&quot; &amp; co</b>',
        'wrote server.js (3/5)',
        '<code>▓▓▓▓▓▓░░░░ 64%</code>',
        '<b>Stage:</b> Building\n<b>Cost so far:</b> $0.0123',
        '<i>Built by the offline builder. App id k7fq2m9xwd.</i>',
      ].join('\n'),
    );
    const parsed = parseTelegramHtml(text);
    expect(parsed.ok && parsed.text).toContain('Tasks <for> "Crux" & co');
    expect(replyMarkup).toEqual({
      inline_keyboard: [
        [{ text: 'Open preview', url: 'https://crux.example.app' }],
        [
          { text: 'Extend', callback_data: 'extend:k7fq2m9xwd' },
          { text: 'Stop', callback_data: 'stop:k7fq2m9xwd' },
          { text: 'Upgrade to Pro', callback_data: 'upgrade:k7fq2m9xwd:pro' },
        ],
      ],
    });
  });

  it('keeps user text from becoming markup, whatever it contains', () => {
    const nasty = '<a href="javascript:alert(1)">x</a> &amp; </b><script>&#x3C;';
    const { text } = renderView({ tone: 'error', title: nasty, text: nasty, footer: nasty });
    const parsed = parseTelegramHtml(text);
    expect(parsed.ok).toBe(true);
    expect(parsed.ok && parsed.text.split(nasty)).toHaveLength(4);
    expect(escapeHtml('a<b>&"c"')).toBe('a&lt;b&gt;&amp;&quot;c&quot;');
  });

  it('stays within 4096 characters for any view, and never splits a surrogate pair', () => {
    const long = '😀'.repeat(5_000);
    const { text } = renderView({
      tone: 'info',
      title: long,
      text: long,
      fields: Array.from({ length: 30 }, (_, i) => ({ label: long, value: `${i}${long}` })),
      footer: long,
    });
    const parsed = parseTelegramHtml(text);
    expect(parsed.ok).toBe(true);
    expect(parsed.ok && parsed.text.length).toBeLessThanOrEqual(TELEGRAM_TEXT_MAX);
    expect(text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect(clip('ab😀cd', 4)).toBe('ab…');
    expect(clip('short', 10)).toBe('short');
  });

  it('shows no progress bar once the app is live, and no keyboard without buttons', () => {
    const live = renderView({
      ...status,
      tone: 'success',
      progress: { stage: 'live', percent: 100 },
      buttons: [],
    });
    expect(live.text).not.toContain('▓');
    expect(live.replyMarkup).toBeUndefined();
  });

  it('leaves links Telegram refuses (hosts without a dot) out of the keyboard', () => {
    expect(buttonUrlAllowed('https://crux.example.app/x')).toBe(true);
    expect(buttonUrlAllowed('http://127.0.0.1:4100')).toBe(true);
    expect(buttonUrlAllowed('http://localhost:4100')).toBe(false);
    expect(buttonUrlAllowed('http://k7fq2m9xwd.localhost:3001')).toBe(false);
    expect(buttonUrlAllowed('javascript:alert(1)')).toBe(false);
    expect(buttonUrlAllowed('not a url')).toBe(false);
    const { replyMarkup } = renderView({
      tone: 'success',
      title: 'Live',
      text: 'Live at http://localhost:4100',
      buttons: [{ kind: 'link', label: 'Open preview', url: 'http://localhost:4100' }],
    });
    expect(replyMarkup).toBeUndefined();
  });

  it('encodes button presses in well under 64 bytes and reads back only what it wrote', () => {
    const longest = callbackData({
      kind: 'action',
      label: 'Extend by 2 h',
      action: 'pay-extend',
      sessionId: 'a'.repeat(16),
    });
    expect(Buffer.byteLength(longest)).toBeLessThan(CALLBACK_DATA_MAX_BYTES);
    expect(parseCallbackData(longest)).toEqual({ action: 'pay-extend', sessionId: 'a'.repeat(16) });
    expect(
      callbackData({ kind: 'action', label: 'Get Team (900 ⭐)', action: 'upgrade', sessionId: '' }),
    ).toBe('upgrade::team');
    expect(parseCallbackData('upgrade::team')).toEqual({
      action: 'upgrade',
      sessionId: '',
      purchase: 'team',
    });
    expect(parseCallbackData('buy:')).toEqual({ action: 'buy', sessionId: '' });
    for (const bad of [
      undefined,
      '',
      'stop:',
      'stop:UPPER1',
      'delete:k7fq2m9xwd',
      'stop:k7fq2m9xwd:pro',
      'upgrade::gold',
      `stop:${'a'.repeat(70)}`,
      'buy::pro:x',
    ])
      expect(parseCallbackData(bad), String(bad)).toBeUndefined();
    expect(upgradePlanOf('Get Team (900 ⭐)')).toBe('team');
    expect(upgradePlanOf('Upgrade to Pro')).toBe('pro');
    expect(purchaseOf({ action: 'buy', sessionId: '' })).toBe('credits');
    expect(purchaseOf({ action: 'pay-extend', sessionId: 'k7fq2m9xwd' })).toBe('extend');
    expect(purchaseOf({ action: 'upgrade', sessionId: '', purchase: 'team' })).toBe('team');
    expect(purchaseOf({ action: 'stop', sessionId: 'k7fq2m9xwd' })).toBeUndefined();
  });

  it('turns a reply into one line for a callback answer (at most 200 characters)', () => {
    expect(summaryOf({ tone: 'error', title: 'Not allowed', text: 'Only the owner.' })).toBe(
      'Only the owner.',
    );
    expect(summaryOf({ tone: 'info', title: 'Stopping X', text: 'The app\nis being removed.' })).toBe(
      'Stopping X: The app is being removed.',
    );
    expect(summaryOf({ tone: 'info', title: 'T', text: 'x'.repeat(500) }).length).toBe(200);
  });
});
