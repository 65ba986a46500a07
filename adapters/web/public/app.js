// SpawnAI web chat: plain DOM, no framework. Cards arrive over SSE and are redrawn in place by id.
(() => {
  const $ = (sel) => document.querySelector(sel);
  const list = $('#messages');
  const form = $('#composer');
  const input = $('#prompt');
  const send = $('#send');
  const rendered = new Map();
  let countdownTimer;

  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k.startsWith('data-')) node.setAttribute(k, v);
      else if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c) node.append(c);
    return node;
  };

  const clientId = () =>
    (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`).replace(
      /[^A-Za-z0-9_-]/g,
      '',
    );

  // URLs in plain text become links; everything else stays text (never innerHTML).
  function linkify(text) {
    const frag = document.createDocumentFragment();
    const re = /(https?:\/\/[^\s]+)/g;
    let last = 0;
    for (const m of text.matchAll(re)) {
      frag.append(text.slice(last, m.index));
      frag.append(
        el('a', { href: m[0], target: '_blank', rel: 'noopener', class: 'preview-link', text: m[0] }),
      );
      last = m.index + m[0].length;
    }
    frag.append(text.slice(last));
    return frag;
  }

  function timeLeft(iso) {
    const ms = new Date(iso).getTime() - Date.now();
    if (ms <= 0) return 'ended';
    const min = Math.round(ms / 60000);
    if (min < 1) return 'less than a minute';
    return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
  }

  function renderCard(msg) {
    const v = msg.view;
    const card = el('li', {
      class: `card ${v.tone || 'info'}${msg.id.startsWith('tmp-') ? ' transient' : ''}`,
      'data-id': msg.id,
      'data-session': v.sessionId,
      'data-stage': v.progress ? v.progress.stage : undefined,
    });
    card.append(el('h3', { text: v.title }));
    if (v.text) {
      const p = el('p', { class: 'text' });
      p.append(linkify(v.text));
      card.append(p);
    }
    if (v.progress) {
      const pct = Math.max(0, Math.min(100, Math.round(v.progress.percent)));
      const bar = el('div', {
        class: 'progress-bar',
        role: 'progressbar',
        'aria-valuemin': '0',
        'aria-valuemax': '100',
        'aria-valuenow': String(pct),
        'data-percent': String(pct),
      });
      bar.style.width = `${pct}%`;
      card.append(
        el(
          'div',
          { class: 'progress' },
          el('div', { class: 'progress-track' }, bar),
          el(
            'div',
            { class: 'progress-label' },
            el('span', { class: 'stage', text: `${v.progress.stage}` }),
            el('span', { class: 'detail', text: v.progress.detail || '' }),
            el('span', { class: 'percent', text: `${pct}%` }),
          ),
        ),
      );
    }
    const fields = (v.fields || []).filter((f) => !(f.label === 'Time left' && v.expiresAt));
    if (fields.length || v.expiresAt) {
      const row = el('div', { class: 'fields' });
      for (const f of fields) row.append(el('span', {}, `${f.label}: `, el('b', { text: f.value })));
      if (v.expiresAt) {
        row.append(
          el(
            'span',
            {},
            'Time left: ',
            el('b', { class: 'countdown', 'data-until': v.expiresAt, text: timeLeft(v.expiresAt) }),
          ),
        );
      }
      card.append(row);
    }
    if (v.buttons?.length) {
      const row = el('div', { class: 'buttons' });
      for (const b of v.buttons) {
        if (b.kind === 'link') {
          row.append(
            el('a', {
              class: 'button preview-link',
              href: b.url,
              target: '_blank',
              rel: 'noopener',
              text: b.label,
            }),
          );
        } else {
          const btn = el('button', {
            type: 'button',
            class: b.style === 'danger' ? 'danger' : 'secondary',
            'data-action': b.action,
            'data-session': b.sessionId,
            text: b.label,
          });
          btn.addEventListener('click', () => act(b.action, b.sessionId, btn, b.version));
          row.append(btn);
        }
      }
      card.append(row);
    }
    if (v.footer) card.append(el('div', { class: 'footer', text: v.footer }));
    return card;
  }

  function render(msg) {
    $('#empty')?.remove();
    const node =
      msg.role === 'user'
        ? el('li', { class: 'msg user', 'data-id': msg.id, text: msg.view.text })
        : renderCard(msg);
    const existing = rendered.get(msg.id);
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    if (existing?.node.isConnected) {
      if (existing.updatedAt > msg.updatedAt) return;
      existing.node.replaceWith(node);
    } else {
      list.append(node);
    }
    rendered.set(msg.id, { node, updatedAt: msg.updatedAt });
    if (atBottom || !existing) list.scrollTop = list.scrollHeight;
  }

  // A 503 with Retry-After means the server took in as much as it can at once: the same request
  // is sent again after the wait it asks for (growing, with jitter), a few times. Its clientId
  // makes a repeat the same message, never a second one.
  const RESENDS = 5;
  const RESEND_MAX_WAIT_S = 30;

  async function api(path, body) {
    let res;
    let notice;
    for (let attempt = 0; ; attempt++) {
      res = await fetch(path, {
        method: body ? 'POST' : 'GET',
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
        credentials: 'same-origin',
      });
      const retryAfterS = Number(res.headers.get('retry-after'));
      if (!body || res.status !== 503 || !(retryAfterS > 0) || attempt >= RESENDS) break;
      const waitS = Math.min(RESEND_MAX_WAIT_S, retryAfterS * 2 ** attempt);
      notice = notice || `tmp-${clientId()}`;
      const now = new Date().toISOString();
      render({
        id: notice,
        role: 'bot',
        view: {
          tone: 'info',
          title: 'Busy',
          text: `Many requests are arriving right now: sending yours again in ${waitS} s.`,
        },
        createdAt: now,
        updatedAt: now,
      });
      await new Promise((resolve) => setTimeout(resolve, waitS * 1000 * (0.8 + 0.4 * Math.random())));
    }
    if (notice) {
      rendered.get(notice)?.node.remove();
      rendered.delete(notice);
    }
    const data = await res.json().catch(() => ({}));
    if (!res.ok && !data.replies) {
      const message = data.error?.message || `Request failed (${res.status})`;
      const now = new Date().toISOString();
      render({
        id: `tmp-${clientId()}`,
        role: 'bot',
        view: { tone: 'error', title: 'Something went wrong', text: message },
        createdAt: now,
        updatedAt: now,
      });
      return undefined;
    }
    return data;
  }

  async function act(action, sessionId, button, version) {
    button.disabled = true;
    const body = { action, sessionId, clientId: clientId() };
    if (version !== undefined) body.version = version;
    const data = await api('/api/web/actions', body);
    for (const r of data?.replies || []) render(r);
    button.disabled = false;
    refreshSessions();
  }

  // Pictures go with the message as base64 (the server checks count, type and size again).
  const pictures = $('#pictures');
  const readPicture = (file) =>
    new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () =>
        resolve({ name: file.name, type: file.type, data: String(reader.result).split(',')[1] || '' });
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });

  async function submit(text) {
    const id = clientId();
    send.disabled = true;
    try {
      const files = pictures ? [...pictures.files] : [];
      const images = files.length ? await Promise.all(files.map(readPicture)) : undefined;
      if (pictures) pictures.value = '';
      const data = await api('/api/web/messages', { text, clientId: id, ...(images ? { images } : {}) });
      if (data) {
        render(data.message);
        for (const r of data.replies) render(r);
      }
    } finally {
      send.disabled = false;
      refreshSessions();
    }
  }

  async function loadHistory() {
    const data = await api('/api/web/messages');
    for (const m of data?.messages || []) render(m);
  }

  async function refreshSessions() {
    const data = await api('/api/web/sessions');
    const ul = $('#session-list');
    ul.replaceChildren();
    if (!data?.sessions?.length) {
      ul.append(el('li', { class: 'muted', text: 'None yet.' }));
      return;
    }
    for (const s of data.sessions) {
      const li = el('li', { 'data-session': s.id });
      li.append(el('div', { text: s.title }));
      li.append(
        el('div', {
          class: `status ${s.status}`,
          text: s.status + (s.expiresAt && s.status === 'live' ? ` · ${timeLeft(s.expiresAt)} left` : ''),
        }),
      );
      if (s.previewUrl)
        li.append(el('a', { href: s.previewUrl, target: '_blank', rel: 'noopener', text: 'Open' }));
      ul.append(li);
    }
  }

  function connect() {
    const conn = $('#connection');
    const es = new EventSource('/api/web/events');
    es.addEventListener('ready', () => {
      conn.hidden = true;
      loadHistory();
    });
    es.addEventListener('message', (e) => {
      const payload = JSON.parse(e.data);
      if (payload.type === 'message') {
        render(payload.message);
        if (
          payload.message.view?.progress?.stage &&
          ['live', 'failed', 'stopped', 'expired'].includes(payload.message.view.progress.stage)
        )
          refreshSessions();
      }
    });
    es.onerror = () => {
      conn.hidden = false;
    };
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    input.style.height = '';
    submit(text);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener('input', () => {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  });
  for (const b of document.querySelectorAll('.example')) {
    b.addEventListener('click', () => {
      input.value = b.textContent;
      input.focus();
    });
  }
  $('#toggle-sessions').addEventListener('click', (e) => {
    const open = $('#sessions').classList.toggle('open');
    e.currentTarget.setAttribute('aria-expanded', String(open));
  });
  countdownTimer = setInterval(() => {
    for (const c of document.querySelectorAll('.countdown')) c.textContent = timeLeft(c.dataset.until);
  }, 15000);
  window.addEventListener('beforeunload', () => clearInterval(countdownTimer));

  fetch('/api/web/me', { credentials: 'same-origin' }).then(() => {
    connect();
    refreshSessions();
  });
})();
