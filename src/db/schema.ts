import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();

/** A person, whatever platforms they reach us from. */
export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  displayName: text('display_name').notNull().default(''),
  plan: text('plan').notNull().default('free'),
  /** When a paid plan ends (subscription period end); null while it renews or for free. */
  planExpiresAt: timestamp('plan_expires_at', { withTimezone: true }),
  stripeCustomerId: text('stripe_customer_id').unique(),
  stripeSubscriptionId: text('stripe_subscription_id'),
  credits: integer('credits').notNull().default(0),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** A platform account (Slack user in a workspace, Telegram user, web cookie, ...) of a user. */
export const identities = pgTable(
  'identities',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    platform: text('platform').notNull(),
    /** Workspace / guild; empty for platforms without one. */
    teamId: text('team_id').notNull().default(''),
    platformUserId: text('platform_user_id').notNull(),
    displayName: text('display_name').notNull().default(''),
    createdAt: createdAt(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('identities_platform_user_uq').on(t.platform, t.teamId, t.platformUserId),
    index('identities_user_idx').on(t.userId),
  ],
);

/** One app a person asked for, from its first message until it is destroyed. */
export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    platform: text('platform').notNull(),
    conversationKey: text('conversation_key').notNull(),
    conversation: jsonb('conversation').notNull(),
    statusMessage: jsonb('status_message'),
    prompt: text('prompt').notNull(),
    title: text('title').notNull().default(''),
    status: text('status').notNull().default('queued'),
    statusReason: text('status_reason'),
    provider: text('provider').notNull(),
    serviceId: text('service_id'),
    previewUrl: text('preview_url'),
    /** Minutes the app lives once it is live (from the plan at creation). */
    ttlMinutes: integer('ttl_minutes').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    /** The end time the "ends soon" notice was sent for; an extension moves the end and re-arms it. */
    endingNoticeFor: timestamp('ending_notice_for', { withTimezone: true }),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('sessions_user_status_idx').on(t.userId, t.status),
    index('sessions_status_expires_idx').on(t.status, t.expiresAt),
    index('sessions_conversation_idx').on(t.conversationKey, t.createdAt),
  ],
);

/** One generation of a session's app: the first request or a follow-up. */
export const builds = pgTable(
  'builds',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    sessionId: text('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    iteration: integer('iteration').notNull(),
    /** The platform message's idempotency key; one build per message, ever. */
    requestKey: text('request_key').notNull(),
    jobId: text('job_id').notNull(),
    prompt: text('prompt').notNull(),
    status: text('status').notNull().default('queued'),
    builder: text('builder').notNull(),
    model: text('model'),
    promptVersion: text('prompt_version'),
    summary: text('summary'),
    /**
     * The app's version this build became when it went live (1..n over a session's successful
     * builds); null until then, and for builds that never went live.
     */
    version: integer('version'),
    /** A rollback: the version whose stored bundle this build deploys again (no model call). */
    rollbackOf: integer('rollback_of'),
    /** This build's status card (iterations get their own in the thread). */
    statusMessage: jsonb('status_message'),
    inputTokens: integer('input_tokens').notNull().default(0),
    outputTokens: integer('output_tokens').notNull().default(0),
    cacheReadTokens: integer('cache_read_tokens').notNull().default(0),
    cacheWriteTokens: integer('cache_write_tokens').notNull().default(0),
    costMicroUsd: bigint('cost_micro_usd', { mode: 'number' }).notNull().default(0),
    files: jsonb('files').notNull().default(sql`'[]'::jsonb`),
    findings: jsonb('findings').notNull().default(sql`'[]'::jsonb`),
    bundleKey: text('bundle_key'),
    bundleSha256: text('bundle_sha256'),
    bundleBytes: integer('bundle_bytes'),
    errorCode: text('error_code'),
    error: text('error'),
    attempts: integer('attempts').notNull().default(0),
    createdAt: createdAt(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    builtAt: timestamp('built_at', { withTimezone: true }),
    deployedAt: timestamp('deployed_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('builds_request_key_uq').on(t.requestKey),
    uniqueIndex('builds_session_iteration_uq').on(t.sessionId, t.iteration),
    uniqueIndex('builds_session_version_uq').on(t.sessionId, t.version),
    index('builds_created_idx').on(t.createdAt),
  ],
);

/** Money (or Stars) received, each applied once. */
export const payments = pgTable(
  'payments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    sessionId: text('session_id'),
    provider: text('provider').notNull(),
    kind: text('kind').notNull(),
    plan: text('plan'),
    stripeCheckoutSessionId: text('stripe_checkout_session_id'),
    stripeEventId: text('stripe_event_id'),
    telegramChargeId: text('telegram_charge_id'),
    amount: integer('amount').notNull(),
    currency: text('currency').notNull(),
    /** `pending` from checkout creation until paid; `paid`; `refunded`; `expired`. */
    status: text('status').notNull().default('paid'),
    stripeSubscriptionId: text('stripe_subscription_id'),
    stripePaymentIntentId: text('stripe_payment_intent_id'),
    /** Where the purchase was made, so the person is told there when it is granted. */
    conversation: jsonb('conversation'),
    grantedAt: timestamp('granted_at', { withTimezone: true }),
    refundedAt: timestamp('refunded_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('payments_checkout_session_uq').on(t.stripeCheckoutSessionId),
    uniqueIndex('payments_stripe_event_uq').on(t.stripeEventId),
    uniqueIndex('payments_telegram_charge_uq').on(t.telegramChargeId),
    index('payments_user_idx').on(t.userId),
    index('payments_payment_intent_idx').on(t.stripePaymentIntentId),
  ],
);

/** Every verified inbound delivery, so a retried one is recognised. */
export const inboundEvents = pgTable(
  'inbound_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    platform: text('platform').notNull(),
    eventId: text('event_id').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('inbound_events_platform_event_uq').on(t.platform, t.eventId),
    index('inbound_events_received_idx').on(t.receivedAt),
  ],
);

/** Who changed what, when. Session status changes are written in the same transaction. */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    subjectType: text('subject_type').notNull(),
    subjectId: text('subject_id').notNull(),
    data: jsonb('data').notNull().default(sql`'{}'::jsonb`),
  },
  (t) => [index('audit_log_subject_idx').on(t.subjectType, t.subjectId, t.at)],
);

/** The built-in web chat's messages (other platforms keep their own history). */
export const webMessages = pgTable(
  'web_messages',
  {
    id: text('id').primaryKey(),
    conversationId: text('conversation_id').notNull(),
    role: text('role').notNull(),
    view: jsonb('view').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('web_messages_conversation_idx').on(t.conversationId, t.createdAt)],
);

/** A Slack workspace that installed the app ("Add to Slack"); its bot token encrypted at rest. */
export const slackInstallations = pgTable('slack_installations', {
  /** The workspace (team) id; for an org-wide install, the enterprise id. */
  id: text('id').primaryKey(),
  teamId: text('team_id'),
  enterpriseId: text('enterprise_id'),
  teamName: text('team_name').notNull().default(''),
  appId: text('app_id'),
  botUserId: text('bot_user_id').notNull(),
  botId: text('bot_id'),
  /** AES-256-GCM with ENCRYPTION_KEY (see src/util/secret-box.ts). */
  botTokenEncrypted: text('bot_token_encrypted').notNull(),
  scopes: text('scopes').notNull().default(''),
  installedBy: text('installed_by'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/**
 * One-time codes that join another platform's identity to an account (`link`). Only a hash of
 * the code is kept; a code works once and until `expires_at`.
 */
export const linkCodes = pgTable(
  'link_codes',
  {
    codeHash: text('code_hash').primaryKey(),
    /** The account the code joins others to. */
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index('link_codes_user_idx').on(t.userId), index('link_codes_expires_idx').on(t.expiresAt)],
);

export const schema = {
  users,
  identities,
  sessions,
  builds,
  payments,
  inboundEvents,
  auditLog,
  webMessages,
  slackInstallations,
  linkCodes,
};
