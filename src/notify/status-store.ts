import { createHash } from 'node:crypto';
import type { Redis } from '../redis/connection.js';
import type { ProgressEvent, VersionedEvent } from './progress.js';

const STATE_TTL_SECONDS = 7 * 24 * 3600;

/**
 * Keeps, per session, the newest progress event (latest wins) with a version number,
 * and which version the status message already shows. Shared by every process via Redis.
 * A final event of a build is never replaced by a late non-final event of the same build.
 */
const PUBLISH = `
local current = redis.call('HGET', KEYS[2], 'event')
if current then
  local ok, cur = pcall(cjson.decode, current)
  if ok and cur.final and cur.buildId == ARGV[2] and ARGV[3] == '0' then
    return -1
  end
end
local v = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], 'v', v, 'event', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return v
`;

/** Every progress event runs PUBLISH: by its hash, not its text, once Redis has it cached. */
const PUBLISH_SHA = createHash('sha1').update(PUBLISH).digest('hex');

export class StatusStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(sessionId: string, part: string): string {
    return `${this.prefix}:status:${sessionId}:${part}`;
  }

  /** Stores the event as the session's latest; returns its version, or -1 when it was stale. */
  async put(event: ProgressEvent): Promise<number> {
    const args = [
      this.key(event.sessionId, 'seq'),
      this.key(event.sessionId, 'state'),
      JSON.stringify(event),
      event.buildId,
      event.final ? '1' : '0',
      String(STATE_TTL_SECONDS),
    ];
    try {
      return Number(await this.redis.evalsha(PUBLISH_SHA, 2, ...args));
    } catch (e) {
      // Not cached yet (first use, or after a restart or SCRIPT FLUSH): EVAL caches it.
      if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
      return Number(await this.redis.eval(PUBLISH, 2, ...args));
    }
  }

  async latest(sessionId: string): Promise<VersionedEvent | undefined> {
    const [v, event] = await this.redis.hmget(this.key(sessionId, 'state'), 'v', 'event');
    if (!v || !event) return undefined;
    return { version: Number(v), event: JSON.parse(event) as ProgressEvent };
  }

  async delivered(sessionId: string): Promise<{ version: number; at: number }> {
    const [v, at] = await this.redis.hmget(this.key(sessionId, 'delivered'), 'v', 'at');
    return { version: Number(v ?? 0), at: Number(at ?? 0) };
  }

  async markDelivered(sessionId: string, version: number, at: number): Promise<void> {
    const key = this.key(sessionId, 'delivered');
    await this.redis
      .multi()
      .hset(key, 'v', String(version), 'at', String(at))
      .expire(key, STATE_TTL_SECONDS)
      .exec();
  }
}
