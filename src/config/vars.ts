import { z } from 'zod';

/**
 * One entry per environment variable: how it is parsed, what a bad value is told,
 * its default, and whether it is a secret (never printed, never logged).
 */
export interface VarSpec<S extends z.ZodType = z.ZodType> {
  readonly schema: S;
  /** What a valid value looks like; shown when the value is bad. */
  readonly expected: string;
  /** One line for `.env.example` and the README. */
  readonly doc: string;
  /** Default as written in `.env.example` (empty: unset). */
  readonly example: string;
  readonly secret: boolean;
  readonly group: VarGroup;
}

export type VarGroup =
  | 'service'
  | 'stores'
  | 'spawn'
  | 'worker'
  | 'local provider'
  | 'Claude'
  | 'Slack'
  | 'Discord'
  | 'Telegram'
  | 'Stripe'
  | 'billing'
  | 'Railway'
  | 'Render'
  | 'Supabase'
  | 'runtime'
  | 'observability';

interface Options {
  doc: string;
  group: VarGroup;
  secret?: boolean;
}

function spec<S extends z.ZodType>(schema: S, expected: string, example: string, o: Options): VarSpec<S> {
  return { schema, expected, example, doc: o.doc, group: o.group, secret: o.secret ?? false };
}

export function int(def: number, min: number, max: number, o: Options) {
  return spec(
    z.coerce.number().int().min(min).max(max).default(def),
    `an integer from ${min} to ${max}`,
    String(def),
    o,
  );
}

export function num(def: number, min: number, max: number, o: Options) {
  return spec(
    z.coerce.number().min(min).max(max).default(def),
    `a number from ${min} to ${max}`,
    String(def),
    o,
  );
}

export function optionalNum(min: number, max: number, o: Options) {
  return spec(z.coerce.number().min(min).max(max).optional(), `a number from ${min} to ${max}`, '', o);
}

export function optionalString(o: Options & { min?: number; pattern?: RegExp; expected?: string }) {
  let s = z.string().min(o.min ?? 1);
  if (o.pattern) s = s.regex(o.pattern);
  return spec(s.optional(), o.expected ?? 'a non-empty string', '', o);
}

export function stringWithDefault(def: string, o: Options & { expected?: string; pattern?: RegExp }) {
  const s = o.pattern ? z.string().min(1).regex(o.pattern) : z.string().min(1);
  return spec(s.default(def), o.expected ?? 'a non-empty string', def, o);
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T, def: T[number], o: Options) {
  return spec(z.enum(values).default(def), `one of ${values.join(', ')}`, def, o);
}

export function optionalOneOf<const T extends readonly [string, ...string[]]>(values: T, o: Options) {
  return spec(z.enum(values).optional(), `one of ${values.join(', ')}`, '', o);
}

export function bool(def: boolean, o: Options) {
  const schema = z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
  return spec(schema, 'true or false', String(def), o);
}

function isUrlWith(protocols: readonly string[]) {
  return (value: string): boolean => {
    try {
      const u = new URL(value);
      return protocols.includes(u.protocol) && u.host.length > 0;
    } catch {
      return false;
    }
  };
}

export function optionalUrl(protocols: readonly string[], o: Options) {
  const names = protocols.map((p) => `${p}//`).join(' or ');
  return spec(z.string().refine(isUrlWith(protocols)).optional(), `a URL starting with ${names}`, '', o);
}

export function urlWithDefault(def: string, protocols: readonly string[], o: Options) {
  const names = protocols.map((p) => `${p}//`).join(' or ');
  return spec(
    z
      .string()
      .refine(isUrlWith(protocols))
      .default(def)
      .transform((v) => v.replace(/\/+$/, '')),
    `a URL starting with ${names}`,
    def,
    o,
  );
}

/** A comma-separated list of integers, e.g. `1,5`. */
export function intList(def: string, o: Options) {
  const schema = z
    .string()
    .default(def)
    .refine((v) => v.split(',').every((p) => /^\s*\d+\s*$/.test(p)))
    .transform((v) => v.split(',').map((p) => Number.parseInt(p.trim(), 10)));
  return spec(schema, 'a comma-separated list of whole numbers', def, o);
}

/** An optional value parsed and checked by its own schema (e.g. JSON). */
export function optionalParsed<S extends z.ZodType>(schema: S, expected: string, o: Options) {
  return spec(schema.optional(), expected, '', o);
}
