// SpawnAI admin dashboard: plain DOM, data from /admin/api/*. The cookie set at sign-in authorises the calls.
(() => {
  const $ = (s) => document.querySelector(s);
  const usd = (micro) => `$${(Number(micro) / 1e6).toFixed(micro && Number(micro) < 10_000 ? 4 : 2)}`;
  const when = (iso) => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 16) : '');
  const td = (text, cls) => {
    const c = document.createElement('td');
    c.textContent = text ?? '';
    if (cls) c.className = cls;
    return c;
  };
  const row = (cells) => {
    const r = document.createElement('tr');
    for (const c of cells) r.append(c);
    return r;
  };
  async function get(path) {
    const res = await fetch(path, { credentials: 'same-origin' });
    if (res.status === 401) location.href = '/admin/login';
    return res.json();
  }

  function totals(t) {
    const revenue =
      t.revenue
        .map(
          (r) =>
            `${(r.amount / (r.currency === 'xtr' ? 1 : 100)).toFixed(r.currency === 'xtr' ? 0 : 2)} ${r.currency.toUpperCase()}`,
        )
        .join(' + ') || '0';
    const items = [
      ['Live apps', t.sessions.live],
      ['Sessions', t.sessions.total],
      ['Builds', t.builds.total],
      ['Build error rate', `${(t.builds.errorRate * 100).toFixed(1)}%`],
      ['LLM cost', usd(t.builds.costMicroUsd)],
      ['Revenue', revenue],
      ['Users', t.users],
    ];
    const box = $('#totals');
    box.replaceChildren();
    for (const [label, value] of items) {
      const card = document.createElement('div');
      card.className = 'card';
      card.innerHTML = '<div class="label"></div><div class="value"></div>';
      card.querySelector('.label').textContent = label;
      card.querySelector('.value').textContent = String(value);
      box.append(card);
    }
  }

  function chart(daily) {
    const ns = 'http://www.w3.org/2000/svg';
    // A fixed 14-day axis, empty days included, so one busy day does not fill the chart.
    const byDay = new Map(daily.builds.map((d) => [d.day, d]));
    const days = [];
    for (let i = 13; i >= 0; i--) {
      const day = new Date(Date.now() - i * 86_400_000).toISOString().slice(0, 10);
      days.push(byDay.get(day) ?? { day, builds: 0, failed: 0, costMicroUsd: 0 });
    }
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 600 200');
    const max = Math.max(1, ...days.map((d) => d.builds));
    const maxCost = Math.max(1, ...days.map((d) => d.costMicroUsd));
    const w = 600 / Math.max(days.length, 1);
    const points = [];
    days.forEach((d, i) => {
      const h = (d.builds / max) * 160;
      if (d.builds === 0) {
        addLabel(i, d);
        return;
      }
      const bar = document.createElementNS(ns, 'rect');
      bar.setAttribute('class', 'bar');
      bar.setAttribute('x', String(i * w + 4));
      bar.setAttribute('y', String(180 - h));
      bar.setAttribute('width', String(Math.max(2, w - 8)));
      bar.setAttribute('height', String(h));
      bar.setAttribute('data-day', d.day);
      bar.setAttribute('data-builds', String(d.builds));
      const title = document.createElementNS(ns, 'title');
      title.textContent = `${d.day}: ${d.builds} builds (${d.failed} failed), ${usd(d.costMicroUsd)}`;
      bar.append(title);
      svg.append(bar);
      addLabel(i, d);
    });
    function addLabel(i, d) {
      const label = document.createElementNS(ns, 'text');
      label.setAttribute('class', 'axis');
      label.setAttribute('x', String(i * w + 4));
      label.setAttribute('y', '195');
      label.textContent = d.day.slice(5);
      svg.append(label);
      points.push(`${i * w + w / 2},${180 - (d.costMicroUsd / maxCost) * 160}`);
    }
    if (points.length > 1) {
      const line = document.createElementNS(ns, 'polyline');
      line.setAttribute('class', 'line');
      line.setAttribute('points', points.join(' '));
      svg.append(line);
    }
    $('#chart').replaceChildren(svg);
  }

  async function sessions() {
    const params = new URLSearchParams();
    for (const [k, v] of new FormData($('#filters'))) if (v) params.set(k, String(v));
    const data = await get(`/admin/api/sessions?${params}`);
    const body = $('#sessions tbody');
    body.replaceChildren();
    for (const s of data.sessions) {
      const actions = document.createElement('td');
      if (['queued', 'building', 'deploying', 'live'].includes(s.status)) {
        const stop = document.createElement('button');
        stop.textContent = 'Stop';
        stop.dataset.session = s.id;
        stop.addEventListener('click', async () => {
          stop.disabled = true;
          await fetch(`/admin/api/sessions/${s.id}/stop`, { method: 'POST', credentials: 'same-origin' });
          refresh();
        });
        actions.append(stop);
      }
      const title = td(`${s.title || s.prompt.slice(0, 50)} (${s.id})`);
      if (s.previewUrl && s.status === 'live') {
        title.append(' ');
        const a = document.createElement('a');
        a.href = s.previewUrl;
        a.target = '_blank';
        a.rel = 'noopener';
        a.textContent = 'open';
        title.append(a);
      }
      const r = row([
        title,
        td(s.status, `status-${s.status}`),
        td(s.platform),
        td(s.provider),
        td(String(s.builds), 'num'),
        td(usd(s.costMicroUsd), 'num'),
        td(when(s.createdAt)),
        actions,
      ]);
      r.dataset.session = s.id;
      r.dataset.status = s.status;
      body.append(r);
    }
  }

  async function users() {
    const data = await get('/admin/api/users');
    const body = $('#users tbody');
    body.replaceChildren();
    for (const u of data.users) {
      body.append(
        row([
          td(u.displayName || u.id.slice(0, 8)),
          td(u.plan + (u.planExpiresAt ? ` until ${when(u.planExpiresAt)}` : '')),
          td(u.platforms),
          td(String(u.sessions), 'num'),
          td(usd(u.spentMicroUsd), 'num'),
          td(String(u.credits), 'num'),
        ]),
      );
    }
  }

  async function builds() {
    const data = await get('/admin/api/builds');
    const body = $('#builds tbody');
    body.replaceChildren();
    for (const b of data.builds) {
      body.append(
        row([
          td(b.sessionId),
          td(String(b.iteration), 'num'),
          td(b.status, `status-${b.status}`),
          td(b.model ? `${b.builder} (${b.model})` : b.builder),
          td(`${b.inputTokens}/${b.outputTokens}`, 'num'),
          td(usd(b.costMicroUsd), 'num'),
          td(b.errorCode),
          td(when(b.createdAt)),
        ]),
      );
    }
  }

  async function refresh() {
    const overview = await get('/admin/api/overview');
    totals(overview.totals);
    chart(overview.daily);
    await Promise.all([sessions(), users(), builds()]);
  }

  $('#filters').addEventListener('change', sessions);
  refresh();
  setInterval(refresh, 10000);
})();
