import { dashboardTemplate } from './dashboard.js';
import { guestbookTemplate } from './guestbook.js';
import { landingTemplate } from './landing.js';
import { notesTemplate } from './notes.js';
import { restApiTemplate } from './rest-api.js';
import { todoTemplate } from './todo.js';
import type { Template, TemplateId } from './types.js';

export const TEMPLATES: Readonly<Record<TemplateId, Template>> = {
  todo: todoTemplate,
  landing: landingTemplate,
  notes: notesTemplate,
  dashboard: dashboardTemplate,
  'rest-api': restApiTemplate,
  guestbook: guestbookTemplate,
};

export type { AppSpec, Template, TemplateId } from './types.js';
export { TEMPLATE_IDS } from './types.js';
