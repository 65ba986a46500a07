/**
 * JSON REST API: CRUD over one resource named from the prompt ("an API for books" ->
 * /api/books). Records are any JSON object; the server owns `id`, `createdAt`, `updatedAt`.
 * CORS is open so the API can be tried from any page.
 *
 * API: GET / -> 200 {name, description, resource, endpoints: [{method, path, description}]},
 * GET /api/<resource>, POST /api/<resource> (201 + Location), GET|PUT|PATCH|DELETE
 * /api/<resource>/:id (PUT replaces, PATCH merges, DELETE answers 204).
 *
 * No page, so no selectors: tests use the endpoints listed by GET /.
 */

import type { AppFile } from '../../types.js';
import { jsLiteral } from '../escape.js';
import { singularize } from '../resource.js';
import { serverSource } from './server-runtime.js';
import type { AppSpec, Template } from './types.js';

function endpoints(resource: string) {
  const one = singularize(resource);
  const base = `/api/${resource}`;
  return [
    { method: 'GET', path: base, description: `List all ${resource}.` },
    { method: 'POST', path: base, description: `Create a ${one} from a JSON object.` },
    { method: 'GET', path: `${base}/:id`, description: `Get one ${one}.` },
    { method: 'PUT', path: `${base}/:id`, description: `Replace a ${one}.` },
    { method: 'PATCH', path: `${base}/:id`, description: `Change some fields of a ${one}.` },
    { method: 'DELETE', path: `${base}/:id`, description: `Delete a ${one}.` },
  ];
}

const routes = (spec: AppSpec) => `
const RESOURCE = ${jsLiteral(spec.resource)};
const INDEX = ${jsLiteral({
  name: spec.title,
  description: spec.description,
  resource: spec.resource,
  endpoints: endpoints(spec.resource),
})};
const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type',
};

async function handle(req, res, url) {
  for (const [name, value] of Object.entries(CORS)) res.setHeader(name, value);
  if (req.method === 'OPTIONS') return sendEmpty(res, 204);
  if (url.pathname === '/') {
    if (req.method !== 'GET') throw notAllowed('GET');
    return sendJson(res, 200, { ...INDEX, count: store.list().length });
  }
  const route = matchApi(url.pathname, RESOURCE);
  if (!route) throw notFound();
  if (route.id === undefined) {
    if (req.method === 'GET') return sendJson(res, 200, store.list());
    if (req.method !== 'POST') throw notAllowed('GET, POST');
    const record = store.add(await readObject(req));
    return sendJson(res, 201, record, { Location: '/api/' + RESOURCE + '/' + record.id });
  }
  const record = store.get(route.id);
  if (req.method === 'GET') return sendJson(res, 200, record);
  if (req.method === 'PUT') return sendJson(res, 200, store.replace(record.id, await readObject(req)));
  if (req.method === 'PATCH') {
    return sendJson(res, 200, store.replace(record.id, { ...record, ...(await readObject(req)) }));
  }
  if (req.method === 'DELETE') {
    store.remove(record.id);
    return sendEmpty(res, 204);
  }
  throw notAllowed('GET, PUT, PATCH, DELETE');
}
`;

export const restApiTemplate: Template = {
  id: 'rest-api',
  label: 'a JSON REST API',
  render(spec: AppSpec): AppFile[] {
    return [
      {
        path: 'server.js',
        content: serverSource({ template: 'rest-api', title: spec.title, page: false, routes: routes(spec) }),
      },
    ];
  },
};
