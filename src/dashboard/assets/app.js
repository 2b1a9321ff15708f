// app.js -- dcmp-dashboard's page: overview, jobs, one job, events, one event; the actions.
// Vanilla JavaScript, no library, no build step. Every text from the server goes into the page
// through textContent (never innerHTML), so job names, errors and logs cannot inject markup.
'use strict';

(function () {
  const CONFIG = JSON.parse(document.getElementById('config').textContent);
  const STATES = ['queued', 'deferred', 'blocked', 'scheduled', 'started', 'finished', 'failed', 'canceled'];
  const REFRESH_MS = 3000;
  const TIMEOUT_MS = 15000;
  const view = document.getElementById('view');

  // ---- DOM helpers -----------------------------------------------------------------------

  // h('a', {href: '#/', class: 'x', text: 'hi', onclick: f, data: {job: id}}, child, ...)
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') el.textContent = String(v);
      else if (k === 'class') el.className = v;
      else if (k === 'data') for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = dv;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function svg(tag, attrs, ...children) {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'text') el.textContent = String(v);
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, String(v));
    }
    for (const c of children.flat()) if (c) el.append(c);
    return el;
  }

  function stateBadge(state) {
    return h('span', {class: 'state ' + state, text: state, data: {state: state}});
  }

  function link(href, text, attrs) {
    return h('a', Object.assign({href: href, text: text}, attrs || {}));
  }

  function enc(s) {
    return encodeURIComponent(s);
  }

  // ---- times -----------------------------------------------------------------------------

  function pad(n) {
    return String(n).padStart(2, '0');
  }

  function clock(ms) {
    if (!ms) return '—';
    const d = new Date(ms), now = new Date();
    const t = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
    if (d.toDateString() === now.toDateString()) return t;
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + t;
  }

  function duration(ms) {
    if (ms === null || ms === undefined || ms < 0) return '—';
    if (ms < 1000) return ms + ' ms';
    const s = ms / 1000;
    if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.round((s % 3600) / 60) + ' min';
    return Math.floor(s / 86400) + ' d ' + Math.round((s % 86400) / 3600) + ' h';
  }

  function ago(ms) {
    if (!ms) return '—';
    return duration(Math.max(0, Date.now() - ms)) + ' ago';
  }

  // ---- the API ---------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  let controller = null; // aborts what the previous view asked for when another is shown

  async function api(path, options) {
    const opts = Object.assign({credentials: 'same-origin', headers: {Accept: 'application/json'}}, options || {});
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), TIMEOUT_MS);
    const outer = opts.signal;
    if (outer) outer.addEventListener('abort', () => timeout.abort());
    opts.signal = timeout.signal;
    let res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      throw new ApiError(0, outer && outer.aborted ? 'aborted' : 'the dashboard did not answer (' + e.message + ')');
    } finally {
      clearTimeout(timer);
    }
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = {error: res.status + ' ' + res.statusText};
    }
    if (!res.ok) throw new ApiError(res.status, (body && body.error) || res.statusText);
    return body;
  }

  function post(path) {
    return api(path, {method: 'POST', headers: {Accept: 'application/json', 'X-CSRF-Token': CONFIG.csrf}});
  }

  // ---- page furniture --------------------------------------------------------------------

  let toastTimer = null;
  function toast(text, isError) {
    const t = document.getElementById('toast');
    t.textContent = text;
    t.className = isError ? 'error' : 'ok';
    t.dataset.kind = isError ? 'error' : 'ok';
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, isError ? 12000 : 7000);
  }

  function confirmAction(text) {
    const dlg = document.getElementById('confirm');
    document.getElementById('confirm-text').textContent = text;
    return new Promise((resolve) => {
      const yes = document.getElementById('confirm-yes'), no = document.getElementById('confirm-no');
      function finish(v) {
        yes.removeEventListener('click', onYes);
        no.removeEventListener('click', onNo);
        dlg.removeEventListener('cancel', onNo);
        if (dlg.open) dlg.close();
        resolve(v);
      }
      function onYes() { finish(true); }
      function onNo() { finish(false); }
      yes.addEventListener('click', onYes);
      no.addEventListener('click', onNo);
      dlg.addEventListener('cancel', onNo);
      dlg.showModal();
      no.focus();
    });
  }

  // Runs an action after confirmation; shows its result and refreshes the view.
  async function act(question, path, after) {
    if (CONFIG.readonly) return;
    if (!(await confirmAction(question))) return;
    try {
      const res = await post(path);
      toast(res.message || 'done', false);
      if (after) after(res);
    } catch (e) {
      toast('Refused: ' + e.message + (e.status ? ' (HTTP ' + e.status + ')' : ''), true);
    }
    refresh(true);
  }

  // Without a login the page says who can reach it; errors take the banner while they last.
  function defaultBanner() {
    const b = document.getElementById('banner');
    b.className = 'banner';
    b.hidden = CONFIG.auth;
    b.textContent = CONFIG.auth ? '' : 'No login is configured, so this dashboard listens on ' + CONFIG.listen +
      ' (loopback) only: anyone on this machine can use it. Set DASHBOARD_USER and DASHBOARD_PASSWORD in .env to require a login and to listen on DASHBOARD_BIND.';
  }

  function setupHeader() {
    const badges = document.getElementById('badges');
    if (CONFIG.readonly) badges.append(h('span', {class: 'pill info', text: 'read-only', title: 'DASHBOARD_READONLY=1: no actions'}));
    if (CONFIG.auth) badges.append(h('span', {class: 'pill ok', text: 'login on'}));
    else badges.append(h('span', {class: 'pill warn', text: 'no login: loopback only'}));
    defaultBanner();
  }

  let viewError = null;
  function showError(e) {
    if (e && e.message === 'aborted') return;
    viewError = e;
    const b = document.getElementById('banner');
    b.className = 'banner error';
    b.textContent = 'Could not load: ' + e.message + (e.status ? ' (HTTP ' + e.status + ')' : '') + '. Retrying.';
    b.hidden = false;
  }

  function clearError() {
    if (!viewError) return;
    viewError = null;
    defaultBanner();
  }

  // ---- routing ---------------------------------------------------------------------------

  function parseHash() {
    const raw = location.hash.replace(/^#/, '') || '/';
    const qi = raw.indexOf('?');
    const path = qi < 0 ? raw : raw.slice(0, qi);
    const params = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    return {parts: parts, params: params};
  }

  const views = {
    '': overview,
    jobs: jobsView,
    job: jobView,
    events: eventsView,
    event: eventView,
  };

  let generation = 0;
  let busy = false;

  // Draws the current view. quiet: a refresh, which keeps what is on screen until the new data
  // is there and never runs while another draw is in flight (so requests never stack).
  async function refresh(quiet) {
    if (quiet && busy) return;
    const route = parseHash();
    const fn = views[route.parts[0] || ''] || notFound;
    const gen = ++generation;
    if (controller) controller.abort();
    controller = new AbortController();
    const signal = controller.signal;
    busy = true;
    for (const a of document.querySelectorAll('header nav a')) {
      a.classList.toggle('active', a.dataset.nav === (route.parts[0] === 'job' ? 'jobs' : route.parts[0] === 'event' ? 'events' : route.parts[0] || 'overview'));
    }
    try {
      const node = await fn(route, signal, quiet);
      if (gen !== generation) return;
      if (node) {
        const y = window.scrollY;
        view.replaceChildren(node);
        if (quiet) window.scrollTo(0, y);
      }
      clearError();
      document.getElementById('updated').textContent = 'updated ' + clock(Date.now());
    } catch (e) {
      if (gen === generation) {
        showError(e);
        if (!quiet && !view.firstChild) view.replaceChildren(h('p', {class: 'muted', text: 'Nothing to show yet.'}));
      }
    } finally {
      if (gen === generation) busy = false;
    }
  }

  function notFound() {
    return h('div', {}, h('h1', {text: 'No such view'}), link('#/', 'Back to the overview'));
  }

  // The refresh loop: the next round is planned only when the last one has finished.
  async function loop() {
    for (;;) {
      await new Promise((r) => setTimeout(r, REFRESH_MS));
      const dialogOpen = document.getElementById('confirm').open;
      const typing = document.activeElement && /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
      if (document.getElementById('autorefresh').checked && !document.hidden && !dialogOpen && !typing) {
        await refresh(true);
      }
    }
  }

  // ---- overview --------------------------------------------------------------------------

  async function overview(route, signal) {
    const [q, w, hist] = await Promise.all([
      api('/api/queues', {signal}),
      api('/api/workers', {signal}),
      api('/api/history', {signal}).catch(() => ({samples: [], interval: CONFIG.sampleInterval})),
    ]);
    return h('div', {},
      h('h1', {text: 'Overview'}),
      h('h2', {text: 'Queues'}), queuesTable(q),
      h('h2', {text: 'Workers'}), workersTable(w),
      h('h2', {text: 'Last hour'}), charts(hist));
  }

  function queuesTable(data) {
    if (!data.queues.length) return h('div', {class: 'empty', text: 'No queue yet: nothing has been enqueued.'});
    const head = h('tr', {}, h('th', {text: 'Queue'}), STATES.map((s) => h('th', {class: 'num', text: s})),
      CONFIG.readonly ? null : h('th', {text: 'Actions'}));
    const rows = data.queues.map((q) => {
      const cells = STATES.map((s) => {
        const n = q[s];
        if (!n) return h('td', {class: 'num'}, h('span', {class: 'zero', text: '0'}));
        return h('td', {class: 'num'}, link('#/jobs?queue=' + enc(q.name) + '&state=' + s, n.toLocaleString(),
          {class: 'count ' + s, data: {count: s}, title: 'Show the ' + s + ' jobs of ' + q.name}));
      });
      let actions = null;
      if (!CONFIG.readonly) {
        actions = h('td', {}, h('div', {class: 'actions'},
          q.failed ? h('button', {class: 'small', text: 'Requeue failed', data: {action: 'requeue-failed'},
            onclick: () => act('Requeue all ' + q.failed + ' failed jobs of ' + q.name + '?', '/api/queues/' + enc(q.name) + '/requeue-failed')}) : null,
          q.queued ? h('button', {class: 'small danger', text: 'Empty', data: {action: 'empty'},
            onclick: () => act('Delete the ' + q.queued + ' queued jobs of ' + q.name + '? Jobs that depend on them are canceled.', '/api/queues/' + enc(q.name) + '/empty?state=queued')}) : null,
          q.failed ? h('button', {class: 'small danger', text: 'Delete failed', data: {action: 'delete-failed'},
            onclick: () => act('Delete the ' + q.failed + ' failed jobs of ' + q.name + '?', '/api/queues/' + enc(q.name) + '/empty?state=failed')}) : null));
      }
      return h('tr', {data: {queue: q.name}}, h('td', {}, h('strong', {text: q.name})), cells, actions);
    });
    const table = h('table', {id: 'queues'}, h('thead', {}, head), h('tbody', {}, rows));
    if (data.notShown) return h('div', {}, table, h('p', {class: 'muted', text: data.notShown + ' more queues not shown'}));
    return table;
  }

  function workersTable(data) {
    if (!data.workers.length) return h('div', {class: 'empty', text: 'No worker is registered.'});
    return h('table', {id: 'workers'},
      h('thead', {}, h('tr', {}, ['Worker', 'State', 'Current job', 'Queues', 'Host', 'Up since', 'Last heartbeat'].map((t) => h('th', {text: t})),
        h('th', {class: 'num', text: 'Processed'}), h('th', {class: 'num', text: 'Failed'}))),
      h('tbody', {}, data.workers.map((w) => h('tr', {data: {worker: w.name}},
        h('td', {class: 'mono', text: w.name}),
        h('td', {}, stateBadge(w.state)),
        h('td', {}, w.currentJob ? link('#/job/' + enc(w.currentJob), w.currentJob, {class: 'mono'}) : h('span', {class: 'muted', text: '—'})),
        h('td', {text: w.queues}),
        h('td', {text: w.host + (w.pid ? ' (pid ' + w.pid + ')' : '')}),
        h('td', {text: clock(w.startedAt)}),
        h('td', {text: ago(w.lastHeartbeat)}),
        h('td', {class: 'num', text: w.processed.toLocaleString()}),
        h('td', {class: 'num', text: w.failed.toLocaleString()})))));
  }

  // Two line charts from the samples: jobs per minute (finished, failed) and depth.
  function charts(hist) {
    const samples = hist.samples || [];
    // the last hour, or less while the samples cover less (at least 1 minute)
    const now = Date.now();
    const from = samples.length ? Math.max(now - 3600 * 1000, Math.min(samples[0].t, now - 60 * 1000)) : now - 3600 * 1000;
    if (samples.length < 2) {
      return h('div', {class: 'empty', text: 'Not enough samples yet: the dashboard takes one every ' +
        duration(hist.interval || CONFIG.sampleInterval) + ' (the chart shows the last hour).'});
    }
    const perMin = (s, key) => (s.dt > 0 ? (s[key] * 60000) / s.dt : 0);
    const thr = [
      {name: 'finished / min', color: 'var(--finished)', points: samples.map((s) => [s.t, perMin(s, 'done')])},
      {name: 'failed / min', color: 'var(--failed)', points: samples.map((s) => [s.t, perMin(s, 'errors')])},
    ];
    const depth = [
      {name: 'queued', color: 'var(--queued)', points: samples.map((s) => [s.t, s.queued])},
      {name: 'started', color: 'var(--started)', points: samples.map((s) => [s.t, s.started || 0])},
      {name: 'deferred + blocked', color: 'var(--deferred)', points: samples.map((s) => [s.t, (s.deferred || 0) + (s.blocked || 0)])},
    ];
    return h('div', {class: 'grid2'},
      h('div', {class: 'panel'}, lineChart('Throughput (jobs per minute)', thr, from, now, false)),
      h('div', {class: 'panel'}, lineChart('Queue depth (jobs)', depth, from, now, true)));
  }

  function niceMax(v, whole) {
    if (whole && v < 4) return 4; // counts: ticks on whole numbers
    if (v <= 0) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }

  function fmt(v) {
    return v >= 100 ? Math.round(v).toLocaleString() : String(Math.round(v * 10) / 10);
  }

  function lineChart(title, series, from, to, whole) {
    const W = 560, H = 190, L = 48, R = 12, T = 26, B = 24;
    const max = niceMax(Math.max(0, ...series.flatMap((s) => s.points.map((p) => p[1]))), whole);
    const x = (t) => L + ((t - from) / (to - from)) * (W - L - R);
    const y = (v) => T + (1 - v / max) * (H - T - B);
    const el = svg('svg', {class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': title});
    el.append(svg('text', {x: L, y: 15, class: 'title', text: title}));
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4;
      el.append(svg('line', {x1: L, x2: W - R, y1: y(v), y2: y(v), class: i ? 'grid' : 'axis'}));
      el.append(svg('text', {x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'label', text: fmt(v)}));
    }
    const span = (to - from) / 60000;
    for (let i = 4; i >= 0; i--) {
      const m = (span * i) / 4;
      const label = !m ? 'now' : span <= 3 ? '-' + Math.round(m * 60) + ' s' : '-' + Math.round(m) + ' min';
      el.append(svg('text', {x: x(to - m * 60000), y: H - 6, 'text-anchor': i === 4 ? 'start' : i ? 'middle' : 'end', class: 'label', text: label}));
    }
    for (const s of series) {
      const pts = s.points.filter((p) => p[0] >= from);
      if (!pts.length) continue;
      const d = pts.map((p, i) => (i ? 'L' : 'M') + x(p[0]).toFixed(1) + ' ' + y(p[1]).toFixed(1)).join(' ');
      el.append(svg('path', {d: d, fill: 'none', stroke: s.color, 'stroke-width': 2}));
    }
    const legend = h('div', {class: 'legend'}, series.map((s) => {
      const last = s.points.length ? s.points[s.points.length - 1][1] : 0;
      const sp = h('span', {text: s.name + ': ' + fmt(last)});
      sp.style.setProperty('--c', s.color);
      return sp;
    }));
    return h('div', {}, el, legend);
  }

  // ---- jobs ------------------------------------------------------------------------------

  async function jobsView(route, signal, quiet) {
    const p = route.params;
    const queue = p.get('queue') || '', state = p.get('state') || '', name = p.get('name') || '';
    const series = p.get('series') || '', page = Math.max(1, parseInt(p.get('page') || '1', 10) || 1);
    const perPage = 50;
    const [queues, names] = await Promise.all([
      api('/api/queues', {signal}),
      api('/api/names', {signal}).catch(() => ({names: []})),
    ]);
    const form = filterForm(queues.queues, names.names, {queue, state, name, series});
    const root = h('div', {}, h('h1', {text: 'Jobs'}), form);
    if (!series && !(queue && state)) {
      root.append(h('div', {class: 'empty', text: 'Choose a queue and a state, or give a series id.'}));
      return root;
    }
    const qs = new URLSearchParams();
    if (queue) qs.set('queue', queue);
    if (state) qs.set('state', state);
    if (name) qs.set('name', name);
    if (series) qs.set('series', series);
    qs.set('page', page);
    qs.set('perPage', perPage);
    const data = await api('/api/jobs?' + qs.toString(), {signal});
    const pages = Math.max(1, Math.ceil(data.total / perPage));
    const go = (n) => {
      const np = new URLSearchParams(qs);
      np.delete('perPage');
      np.set('page', n);
      location.hash = '#/jobs?' + np.toString();
    };
    const pager = h('div', {class: 'pager'},
      h('button', {text: '‹ Newer', disabled: page <= 1, onclick: () => go(page - 1)}),
      h('span', {text: 'Page ' + page + ' of ' + pages.toLocaleString() + ' · ' + data.total.toLocaleString() + ' jobs, newest first'}),
      h('button', {text: 'Older ›', disabled: page >= pages, onclick: () => go(page + 1)}));
    const partial = !data.exact ? h('p', {class: 'muted', id: 'partial', text: data.scanned ?
      'The name filter looked at the newest ' + data.scanned.toLocaleString() + ' ' + state + ' jobs of ' + queue +
      ' (that bound keeps it fast at any size); older ones with this name are not shown. Add a series to narrow further.' :
      'This series has more jobs than are looked at; only the newest are shown.'}) : null;
    if (!data.jobs.length) {
      root.append(partial || '', h('div', {class: 'empty', text: 'No job matches.'}));
      return root;
    }
    if (partial) root.append(partial);
    const table = h('table', {id: 'jobs'},
      h('thead', {}, h('tr', {}, ['Created', 'Job', 'State', 'Queue', 'Series', 'Attempts', 'Ended', 'Error'].map((t) => h('th', {text: t})))),
      h('tbody', {}, data.jobs.map((j) => h('tr', {class: 'click', data: {job: j.id}, onclick: () => { location.hash = '#/job/' + enc(j.id); }},
        h('td', {text: clock(j.createdAt)}),
        h('td', {}, link('#/job/' + enc(j.id), j.jobName || j.id)),
        h('td', {}, stateBadge(j.state)),
        h('td', {text: j.queue}),
        h('td', {class: 'mono', text: j.seriesId ? j.seriesId.slice(0, 17) + (j.seriesId.length > 17 ? '…' : '') : '—', title: j.seriesId || null}),
        h('td', {class: 'num', text: j.attempts}),
        h('td', {text: clock(j.endedAt)}),
        h('td', {}, j.error ? h('span', {class: 'err', text: j.error.length > 120 ? j.error.slice(0, 120) + '…' : j.error}) : null)))));
    root.append(pager, table);
    if (!quiet) window.scrollTo(0, 0);
    return root;
  }

  function filterForm(queues, names, cur) {
    const qsel = h('select', {name: 'queue'}, h('option', {value: '', text: '(any queue)'}),
      queues.map((q) => h('option', {value: q.name, text: q.name, selected: q.name === cur.queue})));
    const ssel = h('select', {name: 'state'}, h('option', {value: '', text: '(any state)'}),
      STATES.map((s) => h('option', {value: s, text: s, selected: s === cur.state})));
    const list = h('datalist', {id: 'job-names'}, names.map((n) => h('option', {value: n})));
    const name = h('input', {name: 'name', list: 'job-names', placeholder: 'jobName', value: cur.name});
    const series = h('input', {name: 'series', placeholder: 'series id', value: cur.series, size: 30});
    const form = h('form', {class: 'filters', onsubmit: (e) => {
      e.preventDefault();
      const np = new URLSearchParams();
      for (const [k, el] of [['queue', qsel], ['state', ssel], ['name', name], ['series', series]]) {
        if (el.value.trim()) np.set(k, el.value.trim());
      }
      location.hash = '#/jobs?' + np.toString();
    }},
    h('label', {}, 'Queue', qsel), h('label', {}, 'State', ssel), h('label', {}, 'Job name', name, list),
    h('label', {}, 'Series', series), h('button', {type: 'submit', class: 'primary', text: 'Show'}));
    return form;
  }

  // ---- one job ---------------------------------------------------------------------------

  async function jobView(route, signal) {
    const id = route.parts[1];
    const j = await api('/api/jobs/' + enc(id), {signal});
    const buttons = [];
    if (!CONFIG.readonly) {
      if (j.actions.requeue) buttons.push(h('button', {class: 'primary', text: 'Requeue', data: {action: 'requeue'},
        onclick: () => act('Requeue ' + j.jobName + ' (' + j.id + ')? It runs again from the start.', '/api/jobs/' + enc(j.id) + '/requeue')}));
      if (j.actions.cancel) buttons.push(h('button', {class: 'danger', text: 'Cancel', data: {action: 'cancel'},
        onclick: () => act('Cancel ' + j.jobName + '? Jobs that depend on it are canceled too.', '/api/jobs/' + enc(j.id) + '/cancel')}));
      if (j.actions.delete) buttons.push(h('button', {class: 'danger', text: 'Delete', data: {action: 'delete'},
        onclick: () => act('Delete ' + j.jobName + '? Jobs that depend on it and have not run are canceled.', '/api/jobs/' + enc(j.id) + '/delete',
          () => { location.hash = '#/jobs?queue=' + enc(j.queue) + '&state=' + j.state; })}));
    }
    const timing = [];
    if (j.enqueuedAt && j.createdAt) timing.push('waited ' + duration((j.startedAt || Date.now()) - j.enqueuedAt) + ' in its queue');
    if (j.startedAt) timing.push('ran ' + duration((j.endedAt || Date.now()) - j.startedAt));
    const facts = h('dl', {class: 'facts'},
      fact('Id', h('span', {class: 'mono', text: j.id})),
      fact('Queue', link('#/jobs?queue=' + enc(j.queue) + '&state=' + j.state, j.queue)),
      fact('Function', h('span', {class: 'mono', text: j.function})),
      fact('Event', j.eventId ? link('#/event/' + enc(j.eventId), j.eventId, {class: 'mono'}) : '—'),
      fact('Series', j.seriesId ? link('#/jobs?series=' + enc(j.seriesId), j.seriesId, {class: 'mono'}) : '—'),
      fact('Worker', j.worker || '—'),
      fact('Attempts', j.attempts + (j.retryMax ? ' (up to ' + (j.retryMax + 1) + ', ' + j.retryInterval + ' s apart)' : '') + (j.crashes ? ', worker died ' + j.crashes + '×' : '')),
      fact('Timeout', j.timeout < 0 ? 'none' : duration(j.timeout * 1000)),
      fact('Created', clock(j.createdAt)),
      fact('Enqueued', clock(j.enqueuedAt)),
      fact('Started', clock(j.startedAt)),
      fact('Ended', clock(j.endedAt)),
      timing.length ? fact('Timings', timing.join(', ')) : null,
      j.state === 'deferred' || j.state === 'blocked' ? fact('Waiting for', j.pending + ' dependencies') : null);
    const kw = j.kwargs && typeof j.kwargs === 'object' ? j.kwargs : {};
    return h('div', {},
      h('h1', {}, h('span', {id: 'job-name', text: j.jobName}), h('span', {id: 'job-state'}, stateBadge(j.state)), h('div', {class: 'actions'}, buttons)),
      h('div', {class: 'grid2'},
        h('div', {class: 'panel'}, facts),
        h('div', {class: 'panel'},
          h('h2', {text: 'Depends on'}), linksList(j.dependencies, 'nothing'),
          h('h2', {text: 'Dependents'}), linksList(j.dependents, 'none'))),
      j.error ? h('div', {}, h('h2', {text: 'Error'}), h('pre', {class: 'error', id: 'job-error', text: j.error})) : null,
      h('h2', {text: 'Log (last 4 KiB)'}), j.log ? h('pre', {id: 'job-log', text: j.log}) : h('p', {class: 'muted', text: 'Nothing written.'}),
      j.result !== null ? h('div', {}, h('h2', {text: 'Result'}), h('pre', {text: pretty(j.result)})) : null,
      h('h2', {text: 'Arguments'}),
      h('details', {open: true}, h('summary', {text: 'headers'}), h('pre', {text: pretty(kw.headers)})),
      h('details', {open: true}, h('summary', {text: 'params'}), h('pre', {text: pretty(kw.params)})),
      h('details', {}, h('summary', {text: 'added_params'}), h('pre', {text: pretty(kw.added_params)})));
  }

  function fact(label, value) {
    return [h('dt', {text: label}), h('dd', {}, value)];
  }

  function pretty(v) {
    if (v === undefined) return 'null';
    return typeof v === 'string' ? v : JSON.stringify(v, null, 2);
  }

  function linksList(links, none) {
    if (!links || !links.length) return h('p', {class: 'muted', text: none});
    return h('ul', {class: 'links'}, links.map((l) => h('li', {}, stateBadge(l.state), ' ',
      link('#/job/' + enc(l.id), l.jobName || l.id))));
  }

  // ---- events ----------------------------------------------------------------------------

  async function eventsView(route, signal, quiet) {
    const page = Math.max(1, parseInt(route.params.get('page') || '1', 10) || 1), perPage = 25;
    const data = await api('/api/events?page=' + page + '&perPage=' + perPage, {signal});
    const root = h('div', {}, h('h1', {text: 'Events'}),
      h('p', {class: 'muted', text: 'One row per series, study or patient event the scheduler received: what each service decided, and the state of each job now.'}));
    if (!data.events.length) {
      root.append(h('div', {class: 'empty', text: 'No event yet: the scheduler has not received a series.'}));
      return root;
    }
    const pages = Math.max(1, Math.ceil(data.total / perPage));
    root.append(h('div', {class: 'pager'},
      h('button', {text: '‹ Newer', disabled: page <= 1, onclick: () => { location.hash = '#/events?page=' + (page - 1); }}),
      h('span', {text: 'Page ' + page + ' of ' + pages + ' · ' + data.total.toLocaleString() + ' events'}),
      h('button', {text: 'Older ›', disabled: page >= pages, onclick: () => { location.hash = '#/events?page=' + (page + 1); }})));
    root.append(h('table', {id: 'events'},
      h('thead', {}, h('tr', {}, ['Received', 'Level', 'Patient', 'Study', 'Series', 'Description', 'Modality', 'State', 'Services'].map((t) => h('th', {text: t})))),
      h('tbody', {}, data.events.map((e) => h('tr', {class: 'click', data: {event: e.id, level: e.level || ''}, onclick: (ev) => {
        if (ev.target.closest('a')) return;
        location.hash = '#/event/' + enc(e.id);
      }},
      h('td', {}, link('#/event/' + enc(e.id), clock(e.receivedAt))),
      h('td', {}, h('span', {class: 'level ' + (e.level || 'series'), text: e.level || '—'})),
      h('td', {text: e.patientId || '—'}),
      eventStudyCell(e),
      eventSeriesCell(e),
      h('td', {text: e.description || '—'}),
      h('td', {text: e.modality || '—'}),
      h('td', {}, stateBadge(e.state), e.error ? h('div', {class: 'err', text: e.error}) : null),
      h('td', {}, decisionChips(e.decisions)))))));
    if (!quiet) window.scrollTo(0, 0);
    return root;
  }

  // A series event's row names its study by id; a study event's by description or UID when
  // its headers carry them (the Orthanc id on hover), else by the Orthanc id.
  function eventStudyCell(e) {
    if (e.level !== 'study') return h('td', {text: e.studyId || '—'});
    const name = e.studyDescription || e.studyUid;
    return h('td', {class: name ? '' : 'mono', text: name || short(e.studyId), title: [e.studyUid, e.studyId].filter(Boolean).join(' · ')});
  }

  function eventSeriesCell(e) {
    if (e.level !== 'study' && e.level !== 'patient') return h('td', {class: 'mono', text: short(e.seriesId), title: e.seriesId});
    const n = e.seriesCount;
    return h('td', {class: 'series-count', text: n === null || n === undefined ? '—' : n + ' series'});
  }

  function short(s) {
    if (!s) return '—';
    return s.length > 17 ? s.slice(0, 17) + '…' : s;
  }

  const DECISION_WORDS = {scheduled: 'ran', skipped: 'skipped by callback', error: 'callback error', dropped: 'dropped', invalid: 'invalid settings', disabled: 'disabled', duplicate: 'duplicate name', 'other-level': 'other level', 'not-due': 'not due'};

  // An entry planned from another kind of event says which: "runs per study".
  function decisionWords(d) {
    if (d.decision === 'other-level' && d.trigger) return 'runs per ' + d.trigger;
    return DECISION_WORDS[d.decision] || d.decision;
  }

  function decisionChips(decisions) {
    if (!decisions || !decisions.length) return h('span', {class: 'muted', text: 'no service'});
    return decisions.map((d) => {
      const words = DECISION_WORDS[d.decision] || d.decision;
      const title = d.jobName + ': ' + words + (d.state ? ' — job ' + d.state : '') + (d.reason ? ' — ' + d.reason : '');
      return h('span', {class: 'chip ' + d.decision, title: title, data: {decision: d.decision}},
        d.jobId ? h('span', {class: 'dot ' + (d.state || 'expired')}) : null, d.jobName);
    });
  }

  // ---- one event -------------------------------------------------------------------------

  async function eventView(route, signal) {
    const e = await api('/api/events/' + enc(route.parts[1]), {signal});
    const plan = e.plan || {};
    const jobs = Array.isArray(plan.jobs) ? plan.jobs : [];
    const stateOf = {};
    for (const j of jobs) stateOf[j.id] = j.state;
    const isSeries = !e.level || e.level === 'series';
    // a study or patient event's plan holds its "study" or "patient" object (the scheduler's study.c)
    const study = !isSeries && plan[e.level] && typeof plan[e.level] === 'object' ? plan[e.level] : null;
    const isPatient = e.level === 'patient';
    const headers = plan.headers && typeof plan.headers === 'object' ? plan.headers : {};
    const facts = isSeries ? h('dl', {class: 'facts'},
      fact('Event', h('span', {class: 'mono', text: e.id})),
      fact('Series', e.seriesId ? link('#/jobs?series=' + enc(e.seriesId), e.seriesId, {class: 'mono', title: 'All jobs of this series'}) : '—'),
      fact('Patient', e.patientId || '—'), fact('Study', e.studyId || '—'),
      fact('Description', e.description || '—'), fact('Modality', e.modality || '—'),
      fact('Received', clock(e.receivedAt)), fact('Planned', planned(e)),
      fact('Version', h('span', {class: 'mono', text: e.version || '—'}))) :
      h('dl', {class: 'facts'},
        fact('Event', h('span', {class: 'mono', text: e.id})),
        fact('Level', e.level),
        isPatient ? fact('Patient', h('span', {class: 'mono', text: e.patientId || '—'})) : [
          fact('Study', h('span', {class: 'mono', text: e.studyId || '—'})),
          fact('Study UID', h('span', {class: 'mono', text: headers.StudyInstanceUID || '—'})),
          fact('Description', headers.StudyDescription || '—')],
        fact('PatientID', headers.PatientID || (isPatient ? '—' : e.patientId || '—')),
        fact('Version', h('span', {class: 'mono', id: 'study-version', text: (study && study.version) || '—'})),
        fact('Series', study && Array.isArray(study.series) ? study.series.length : '—'),
        fact('From', (e.body && e.body.origin) || '—'),
        fact('Received', clock(e.receivedAt)), fact('Planned', planned(e)));
    const decisions = Array.isArray(plan.decisions) ? plan.decisions : [];
    const reports = Array.isArray(plan.reports) ? plan.reports : [];
    return h('div', {},
      h('h1', {}, isSeries ? 'Series ' : (isPatient ? 'Patient ' : 'Study '),
        h('span', {class: 'mono', text: short(isSeries ? e.seriesId : isPatient ? e.patientId : e.studyId)}), stateBadge(e.state)),
      e.error ? h('pre', {class: 'error', text: e.error}) : null,
      h('div', {class: 'panel'}, facts),
      study ? studySeries(study) : null,
      h('h2', {text: 'What each service decided'}),
      decisionsTable(decisions, study, stateOf),
      h('h2', {text: 'Job graph'}),
      jobs.length ? h('div', {class: 'dag-wrap'}, dag(jobs)) : h('div', {class: 'empty', text: 'No job was planned for this ' + (isSeries ? 'series.' : e.level + '.')}),
      reports.length ? h('div', {}, h('h2', {text: 'Reports'}), h('ul', {}, reports.map((r) => h('li', {class: 'mono', text: r})))) : null,
      plan.headers ? h('details', {}, h('summary', {text: 'Headers given to the services'}), h('pre', {text: pretty(plan.headers)})) : null,
      e.body ? h('details', {}, h('summary', {text: isSeries ? 'Webhook body' : 'Event body'}), h('pre', {text: pretty(e.body)})) : null);
  }

  function planned(e) {
    return clock(e.plannedAt) + (e.plannedAt && e.receivedAt ? ' (' + duration(e.plannedAt - e.receivedAt) + ' later)' : '');
  }

  // The series a study or patient event was decided with (the plan's "study" or "patient"
  // object, written by the scheduler's study.c): which were in (of which study, for a
  // patient), and whether each was ready.
  function studySeries(study) {
    const series = Array.isArray(study.series) ? study.series : [];
    const byStudy = series.some((x) => x.studyId);
    return h('div', {},
      h('h2', {text: 'Series in this version'}),
      series.length ? h('table', {id: 'study-series'},
        h('thead', {}, h('tr', {}, (byStudy ? ['Study'] : []).concat(['Series', 'SeriesInstanceUID', 'Description', 'Instances', 'Ready']).map((t) => h('th', {text: t})))),
        h('tbody', {}, series.map((x) => h('tr', {data: {series: x.seriesId || ''}},
          byStudy ? h('td', {class: 'mono', text: short(x.studyId), title: x.studyId || ''}) : null,
          h('td', {}, x.seriesId ? link('#/jobs?series=' + enc(x.seriesId), short(x.seriesId), {class: 'mono', title: 'All jobs of this series: ' + x.seriesId}) : '—'),
          h('td', {class: 'mono', text: x.SeriesInstanceUID || '—'}),
          h('td', {text: x.SeriesDescription || '—'}),
          h('td', {class: 'num', text: x.instances === undefined ? '—' : x.instances}),
          h('td', {}, h('span', {class: 'ready ' + (x.ready ? 'yes' : 'no'), text: x.ready ? 'ready' : 'not ready'})))))) :
        h('div', {class: 'empty', text: 'No series known for this study.'}));
  }

  // Every service's decision; on a study event each study entry's verdict (plan, wait, drop,
  // done) and its reason beside it, and a verdict without a decision (nothing planned) alone.
  function decisionsTable(decisions, study, stateOf) {
    const verdicts = study && Array.isArray(study.decisions) ? study.decisions : [];
    const verdictOf = {};
    for (const v of verdicts) verdictOf[v.jobName] = v;
    const rows = decisions.map((d) => ({d: d, v: verdictOf[d.jobName]}));
    const named = new Set(decisions.map((d) => d.jobName));
    for (const v of verdicts) if (!named.has(v.jobName)) rows.push({d: {jobName: v.jobName}, v: v});
    if (!rows.length) return h('div', {class: 'empty', text: 'No decision recorded.'});
    const head = ['Service', 'Group', 'Decision', 'Reason', 'Job'];
    if (study) head.splice(3, 0, 'Study verdict');
    return h('table', {id: 'decisions'},
      h('thead', {}, h('tr', {}, head.map((t) => h('th', {text: t})))),
      h('tbody', {}, rows.map(({d, v}) => h('tr', {data: {decision: d.decision || '', service: d.jobName, verdict: v ? v.decision : ''}},
        h('td', {}, h('strong', {text: d.jobName}), h('div', {class: 'muted', text: d.source || ''})),
        h('td', {text: (d.group || '') + (d.trigger && d.trigger !== 'series' ? ' (' + d.trigger + ')' : '')}),
        h('td', {}, d.decision ? h('span', {class: 'chip ' + d.decision, text: decisionWords(d)}) : h('span', {class: 'muted', text: '—'})),
        study ? h('td', {class: 'verdict'}, v ? [h('span', {class: 'chip verdict-' + v.decision, text: v.decision}),
          h('div', {text: v.reason || ''}), v.waitUntil ? h('div', {class: 'muted', text: 'until ' + clock(v.waitUntil * 1000)}) : null] :
          h('span', {class: 'muted', text: '—'})) : null,
        h('td', {text: d.reason || ''}),
        h('td', {}, d.jobId ? [stateBadge(stateOf[d.jobId] || 'expired'), ' ', link('#/job/' + enc(d.jobId), 'open')] : h('span', {class: 'muted', text: '—'}))))));
  }

  // The job graph, left to right: a job's column is the length of its longest dependency chain.
  function dag(jobs) {
    const NW = 168, NH = 44, GX = 56, GY = 14, P = 10;
    const byId = {};
    jobs.forEach((j, i) => { byId[j.id] = {job: j, index: i, col: -1}; });
    function col(id, seen) {
      const n = byId[id];
      if (!n) return -1;
      if (n.col >= 0) return n.col;
      if (seen.has(id)) return 0; // a cycle cannot be planned; draw it anyway
      seen.add(id);
      let c = 0;
      for (const d of n.job.dependsOnIds || []) if (byId[d]) c = Math.max(c, col(d, seen) + 1);
      n.col = c;
      return c;
    }
    jobs.forEach((j) => col(j.id, new Set()));
    const columns = [];
    for (const j of jobs) {
      const n = byId[j.id];
      (columns[n.col] = columns[n.col] || []).push(n);
    }
    columns.forEach((c, ci) => c.forEach((n, ri) => { n.x = P + ci * (NW + GX); n.y = P + ri * (NH + GY); }));
    const rows = Math.max(...columns.map((c) => c.length));
    const W = P * 2 + columns.length * NW + (columns.length - 1) * GX, H = P * 2 + rows * NH + (rows - 1) * GY;
    const el = svg('svg', {class: 'dag', id: 'dag', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'job graph'});
    el.append(svg('defs', {}, svg('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse'},
      svg('path', {d: 'M 0 0 L 10 5 L 0 10 z', fill: '#94a3b8'}))));
    for (const j of jobs) {
      const n = byId[j.id];
      for (const d of j.dependsOnIds || []) {
        const m = byId[d];
        if (!m) continue;
        const x1 = m.x + NW, y1 = m.y + NH / 2, x2 = n.x - 2, y2 = n.y + NH / 2, mx = (x1 + x2) / 2;
        el.append(svg('path', {class: 'edge', d: 'M' + x1 + ' ' + y1 + ' C' + mx + ' ' + y1 + ' ' + mx + ' ' + y2 + ' ' + x2 + ' ' + y2, 'marker-end': 'url(#arrow)'}));
      }
    }
    for (const j of jobs) {
      const n = byId[j.id], st = j.state || 'expired';
      const g = svg('g', {class: 'node', 'data-job': j.id, 'data-state': st, transform: 'translate(' + n.x + ' ' + n.y + ')',
        onclick: () => { location.hash = '#/job/' + enc(j.id); }},
      svg('title', {text: j.jobName + ' (' + st + ')' + (j.worker ? ' — ' + j.worker : '')}),
      svg('rect', {width: NW, height: NH, rx: 7, fill: 'var(--' + st + ', var(--expired))'}),
      svg('text', {x: 10, y: 18, text: j.jobName.length > 21 ? j.jobName.slice(0, 20) + '…' : j.jobName}),
      svg('text', {x: 10, y: 34, class: 'sub', text: st + (j.queue ? ' · ' + j.queue : '')}));
      el.append(g);
    }
    return el;
  }

  // ---- start -----------------------------------------------------------------------------

  setupHeader();
  window.addEventListener('hashchange', () => refresh(false));
  document.getElementById('autorefresh').addEventListener('change', (e) => { if (e.target.checked) refresh(true); });
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(true); });
  refresh(false);
  loop();
})();
