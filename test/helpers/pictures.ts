import { expect } from 'vitest';
import { type FakeAnthropic, finish, message, nodeApp, writeFile } from '../fakes/anthropic/server.js';

/** A real 1x1 PNG. */
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

/** Starts as a JPEG does (FF D8 FF, JFIF): what the magic-number checks look at. */
export const JPEG = Buffer.concat([
  Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]),
  Buffer.from('JFIF\0', 'latin1'),
  Buffer.alloc(64, 7),
  Buffer.from([0xff, 0xd9]),
]);

/** A PDF: a file people attach that is no picture. */
export const PDF = Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n', 'latin1');

/** A PNG over the 3.75 MB limit (5 MB once base64-encoded). */
export const HUGE_PNG = Buffer.concat([PNG.subarray(0, 16), Buffer.alloc(4 * 1024 * 1024, 1)]);

type Block = { type: string; source?: { type: string; media_type: string; data: string }; text?: string };

/** The first message of the first request the fake Anthropic received: its content blocks. */
export function firstRequestContent(fake: FakeAnthropic): Block[] {
  const [first] = fake.messageRequests();
  expect(first, 'a request reached the fake Anthropic').toBeDefined();
  const messages = first!.body!.messages as { role: string; content: Block[] }[];
  return messages[0]!.content;
}

/** The image blocks a request carried for these pictures, base64 with their real media type. */
export function expectImageBlocks(fake: FakeAnthropic, pictures: readonly { type: string; data: Buffer }[]) {
  const content = firstRequestContent(fake);
  const images = content.filter((b) => b.type === 'image');
  expect(images).toEqual(
    pictures.map((p) => ({
      type: 'image',
      source: { type: 'base64', media_type: p.type, data: p.data.toString('base64') },
    })),
  );
  // Pictures come before the words of the request, as the vision guide advises.
  expect(content.findIndex((b) => b.type === 'image')).toBeLessThan(
    content.findIndex((b) => b.type === 'text'),
  );
}

/** Claude's whole answer for a small Node app titled `title`, built "from your picture". */
export function pictureApp(title: string): ReturnType<typeof message> {
  return message([
    ...nodeApp(title).map((f) => writeFile(f.path, f.content)),
    finish(title, 'Built from your picture.'),
  ]);
}

/** The environment that points the app's Claude builder at a fake Anthropic. */
export function claudeEnv(anthropic: FakeAnthropic): Record<string, string> {
  return { ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: anthropic.url };
}
