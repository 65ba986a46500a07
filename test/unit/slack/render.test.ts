import { describe, expect, it } from 'vitest';
import { escapeMrkdwn, renderView, SLACK_LIMITS } from '../../../adapters/slack/render.js';
import type { ReplyView } from '../../../src/core/view.js';
import { blockProblem, blocksText, buttonsOf } from '../../fakes/slack/blocks.js';

const card: ReplyView = {
  tone: 'progress',
  title: 'Todo list for <the> gym & co',
  text: 'Building it now. Ping <!channel> & <@U123>, see http://127.0.0.1:4100.',
  progress: { stage: 'building', percent: 42, detail: 'wrote server.js (3/5)' },
  fields: [
    { label: 'Stage', value: 'Building' },
    { label: 'Time left', value: '58 min' },
    { label: 'Cost so far', value: '$0.01' },
  ],
  buttons: [
    { kind: 'link', label: 'Open preview', url: 'http://127.0.0.1:4100' },
    { kind: 'action', label: 'Extend', action: 'extend', sessionId: 'abc123def' },
    { kind: 'action', label: 'Stop', action: 'stop', sessionId: 'abc123def', style: 'danger' },
    { kind: 'action', label: 'Upgrade', action: 'upgrade', sessionId: 'abc123def', style: 'primary' },
    { kind: 'link', label: 'Pay', url: 'https://checkout.example.com/c/pay_123' },
  ],
  footer: 'Built by the offline builder. App id abc123def.',
  sessionId: 'abc123def',
};

describe('slack render: ReplyView → Block Kit', () => {
  it('renders title, escaped text, a text progress bar, fields, every button and the footer', () => {
    const { text, blocks } = renderView(card);
    expect(blockProblem(blocks)).toBeUndefined();
    expect(blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text' } });
    const all = blocksText(blocks);
    expect(all).toContain('`▓▓▓▓░░░░░░ 42%`');
    expect(all).toContain('*Building*');
    expect(all).toContain('_wrote server.js (3/5)_');
    expect(all).toContain('*Time left*\n58 min');
    expect(all).toContain('*Cost so far*\n$0.01');
    expect(all).toContain('Built by the offline builder.');
    // User text cannot mention @channel or people, nor forge links; our own URLs become links.
    expect(all).toContain('Ping &lt;!channel&gt; &amp; &lt;@U123&gt;');
    expect(all).not.toMatch(/<!channel>|<@U123>/);
    expect(all).toContain('see <http://127.0.0.1:4100>.');
    // Fallback text for notifications: title, stage, text; escaped the same way.
    expect(text).toContain('Todo list for &lt;the&gt; gym &amp; co');
    expect(text).toContain('Building ▓▓▓▓░░░░░░ 42%');

    const buttons = buttonsOf(blocks);
    expect(buttons.map((b) => (b.text as { text: string }).text)).toEqual([
      'Open preview',
      'Extend',
      'Stop',
      'Upgrade',
      'Pay',
    ]);
    expect(buttons[0]).toMatchObject({ url: 'http://127.0.0.1:4100', action_id: 'spawnai:link:0' });
    expect(buttons[2]).toMatchObject({ action_id: 'spawnai:stop', value: 'abc123def', style: 'danger' });
    expect(buttons[3]).toMatchObject({ action_id: 'spawnai:upgrade', style: 'primary' });
    expect(buttons[4]).toMatchObject({ url: 'https://checkout.example.com/c/pay_123' });
  });

  it('stays within Block Kit limits for huge input', () => {
    const huge: ReplyView = {
      tone: 'error',
      title: 'x'.repeat(500),
      text: '&<>'.repeat(3000),
      fields: Array.from({ length: 14 }, (_, i) => ({ label: `f${i}`, value: '<'.repeat(3000) })),
      buttons: Array.from({ length: 30 }, (_, i) => ({
        kind: 'link' as const,
        label: 'l'.repeat(100),
        url: `https://x.test/${i}`,
      })),
      footer: '>'.repeat(5000),
    };
    const { text, blocks } = renderView(huge);
    expect(blockProblem(blocks)).toBeUndefined();
    expect(text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackChars);
    // No half entities at a cut.
    expect(blocksText(blocks)).not.toMatch(/&(?:a|am|l|g|lt|gt)?…/);
  });

  it('renders a plain info view without progress or buttons', () => {
    const { blocks } = renderView({ tone: 'info', title: 'Your apps', text: '' });
    expect(blocks).toHaveLength(1);
    expect(blockProblem(blocks)).toBeUndefined();
  });

  it('escapes exactly &, < and >', () => {
    expect(escapeMrkdwn('a & b < c > d * _ ~ `')).toBe('a &amp; b &lt; c &gt; d * _ ~ `');
  });
});
