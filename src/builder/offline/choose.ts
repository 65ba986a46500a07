import type { TemplateId } from './templates/types.js';

/** The template for a prompt nothing else matches: a landing page fits almost any subject. */
export const DEFAULT_TEMPLATE: TemplateId = 'landing';

interface Rule {
  readonly template: TemplateId;
  /** 3 names the kind of app ("dashboard"), 1 only hints at it ("sales"). */
  readonly weight: number;
  readonly pattern: RegExp;
}

const RULES: readonly Rule[] = [
  // Asking for an API outweighs its subject: "a todo API" is an API, not a todo page.
  {
    template: 'rest-api',
    weight: 5,
    pattern: /\b(?:apis?|rest(?:ful)?\s+(?:service|backend|server)|crud|endpoints?|microservices?)\b/i,
  },
  { template: 'rest-api', weight: 1, pattern: /\b(?:json|backend|server|database)\b/i },
  {
    template: 'dashboard',
    weight: 3,
    pattern:
      /\b(?:dashboards?|charts?|graphs?|analytics|kpis?|metrics|visuali[sz](?:e|ation|er)s?|bar\s+chart)\b/i,
  },
  {
    template: 'dashboard',
    weight: 1,
    pattern:
      /\b(?:stats|statistics|reports?|sales|revenue|plot|data|numbers|expenses?|budget|tracker|scores?)\b/i,
  },
  {
    template: 'todo',
    weight: 3,
    pattern: /\b(?:todos?|to-?dos?|to do|task\s*list|tasks|checklists?|kanban)\b/i,
  },
  {
    template: 'todo',
    weight: 1,
    pattern:
      /\b(?:task|chores?|errands?|shopping\s+list|grocer(?:y|ies)|reminders?|packing\s+list|bucket\s+list|habits?)\b/i,
  },
  {
    template: 'guestbook',
    weight: 3,
    pattern:
      /\b(?:guest\s*book|forms?|surveys?|rsvps?|feedback|questionnaires?|sign-?up\s+sheet|petition)\b/i,
  },
  {
    template: 'guestbook',
    weight: 1,
    pattern: /\b(?:contact|comments?|messages?|visitors?|wall|poll|testimonials?|shout-?outs?|wishes)\b/i,
  },
  {
    template: 'notes',
    weight: 3,
    pattern: /\b(?:notes?|note-?taking|blog(?:s|ging)?|journal|diary|notebook|memos?)\b/i,
  },
  {
    template: 'notes',
    weight: 1,
    pattern: /\b(?:posts?|articles?|writing|essays?|recipes?|ideas|thoughts|wiki|snippets?)\b/i,
  },
  {
    template: 'landing',
    weight: 3,
    pattern:
      /\b(?:landing(?:\s+page)?|home\s*page|portfolio|wait\s*list|coming\s+soon|splash\s+page|one-?pager)\b/i,
  },
  {
    template: 'landing',
    weight: 1,
    pattern:
      /\b(?:website|site|product|startup|launch|marketing|business|company|agency|bakery|restaurant|cafe|shop|store|brand|event|page)\b/i,
  },
];

/**
 * Picks a template by keywords: each template scores the weights of its rules that match;
 * the highest score wins, a tie goes to the template named first in the prompt ("a landing
 * page with a signup form" is a landing page), and no match at all gives a landing page.
 */
export function chooseTemplate(prompt: string): TemplateId {
  const scores = new Map<TemplateId, { score: number; first: number }>();
  for (const rule of RULES) {
    const match = rule.pattern.exec(prompt);
    if (!match) continue;
    const current = scores.get(rule.template) ?? { score: 0, first: Number.POSITIVE_INFINITY };
    scores.set(rule.template, {
      score: current.score + rule.weight,
      first: Math.min(current.first, match.index),
    });
  }
  let best: { template: TemplateId; score: number; first: number } | undefined;
  for (const [template, { score, first }] of scores) {
    if (!best || score > best.score || (score === best.score && first < best.first)) {
      best = { template, score, first };
    }
  }
  return best?.template ?? DEFAULT_TEMPLATE;
}
