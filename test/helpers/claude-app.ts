import { FakeAnthropic } from '../fakes/anthropic/server.js';
import { startTestApp, type TestApp } from './app.js';

/** The whole app with Claude as its builder, against a fake Anthropic API of its own. */
export async function startClaudeTestApp(
  env: Record<string, string | undefined> = {},
): Promise<{ fake: FakeAnthropic; t: TestApp }> {
  const fake = await new FakeAnthropic().start();
  const t = await startTestApp({ ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: fake.url, ...env });
  return { fake, t };
}
