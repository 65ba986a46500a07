import type { SlackInstallationsRepo } from '../../src/db/repos/slack-installations.js';
import { SpawnError } from '../../src/errors.js';
import type { SecretBox } from '../../src/util/secret-box.js';

/** How long a workspace's token is kept in memory before the database is asked again. */
export const SLACK_TOKEN_CACHE_MS = 60_000;

/** Who we are in one workspace, and the token to act there. */
export interface SlackAuth {
  readonly teamId: string;
  readonly token: string;
  readonly botUserId?: string;
  readonly botId?: string;
}

/** What `oauth.v2.access` told us about a new installation. */
export interface NewInstallation {
  /** The workspace id; the enterprise id for an org-wide install. */
  readonly id: string;
  readonly teamId: string | null;
  readonly enterpriseId: string | null;
  readonly teamName: string;
  readonly appId: string | null;
  readonly botUserId: string;
  readonly botId: string | null;
  readonly botToken: string;
  readonly scopes: string;
  readonly installedBy: string | null;
}

/** Who a token belongs to (auth.test). */
export type IdentifyToken = (
  token: string,
) => Promise<{ teamId: string; botUserId?: string; botId?: string }>;

/** Where a workspace's bot token comes from. */
export interface SlackTokens {
  /** Throws ERR_PLATFORM_AUTH when we hold no token for the workspace. */
  forTeam(teamId: string): Promise<SlackAuth>;
  /** Whether the workspace is served by its own installation (OAuth) rather than SLACK_BOT_TOKEN. */
  installed(teamId: string): Promise<boolean>;
}

/**
 * Installations in Postgres with their bot tokens sealed by {@link SecretBox}, plus the
 * single-workspace SLACK_BOT_TOKEN as the fallback. Tokens are cached briefly per process.
 */
export class SlackInstallations implements SlackTokens {
  private readonly cache = new Map<string, { auth: SlackAuth | undefined; at: number }>();
  private single: Promise<{ teamId: string; botUserId?: string; botId?: string }> | undefined;

  /**
   * @param identify With installs on, SLACK_BOT_TOKEN serves only its own workspace, which
   *   this finds out once (auth.test); without installs it serves whoever is signed in.
   */
  constructor(
    private readonly repo: SlackInstallationsRepo | undefined,
    private readonly box: SecretBox | undefined,
    private readonly singleToken: string | undefined,
    private readonly identify?: IdentifyToken,
    private readonly now: () => number = Date.now,
  ) {}

  async save(install: NewInstallation): Promise<void> {
    if (!this.repo || !this.box) throw new SpawnError('ERR_CONFIG', 'Slack installs are not configured.');
    await this.repo.upsert({
      id: install.id,
      teamId: install.teamId,
      enterpriseId: install.enterpriseId,
      teamName: install.teamName,
      appId: install.appId,
      botUserId: install.botUserId,
      botId: install.botId,
      botTokenEncrypted: this.box.seal(install.botToken),
      scopes: install.scopes,
      installedBy: install.installedBy,
    });
    this.cache.delete(install.id);
  }

  async remove(teamId: string): Promise<boolean> {
    this.cache.delete(teamId);
    return this.repo ? this.repo.delete(teamId) : false;
  }

  private async lookup(teamId: string): Promise<SlackAuth | undefined> {
    if (!this.repo || !this.box || teamId === '') return undefined;
    const hit = this.cache.get(teamId);
    if (hit && this.now() - hit.at < SLACK_TOKEN_CACHE_MS) return hit.auth;
    const row = await this.repo.get(teamId);
    let auth: SlackAuth | undefined;
    if (row) {
      let token: string;
      try {
        token = this.box.open(row.botTokenEncrypted);
      } catch (e) {
        // Sealed with another ENCRYPTION_KEY: the workspace must install again.
        throw new SpawnError(
          'ERR_PLATFORM_AUTH',
          'The stored Slack token cannot be decrypted with ENCRYPTION_KEY.',
          {
            cause: e,
          },
        );
      }
      auth = {
        teamId,
        token,
        botUserId: row.botUserId,
        ...(row.botId ? { botId: row.botId } : {}),
      };
    }
    this.cache.set(teamId, { auth, at: this.now() });
    return auth;
  }

  private singleOwner(token: string, identify: IdentifyToken) {
    this.single ??= identify(token).catch((e: unknown) => {
      this.single = undefined; // ask again next time
      throw e;
    });
    return this.single;
  }

  /**
   * With installs on, finds out SLACK_BOT_TOKEN's workspace now rather than inside the first
   * request's 3-second window.
   */
  warm(onError: (e: unknown) => void): void {
    if (this.singleToken && this.repo && this.identify) {
      this.singleOwner(this.singleToken, this.identify).catch(onError);
    }
  }

  async installed(teamId: string): Promise<boolean> {
    return (await this.lookup(teamId)) !== undefined;
  }

  async forTeam(teamId: string): Promise<SlackAuth> {
    const installed = await this.lookup(teamId);
    if (installed) return installed;
    if (this.singleToken && (!this.repo || !this.identify)) return { teamId, token: this.singleToken };
    if (this.singleToken && this.identify) {
      const owner = await this.singleOwner(this.singleToken, this.identify);
      if (owner.teamId === teamId) {
        return {
          teamId,
          token: this.singleToken,
          ...(owner.botUserId ? { botUserId: owner.botUserId } : {}),
          ...(owner.botId ? { botId: owner.botId } : {}),
        };
      }
    }
    throw new SpawnError('ERR_PLATFORM_AUTH', 'SpawnAI is not installed in this Slack workspace.');
  }
}
