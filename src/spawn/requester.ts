import type { Platform, PlatformUser } from '../core/platform.js';
import type { Repos, UserRow } from '../db/repos/index.js';

/** Who is asking, as their platform knows them. */
export interface Requester {
  readonly platform: Platform;
  readonly teamId: string;
  readonly user: PlatformUser;
}

/** The user behind a platform identity (created on first sight). */
export async function resolveUser(repos: Repos, requester: Requester): Promise<UserRow> {
  const { user } = await repos.users.upsertByIdentity({
    platform: requester.platform,
    teamId: requester.teamId,
    platformUserId: requester.user.id,
    displayName: requester.user.name,
  });
  return user;
}
