import { describe, expect, it } from 'vitest';
import { escapeMarkdown, renderMessage, threadName } from '../../../adapters/discord/render.js';
import type { Button, ReplyView } from '../../../src/core/view.js';

const base: ReplyView = { tone: 'info', title: 't', text: 'x' };

describe('escapeMarkdown', () => {
  it('shows user text as written, without markup, masked links or pings', () => {
    expect(escapeMarkdown('a *bold* _plan_ ~~gone~~ `code` ||spoiler||')).toBe(
      'a \\*bold\\* \\_plan\\_ \\~\\~gone\\~\\~ \\`code\\` \\|\\|spoiler\\|\\|',
    );
    expect(escapeMarkdown('[click](https://evil.example)')).toBe('\\[click\\](https://evil.example)');
    expect(escapeMarkdown('# Title\n- item\n> quote')).toBe('\\# Title\n\\- item\n\\> quote');
    expect(escapeMarkdown('hi @everyone and @here <@123>')).toBe(
      'hi @\u200beveryone and @\u200bhere \\<@123\\>',
    );
    expect(escapeMarkdown('back\\slash')).toBe('back\\\\slash');
  });

  it('leaves URLs clickable', () => {
    expect(escapeMarkdown('Live at http://127.0.0.1:4000/my_app?a=*b*')).toBe(
      'Live at http://127.0.0.1:4000/my_app?a=*b*',
    );
    expect(escapeMarkdown('see https://x.example/a_b and _this_')).toBe(
      'see https://x.example/a_b and \\_this\\_',
    );
  });
});

describe('renderMessage', () => {
  it('never lets a message ping anyone, and colours by tone', () => {
    const colours = (['progress', 'success', 'error', 'info'] as const).map(
      (tone) => renderMessage({ ...base, tone }).embeds[0]!.color,
    );
    expect(new Set(colours).size).toBe(4);
    expect(renderMessage(base).allowed_mentions).toEqual({ parse: [] });
  });

  it('keeps within Discord limits: title 256, description 4096, 5 buttons a row, 5 rows', () => {
    const buttons: Button[] = Array.from({ length: 30 }, (_, i) => ({
      kind: 'action',
      label: `Button ${i} ${'x'.repeat(100)}`,
      action: 'stop',
      sessionId: `k7fq2m9x${String(i).padStart(2, '0')}`,
    }));
    const body = renderMessage({ ...base, title: 'T'.repeat(300), text: 'D'.repeat(5000), buttons });
    expect(body.embeds[0]!.title).toHaveLength(256);
    expect(body.embeds[0]!.description).toHaveLength(4096);
    expect(body.components).toHaveLength(5);
    for (const row of body.components) {
      expect(row.components).toHaveLength(5);
      for (const b of row.components) expect(b.label.length).toBeLessThanOrEqual(80);
    }
  });

  it('renders links as style-5 buttons without custom_id and drops unsafe URLs', () => {
    const body = renderMessage({
      ...base,
      buttons: [
        { kind: 'link', label: 'Open preview', url: 'https://app.example' },
        { kind: 'link', label: 'Evil', url: 'javascript:alert(1)' },
        { kind: 'link', label: 'Too long', url: `https://x.example/${'a'.repeat(600)}` },
        { kind: 'action', label: 'Upgrade', action: 'upgrade', sessionId: '', style: 'primary' },
      ],
    });
    expect(body.components[0]!.components).toEqual([
      { type: 2, style: 5, label: 'Open preview', url: 'https://app.example' },
      { type: 2, style: 1, label: 'Upgrade', custom_id: 'upgrade:' },
    ]);
  });

  it('shows progress as a text bar field and never sends an empty field value', () => {
    const body = renderMessage({
      ...base,
      progress: { stage: 'building', percent: 42 },
      fields: [{ label: 'Time left', value: '' }],
      footer: 'Built by the offline builder (no ANTHROPIC_API_KEY set).',
    });
    expect(body.embeds[0]!.fields).toEqual([
      { name: 'Progress', value: '▓▓▓▓░░░░░░ 42%', inline: false },
      { name: 'Time left', value: '\u200b', inline: true },
    ]);
    // Footers show no markdown, so they are not escaped.
    expect(body.embeds[0]!.footer?.text).toBe('Built by the offline builder (no ANTHROPIC_API_KEY set).');
  });

  it('names threads from one line of the title, 1-100 characters', () => {
    expect(threadName({ ...base, title: 'A todo list\nfor my gym' })).toBe('A todo list for my gym');
    expect(threadName({ ...base, title: '   ' })).toBe('SpawnAI app');
    expect(threadName({ ...base, title: 'x'.repeat(150) })).toHaveLength(100);
  });
});

describe('renderMessage within the 6000 characters of a message', () => {
  it('cuts title, text, fields and footer together, keeping the title and the start of the text', () => {
    const long = (word: string, n: number) => `${word} `.repeat(n);
    const view: ReplyView = {
      ...base,
      title: long('title', 100),
      text: long('body', 2000),
      fields: Array.from({ length: 30 }, (_, i) => ({ label: long(`label${i}`, 50), value: long('v', 900) })),
      footer: long('footer', 500),
    };
    const [embed] = renderMessage(view).embeds;
    const total =
      embed!.title.length +
      (embed!.description?.length ?? 0) +
      (embed!.fields ?? []).reduce((n, f) => n + f.name.length + f.value.length, 0) +
      (embed!.footer?.text.length ?? 0);
    expect(total).toBeLessThanOrEqual(6000);
    expect(embed!.title).toHaveLength(256);
    expect(embed!.description).toMatch(/^body body/);
    expect(embed!.description).toHaveLength(4096);
    for (const f of embed!.fields ?? []) expect(f.name.length > 0 && f.value.length > 0).toBe(true);
  });
});
