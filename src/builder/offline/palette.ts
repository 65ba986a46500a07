/**
 * The accent colours an offline app can use. Only these fixed values ever reach generated CSS:
 * a colour word in a prompt selects an entry, it is never copied into the page.
 */

export interface Accent {
  /** Accent on a light background (buttons carry white text). */
  readonly light: string;
  /** Accent on a dark background (buttons carry dark text). */
  readonly dark: string;
}

export const ACCENTS = {
  red: { light: '#dc2626', dark: '#f87171' },
  orange: { light: '#ea580c', dark: '#fb923c' },
  amber: { light: '#b45309', dark: '#fbbf24' },
  yellow: { light: '#a16207', dark: '#facc15' },
  green: { light: '#15803d', dark: '#4ade80' },
  teal: { light: '#0f766e', dark: '#2dd4bf' },
  cyan: { light: '#0e7490', dark: '#22d3ee' },
  blue: { light: '#2563eb', dark: '#60a5fa' },
  indigo: { light: '#4f46e5', dark: '#818cf8' },
  purple: { light: '#7e22ce', dark: '#c084fc' },
  pink: { light: '#db2777', dark: '#f472b6' },
  brown: { light: '#92400e', dark: '#d6a77a' },
  gray: { light: '#4b5563', dark: '#9ca3af' },
  black: { light: '#111827', dark: '#f3f4f6' },
} as const satisfies Record<string, Accent>;

export type AccentName = keyof typeof ACCENTS;

export const DEFAULT_ACCENT: AccentName = 'indigo';

export const ACCENT_NAMES = Object.keys(ACCENTS) as AccentName[];

/** Words people use for a colour, mapped onto the palette ("violet" is purple, "grey" is gray). */
export const COLOUR_WORDS: Readonly<Record<string, AccentName>> = {
  red: 'red',
  crimson: 'red',
  scarlet: 'red',
  orange: 'orange',
  amber: 'amber',
  gold: 'amber',
  golden: 'amber',
  yellow: 'yellow',
  green: 'green',
  lime: 'green',
  emerald: 'green',
  olive: 'green',
  teal: 'teal',
  turquoise: 'teal',
  cyan: 'cyan',
  aqua: 'cyan',
  blue: 'blue',
  navy: 'blue',
  indigo: 'indigo',
  purple: 'purple',
  violet: 'purple',
  lavender: 'purple',
  magenta: 'pink',
  pink: 'pink',
  rose: 'pink',
  brown: 'brown',
  gray: 'gray',
  grey: 'gray',
  black: 'black',
};

export type Theme = 'light' | 'dark';
