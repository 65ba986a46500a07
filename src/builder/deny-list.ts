import type { AppFile, BuildFinding } from './types.js';

/**
 * Patterns a generated app should not contain. A scan is a cheap first line of defence, not
 * a sandbox: the local provider's permission model and the providers' isolation are what
 * actually contain an app. It catches the model (or a prompt injection) doing what the
 * system prompt forbids, and records it on the build.
 */
export interface DenyRule {
  /** Stable id, stored on the build's findings. */
  readonly rule: string;
  /** What a match means, in words a person can read ("starts other processes"). */
  readonly what: string;
  /** A blocking match fails validation; a non-blocking one is only recorded. */
  readonly blocking: boolean;
  readonly patterns: readonly RegExp[];
}

export const DENY_RULES: readonly DenyRule[] = [
  {
    rule: 'process-spawn',
    what: 'starts other processes (child_process, cluster or native bindings)',
    blocking: true,
    patterns: [
      /['"`](?:node:)?child_process['"`]/,
      // "cluster" is also an everyday word: only as a module name.
      /(?:\brequire\s*\(|\bimport\s*\(|\bfrom|\bimport)\s*['"`](?:node:)?cluster['"`]/,
      /\bprocess\s*\.\s*(?:binding|_linkedBinding|dlopen)\s*\(/,
    ],
  },
  {
    rule: 'crypto-mining',
    what: 'looks like crypto-currency mining',
    blocking: true,
    patterns: [
      /stratum\+(?:tcp|ssl|tls):\/\//i,
      /\b(?:xmrig|coinhive|coin-hive|cryptonight|cryptoloot|coinimp|webminerpool|nicehash)\b/i,
    ],
  },
  {
    rule: 'cloud-metadata',
    what: 'contacts a cloud metadata address',
    blocking: true,
    patterns: [
      /\b169\.254\.169\.254\b/,
      /\b169\.254\.170\.2\b/,
      /\b100\.100\.100\.200\b/,
      /metadata\.google\.internal/i,
      /\bfd00:ec2::254\b/i,
    ],
  },
  {
    // Apps get PORT and NODE_ENV only; reading anything else cannot reach a secret of ours,
    // but it means the app expects configuration it will not get, so it is worth recording.
    rule: 'env-read',
    what: 'reads environment variables other than PORT and NODE_ENV',
    blocking: false,
    patterns: [
      /\bprocess\s*(?:\.\s*env|\[\s*['"`]env['"`]\s*\])(?!\s*(?:\.\s*(?:PORT|NODE_ENV)\b|\[\s*['"`](?:PORT|NODE_ENV)['"`]\s*\]))/,
    ],
  },
];

/** Longest excerpt of a matching line kept on a finding. */
const EXCERPT_MAX_CHARS = 120;
/** Findings kept per scan; a minified bundle could otherwise match thousands of times. */
export const FINDINGS_MAX = 50;

const RULES_BY_ID = new Map(DENY_RULES.map((r) => [r.rule, r]));

function excerpt(line: string): string {
  const trimmed = line.trim();
  return trimmed.length > EXCERPT_MAX_CHARS ? `${trimmed.slice(0, EXCERPT_MAX_CHARS - 3)}...` : trimmed;
}

/** Every deny-list match in the files, at most one per rule, file and line. */
export function scanFiles(
  files: readonly AppFile[],
  rules: readonly DenyRule[] = DENY_RULES,
): BuildFinding[] {
  const findings: BuildFinding[] = [];
  for (const file of files) {
    const lines = file.content.split('\n');
    for (const [i, line] of lines.entries()) {
      for (const rule of rules) {
        if (!rule.patterns.some((p) => p.test(line))) continue;
        findings.push({ rule: rule.rule, path: file.path, line: i + 1, excerpt: excerpt(line) });
        if (findings.length >= FINDINGS_MAX) return findings;
      }
    }
  }
  return findings;
}

/** Whether a finding fails validation (unknown rules, e.g. recorded by a builder, do not). */
export function isBlocking(finding: BuildFinding): boolean {
  return RULES_BY_ID.get(finding.rule)?.blocking ?? false;
}

/** "server.js line 3 starts other processes (...)": safe to show, names no content. */
export function describeFinding(finding: BuildFinding): string {
  const what = RULES_BY_ID.get(finding.rule)?.what ?? finding.rule;
  return `${finding.path}${finding.line ? ` line ${finding.line}` : ''} ${what}`;
}
