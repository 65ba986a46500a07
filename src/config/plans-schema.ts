import { z } from 'zod';

/** The plans people can be on. */
export const PLAN_NAMES = ['free', 'pro', 'team'] as const;
export type PlanName = (typeof PLAN_NAMES)[number];

/** What PLANS_JSON may override per plan (everything optional). */
export const planOverrideSchema = z
  .object({
    liveSessions: z.number().int().min(0),
    buildsPerDay: z.number().int().min(0),
    ttlMinutes: z.number().int().min(1),
    extendMinutes: z.number().int().min(1),
    maxSessionMinutes: z.number().int().min(1),
    maxOutputTokens: z.number().int().min(256),
    buildWallTimeMs: z.number().int().min(1000),
    model: z.string().min(1),
    effort: z.enum(['low', 'medium', 'high', 'xhigh', 'max']),
    maxRepairs: z.number().int().min(0).max(10),
    providers: z.array(z.enum(['local', 'railway', 'render'])).min(1),
    spawnsPerHour: z.number().int().min(1),
    monthlyCapUsd: z.number().min(0),
    sessionCapUsd: z.number().min(0),
  })
  .partial()
  .strict();

export const plansJsonSchema = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not JSON' });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .object({ free: planOverrideSchema, pro: planOverrideSchema, team: planOverrideSchema })
      .partial()
      .strict(),
  );

export type PlanOverrides = z.output<typeof plansJsonSchema>;
