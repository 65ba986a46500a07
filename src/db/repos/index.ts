import type { Db } from '../client.js';
import { AccountsRepo } from './accounts.js';
import { AdminRepo } from './admin.js';
import { AuditRepo } from './audit.js';
import { BuildsRepo } from './builds.js';
import { InboundEventsRepo } from './inbound-events.js';
import { PaymentsRepo } from './payments.js';
import { SessionsRepo } from './sessions.js';
import { SlackInstallationsRepo } from './slack-installations.js';
import { UsersRepo } from './users.js';
import { WebMessagesRepo } from './web-messages.js';

export type { LinkCodeRow, MergedAccountPatch } from './accounts.js';
export type { AuditEntry, AuditRow } from './audit.js';
export type { BuildPatch, BuildRow, FileEntry, Finding, NewBuild } from './builds.js';
export type { NewPayment, PaymentRow } from './payments.js';
export type { NewSession, SessionPatch, SessionRow, TransitionResult } from './sessions.js';
export type { NewSlackInstallation, SlackInstallationRow } from './slack-installations.js';
export type { IdentityInput, IdentityRow, UserRow } from './users.js';
export type { WebMessageRow } from './web-messages.js';

/** Every table's repository, bound to one database or one transaction. */
export interface Repos {
  readonly users: UsersRepo;
  readonly sessions: SessionsRepo;
  readonly builds: BuildsRepo;
  readonly payments: PaymentsRepo;
  readonly inboundEvents: InboundEventsRepo;
  readonly audit: AuditRepo;
  readonly webMessages: WebMessagesRepo;
  readonly admin: AdminRepo;
  readonly slackInstallations: SlackInstallationsRepo;
  readonly accounts: AccountsRepo;
  /** Runs `fn` in one transaction with repositories bound to it. */
  transaction<T>(fn: (repos: Repos) => Promise<T>): Promise<T>;
}

export function createRepos(db: Db): Repos {
  return {
    users: new UsersRepo(db),
    sessions: new SessionsRepo(db),
    builds: new BuildsRepo(db),
    payments: new PaymentsRepo(db),
    inboundEvents: new InboundEventsRepo(db),
    audit: new AuditRepo(db),
    webMessages: new WebMessagesRepo(db),
    admin: new AdminRepo(db),
    slackInstallations: new SlackInstallationsRepo(db),
    accounts: new AccountsRepo(db),
    transaction: (fn) => db.transaction((tx) => fn(createRepos(tx as unknown as Db))),
  };
}
