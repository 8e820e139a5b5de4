// Strata web console: reads /api/v1/* from the node serving the page and
// /api/v1/{groups,topics,throughput} from every live broker's HTTP origin,
// every 2 s (one refresh at a time). Every string from the cluster goes into
// the DOM as text (textContent / createElement), never as HTML.
'use strict';
(() => {
  const REFRESH_MS = 2000, TIMEOUT_MS = 2000, WINDOW_MS = 5 * 60 * 1000;
  const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#475569'];
  const $ = (id) => document.getElementById(id);

  const S = {
    cluster: null, base: '',   // last good /api/v1/cluster; origin it came from ('' = this node)
    topics: null,              // last good topics, sizes and high watermarks merged over nodes
    nodeGroups: new Map(),     // node id -> {groups, stale}
    reach: new Map(),          // node id -> why it is unreachable
    prevTp: new Map(),         // node id -> its previous /api/v1/throughput answer
    rates: null,               // {ri, ro, bi, bo, topics: Map name -> {ri, ro, bi, bo}}
    hist: [], lagHist: [],     // [{t, ri, ro}], [{t, lags: Map group -> lag}]
    groupColors: new Map(),
    openTopics: new Set(), openGroups: new Set(),
    refreshes: 0, running: false, timer: null,
  };

  // ---- helpers -------------------------------------------------------------
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v; else e.setAttribute(k, String(v));
    }
    for (const k of kids.flat(Infinity)) {
      if (k !== null && k !== undefined && k !== false) e.append(k instanceof Node ? k : String(k));
    }
    return e;
  }
  const isNum = (n) => typeof n === 'number' && isFinite(n);
  const fmtInt = (n) => (isNum(n) ? Math.round(n).toLocaleString('en-US') : '—');
  const fmtRate = (n) => (!isNum(n) ? '—' : n < 10 ? n.toFixed(1) : fmtInt(n));
  function fmtBytes(n) {
    if (!isNum(n)) return '—';
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    let i = 0;
    while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0) : Math.round(n)) + ' ' + u[i];
  }
  function fmtShort(n) {
    const a = Math.abs(n);
    if (a >= 1e9) return +(n / 1e9).toFixed(1) + 'G';
    if (a >= 1e6) return +(n / 1e6).toFixed(1) + 'M';
    if (a >= 1e3) return +(n / 1e3).toFixed(1) + 'k';
    return String(+n.toFixed(a < 10 ? 1 : 0));
  }
  const hhmmss = (d) => d.toTimeString().slice(0, 8);
  const byStr = (f) => (a, b) => (f(a) < f(b) ? -1 : f(a) > f(b) ? 1 : 0);
  const isOffline = (p) => !!p.offline || p.leader < 0;
  const isUnder = (p) => !!p.under_replicated || (p.isr || []).length < (p.replicas || []).length;

  // Rejects with .network = true when the node did not answer (refused, reset,
  // timed out), else with the HTTP status or a bad body.
  async function fetchJson(url) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    try {
      // 'include': a TLS listener asking for client certificates gets them on
      // the other nodes too (they answer with this page's origin, not '*').
      const r = await fetch(url, { signal: ctl.signal, cache: 'no-store', credentials: 'include' });
      if (!r.ok) throw Object.assign(new Error('HTTP ' + r.status), { network: false });
      return await r.json();
    } catch (e) {
      if (e && e.network === false) throw e;
      if (e instanceof SyntaxError) throw Object.assign(new Error('bad JSON'), { network: false });
      throw Object.assign(new Error(e && e.name === 'AbortError' ? 'timed out' : 'no answer'), { network: true });
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- one refresh ---------------------------------------------------------
  async function refresh() {
    const errors = [];
    let c = null;
    const bases = [''];  // this node first; if it fails, the others it listed before
    if (S.cluster) for (const b of S.cluster.brokers) if (b.http && b.id !== S.cluster.node_id) bases.push(b.http);
    for (const base of bases) {
      try {
        c = await fetchJson(base + '/api/v1/cluster');
        if (!c || !Array.isArray(c.brokers)) throw new Error('bad answer');
        S.base = base;
        break;
      } catch (e) {
        c = null;
        if (base === '') errors.push('cluster from the node serving this page: ' + e.message);
      }
    }
    if (!c) return errors.concat(S.cluster ? ['no node answered /api/v1/cluster; showing the last good data'] : []);
    S.cluster = c;
    const origin = (b) => (b.id === c.node_id ? S.base : b.http);
    const targets = c.brokers.filter((b) => b.id === c.node_id || (b.live && b.http));
    // Only the quorum leader knows its followers' progress: ask it for the quorum.
    const q = c.quorum || {};
    const ql = c.brokers.find((b) => b.id === q.leader_id && b.id !== c.node_id && b.live && b.http);
    const quorumP = ql && !(q.voters || []).length
      ? fetchJson(ql.http + '/api/v1/cluster').then((lc) => { if (lc && lc.quorum && lc.quorum.leader_id === q.leader_id) c.quorum = lc.quorum; }, () => {})
      : Promise.resolve();
    const results = await Promise.all(targets.map(async (b) => {
      const o = origin(b);
      const [g, t, tp] = await Promise.allSettled(
        ['groups', 'topics', 'throughput'].map((api) => fetchJson(o + '/api/v1/' + api)));
      return { b, g, t, tp };
    }));
    await quorumP;

    S.reach = new Map();
    const topicAnswers = new Map(), tpNow = new Map();
    for (const { b, g, t, tp } of results) {
      const net = [g, t, tp].find((r) => r.status === 'rejected' && r.reason.network);
      if (net) {
        S.reach.set(b.id, net.reason.message);
        errors.push(`node ${b.id} (${origin(b) || 'this page'}): ${net.reason.message}`);
      }
      const fail = (api, r) => { if (!net) errors.push(`${api} from node ${b.id}: ${r.reason.message}`); };
      if (g.status === 'fulfilled' && Array.isArray(g.value.groups)) {
        S.nodeGroups.set(b.id, { groups: g.value.groups, stale: false });
      } else {
        const old = S.nodeGroups.get(b.id);
        if (old) old.stale = true;
        if (g.status === 'rejected') fail('groups', g); else errors.push(`groups from node ${b.id}: bad answer`);
      }
      if (t.status === 'fulfilled' && Array.isArray(t.value.topics)) topicAnswers.set(b.id, t.value);
      else if (t.status === 'rejected') fail('topics', t);
      if (tp.status === 'fulfilled' && Array.isArray(tp.value.topics)) tpNow.set(b.id, tp.value);
      else if (tp.status === 'rejected') fail('throughput', tp);
    }
    // A broker no longer live has handed its groups to another coordinator.
    for (const id of [...S.nodeGroups.keys()]) if (!targets.some((b) => b.id === id)) S.nodeGroups.delete(id);

    const primary = topicAnswers.get(c.node_id) || topicAnswers.values().next().value;
    if (primary) S.topics = mergeTopics(primary, topicAnswers);
    computeRates(tpNow);
    const now = Date.now();
    const groups = mergedGroups();
    S.lagHist.push({ t: now, lags: new Map(groups.map((g) => [g.group, totalLag(g)])) });
    while (S.hist.length && S.hist[0].t < now - WINDOW_MS) S.hist.shift();
    while (S.lagHist.length && S.lagHist[0].t < now - WINDOW_MS) S.lagHist.shift();

    renderHeader(c);
    renderBrokers(c);
    renderTopics();
    renderGroups(groups, c);
    drawCharts();
    return errors;
  }

  // Structure from the serving node; size and high watermark from the
  // partition's leader (each node only reports the replicas it holds).
  function mergeTopics(primary, answers) {
    const idx = new Map();
    for (const [node, a] of answers) {
      for (const t of a.topics) {
        for (const p of t.partitions || []) {
          const k = t.name + '\u0000' + p.partition;
          if (!idx.has(k)) idx.set(k, []);
          idx.get(k).push({ node, p });
        }
      }
    }
    return primary.topics.map((t) => Object.assign({}, t, {
      partitions: (t.partitions || []).map((p) => {
        const cands = idx.get(t.name + '\u0000' + p.partition) || [];
        const lead = cands.find((x) => x.node === p.leader);
        const pick = (f) => (lead && isNum(lead.p[f]) ? lead.p[f] : (cands.find((x) => isNum(x.p[f])) || { p: {} }).p[f]);
        return Object.assign({}, p, { size_bytes: pick('size_bytes'), high_watermark: pick('high_watermark') });
      }),
    }));
  }

  // Rates from each node's previous sample, summed over the nodes.
  function computeRates(tpNow) {
    const r = { ri: 0, ro: 0, bi: 0, bo: 0, topics: new Map() };
    let nodes = 0;
    for (const [id, cur] of tpNow) {
      const prev = S.prevTp.get(id);
      if (!prev || !(cur.time_ms > prev.time_ms)) continue;
      const dt = (cur.time_ms - prev.time_ms) / 1000;
      const old = new Map((prev.topics || []).map((x) => [x.topic, x]));
      nodes++;
      for (const x of cur.topics) {
        const o = old.get(x.topic) || { bytes_in: 0, records_in: 0, bytes_out: 0, records_out: 0 };
        const d = { ri: (x.records_in - o.records_in) / dt, ro: (x.records_out - o.records_out) / dt,
          bi: (x.bytes_in - o.bytes_in) / dt, bo: (x.bytes_out - o.bytes_out) / dt };
        if (!(d.ri >= 0 && d.ro >= 0 && d.bi >= 0 && d.bo >= 0)) continue;  // restarted node
        const tr = r.topics.get(x.topic) || { ri: 0, ro: 0, bi: 0, bo: 0 };
        for (const k of ['ri', 'ro', 'bi', 'bo']) { tr[k] += d[k]; r[k] += d[k]; }
        r.topics.set(x.topic, tr);
      }
    }
    S.prevTp = tpNow;
    if (nodes) {
      S.rates = r;
      S.hist.push({ t: Date.now(), ri: r.ri, ro: r.ro });
    }
  }

  function mergedGroups() {
    const seen = new Map();
    const entries = [...S.nodeGroups.entries()].sort((a, b) => (a[1].stale - b[1].stale) || (a[0] - b[0]));
    for (const [node, { groups, stale }] of entries) {
      for (const g of groups) if (g && !seen.has(g.group)) seen.set(g.group, Object.assign({}, g, { node, stale }));
    }
    return [...seen.values()].sort(byStr((g) => g.group));
  }
  const totalLag = (g) => (isNum(g.total_lag) ? g.total_lag
    : (g.offsets || []).reduce((s, o) => s + (isNum(o.lag) ? o.lag : 0), 0));

  // ---- rendering -----------------------------------------------------------
  function renderHeader(c) {
    $('cluster-id').textContent = c.cluster_id || '?';
    $('node-id').textContent = String(c.node_id);
    $('controller-id').textContent = c.controller_id >= 0 ? String(c.controller_id) : 'none';
  }

  function renderBrokers(c) {
    const q = c.quorum || {};
    const voters = new Map((q.voters || []).map((v) => [v.id, v]));
    const observers = new Map((q.observers || []).map((o) => [o.id, o]));
    let down = 0;
    const rows = c.brokers.slice().sort((a, b) => a.id - b.id).map((b) => {
      const unreachable = S.reach.get(b.id);
      const isDown = !b.live || !!unreachable;
      if (isDown) down++;
      const reason = !b.live ? 'session expired' : unreachable ? 'unreachable (' + unreachable + ')' : b.fenced ? 'fenced' : '';
      const role = b.id === q.leader_id ? 'leader' : voters.has(b.id) ? 'voter' : observers.has(b.id) ? 'observer' : '—';
      const qi = voters.get(b.id) || observers.get(b.id);
      const heard = qi && isNum(qi.last_heard_ms_ago) ? 'last heard ' + fmtInt(qi.last_heard_ms_ago) + ' ms ago' : null;
      const http = typeof b.http === 'string' ? b.http : '';
      const link = /^https?:\/\//.test(http) ? el('a', { href: http + '/' }, http.replace(/^https?:\/\//, ''))
        : el('span', { class: 'muted' }, http || 'no HTTP listener');
      return el('tr', { 'data-broker-id': b.id, 'data-state': isDown ? 'down' : 'up', 'data-reason': reason || null, class: isDown ? 'bad' : null },
        el('td', null, String(b.id),
          b.id === c.controller_id ? el('span', { class: 'tag ctl', title: 'active controller' }, 'controller') : null,
          b.id === c.node_id ? el('span', { class: 'tag', title: 'the node serving this page' }, 'this node') : null),
        el('td', null, `${b.host}:${b.port}`),
        el('td', null, el('span', { class: 'badge ' + (isDown ? 'down' : b.fenced ? 'warn' : 'up') }, isDown ? 'DOWN' : b.fenced ? 'FENCED' : 'UP'),
          reason ? el('span', { class: 'reason' }, ' ' + reason) : null),
        el('td', { class: 'num' }, fmtInt(b.leaders)),
        el('td', { class: 'num' }, fmtInt(b.replicas)),
        el('td', null, role),
        el('td', { class: 'num', title: heard }, qi && isNum(qi.lag) ? fmtInt(qi.lag) : '—'),
        el('td', null, link));
    });
    $('brokers').replaceChildren(...rows);
    $('brokers-summary').textContent = `${c.brokers.length - down} of ${c.brokers.length} up`;
    $('brokers-summary').className = 'count' + (down ? ' bad-text' : '');
  }

  function renderTopics() {
    if (!S.topics) return;
    const show = $('show-internal').checked;
    const rows = [];
    let n = 0, urAll = 0, offAll = 0;
    for (const t of S.topics.slice().sort(byStr((x) => x.name))) {
      if (t.internal && !show) continue;
      const parts = (t.partitions || []).slice().sort((a, b) => a.partition - b.partition);
      const ur = parts.filter(isUnder).length, off = parts.filter(isOffline).length;
      const sizes = parts.map((p) => p.size_bytes).filter(isNum);
      const r = S.rates && S.rates.topics.get(t.name);
      const open = S.openTopics.has(t.name);
      n++; urAll += ur; offAll += off;
      rows.push(el('tr', { 'data-topic': t.name, 'data-kind': 'topic', tabindex: 0, 'data-partitions': parts.length,
        'data-under-replicated': ur, 'data-offline': off, class: 'expandable' + (off ? ' bad' : ur ? ' warn' : '') },
        el('td', null, el('span', { class: 'tog' }, open ? '▾' : '▸'), t.name, t.internal ? el('span', { class: 'tag' }, 'internal') : null),
        el('td', { class: 'num' }, parts.length),
        el('td', { class: 'num' + (ur ? ' warn-text' : '') }, ur),
        el('td', { class: 'num' + (off ? ' bad-text' : '') }, off),
        el('td', { class: 'num' }, sizes.length ? fmtBytes(sizes.reduce((a, b) => a + b, 0)) : '—'),
        el('td', { class: 'num' }, fmtRate(r ? r.ri : S.rates ? 0 : null)),
        el('td', { class: 'num' }, fmtRate(r ? r.ro : S.rates ? 0 : null)),
        el('td', { class: 'num' }, r ? fmtBytes(r.bi) : S.rates ? '0 B' : '—'),
        el('td', { class: 'num' }, r ? fmtBytes(r.bo) : S.rates ? '0 B' : '—')));
      const detail = el('table', { class: 'inner' },
        el('thead', null, el('tr', null, ['Partition', 'Leader', 'Replicas', 'ISR', 'Size', 'High watermark'].map((h, i) => el('th', { class: i === 4 || i === 5 ? 'num' : null }, h)))),
        el('tbody', null, parts.map((p) => {
          const isr = new Set(p.isr || []);
          const st = isOffline(p) ? 'offline' : isUnder(p) ? 'under' : 'ok';
          return el('tr', { 'data-partition-of': t.name, 'data-partition': p.partition, 'data-leader': p.leader, 'data-state': st,
            class: st === 'offline' ? 'bad' : st === 'under' ? 'warn' : null },
            el('td', null, p.partition),
            el('td', null, isOffline(p) ? el('span', { class: 'badge down' }, 'OFFLINE') : String(p.leader)),
            el('td', null, (p.replicas || []).map((id, i) => [i ? ', ' : '', el('span', { class: isr.has(id) ? null : 'oos', title: isr.has(id) ? null : 'not in sync' }, id)])),
            el('td', null, (p.isr || []).join(', ') || '—'),
            el('td', { class: 'num' }, fmtBytes(p.size_bytes)),
            el('td', { class: 'num' }, fmtInt(p.high_watermark)));
        })));
      rows.push(el('tr', { class: 'detail' + (open ? '' : ' collapsed') }, el('td', { colspan: 9 }, detail)));
    }
    if (!rows.length) rows.push(el('tr', null, el('td', { colspan: 9, class: 'muted' }, 'no topics')));
    $('topics').replaceChildren(...rows);
    $('topics-summary').textContent = `${n} shown` + (urAll ? ` · ${urAll} under-replicated` : '') + (offAll ? ` · ${offAll} offline` : '');
    $('topics-summary').className = 'count' + (offAll ? ' bad-text' : urAll ? ' warn-text' : '');
  }

  function renderGroups(groups, c) {
    const rows = [];
    for (const g of groups) {
      const open = S.openGroups.has(g.group);
      const offsets = (g.offsets || []).slice().sort((a, b) => byStr((o) => o.topic)(a, b) || a.partition - b.partition);
      const members = g.members || [];
      const lag = totalLag(g);
      rows.push(el('tr', { 'data-group': g.group, 'data-total-lag': lag, 'data-kind': 'group', tabindex: 0, 'data-group-state': g.state,
        'data-coordinator': g.node, 'data-stale': g.stale ? 'true' : null, class: 'expandable' + (g.stale ? ' stale' : '') },
        el('td', null, el('span', { class: 'tog' }, open ? '▾' : '▸'), g.group),
        el('td', null, String(g.node), g.stale ? el('span', { class: 'tag bad-tag', title: 'its coordinator did not answer: last known data' }, 'stale') : null),
        el('td', null, el('span', { class: 'state ' + (g.state === 'Stable' ? 'ok' : g.state === 'Dead' ? 'bad-text' : 'warn-text') }, g.state || '?')),
        el('td', null, g.protocol || '—'),
        el('td', { class: 'num' }, members.length),
        el('td', { class: 'num' }, offsets.length),
        el('td', { class: 'num' + (lag > 0 ? ' strong' : '') }, fmtInt(lag))));
      const memberTable = members.length ? el('table', { class: 'inner' },
        el('thead', null, el('tr', null, ['Member', 'Client ID', 'Host', 'Assignment'].map((h) => el('th', null, h)))),
        el('tbody', null, members.map((m) => {
          const byTopic = new Map();
          for (const a of m.assignment || []) {
            if (!byTopic.has(a.topic)) byTopic.set(a.topic, []);
            byTopic.get(a.topic).push(a.partition);
          }
          const asg = [...byTopic].map(([t, ps]) => t + ' [' + ps.sort((a, b) => a - b).join(', ') + ']').join('; ');
          return el('tr', null, el('td', { class: 'mono' }, m.member_id), el('td', null, m.client_id), el('td', null, m.host), el('td', null, asg || '—'));
        }))) : el('p', { class: 'muted' }, 'no members');
      const lagTable = el('table', { class: 'inner' },
        el('thead', null, el('tr', null, ['Topic', 'Partition', 'Committed', 'End offset', 'Lag'].map((h, i) => el('th', { class: i > 1 ? 'num' : null }, h)))),
        el('tbody', null, offsets.map((o) => el('tr', {
          'data-group': g.group, 'data-topic': o.topic, 'data-partition': o.partition, 'data-lag': isNum(o.lag) ? o.lag : 'unknown',
          class: isNum(o.lag) ? null : 'warn', title: isNum(o.lag) ? null : 'end offset unknown (no leader?)' },
          el('td', null, o.topic), el('td', null, o.partition), el('td', { class: 'num' }, fmtInt(o.committed)),
          el('td', { class: 'num', title: o.isolation === 'read_committed' ? 'last stable offset (committed in transactions)' : 'high watermark' }, fmtInt(o.end_offset) + (o.isolation === 'read_committed' ? ' (LSO)' : '')), el('td', { class: 'num' + (o.lag > 0 ? ' strong' : '') }, fmtInt(o.lag))))));
      rows.push(el('tr', { class: 'detail' + (open ? '' : ' collapsed') }, el('td', { colspan: 7 },
        el('div', { class: 'split' }, el('div', null, el('h3', null, 'Members'), memberTable), el('div', null, el('h3', null, 'Lag by partition'), lagTable)))));
    }
    if (!rows.length) rows.push(el('tr', null, el('td', { colspan: 7, class: 'muted' }, 'no consumer groups')));
    $('groups').replaceChildren(...rows);
    $('groups-summary').textContent = `${groups.length}`;
    const blind = c.brokers.filter((b) => b.live && !b.http && b.id !== c.node_id).map((b) => b.id);
    const lost = [...S.reach.keys()].filter((id) => !S.nodeGroups.has(id));
    const note = (blind.length ? `Groups coordinated by broker ${blind.join(', ')} are not shown: no HTTP listener. ` : '') +
      (lost.length ? `Groups coordinated by broker ${lost.join(', ')} are not shown: unreachable.` : '');
    $('groups-note').hidden = !note;
    $('groups-note').textContent = note;
  }

  // ---- charts --------------------------------------------------------------
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const e = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 4, 6, 8, 10]) if (m * e >= v) return m * e;
    return 10 * e;
  }

  function drawChart(canvas, series) {
    const dpr = window.devicePixelRatio || 1, w = canvas.clientWidth || 600, h = canvas.clientHeight || 200;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    // The x axis spans the samples held: from 1 minute up to 5.
    const now = Date.now(), first = Math.min(...series.map((s) => (s.points.length ? s.points[0].t : now)));
    const span = Math.max(60000, Math.min(WINDOW_MS, Math.ceil((now - first) / 60000) * 60000));
    const L = 48, R = 12, T = 8, B = 20, pw = w - L - R, ph = h - T - B, t0 = now - span;
    let max = 0, any = false;
    for (const s of series) for (const p of s.points) if (p.t >= t0 && isNum(p.v)) { any = true; max = Math.max(max, p.v); }
    const top = niceMax(max);
    ctx.font = '11px system-ui, -apple-system, "Segoe UI", sans-serif';
    ctx.lineWidth = 1;
    ctx.textBaseline = 'middle';
    for (let i = 0; i <= 4; i++) {
      const y = Math.round(T + ph - (ph * i) / 4) + 0.5;
      ctx.strokeStyle = i ? '#eef0f3' : '#c9ced6';
      ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(L + pw, y); ctx.stroke();
      ctx.fillStyle = '#6b7280'; ctx.textAlign = 'right';
      ctx.fillText(fmtShort((top * i) / 4), L - 6, y);
    }
    ctx.textAlign = 'center'; ctx.textBaseline = 'alphabetic';
    const step = span <= 60000 ? 10000 : span <= 180000 ? 30000 : 60000;
    for (let a = span; a >= 0; a -= step) {
      const label = !a ? 'now' : a % 60000 ? `-${a / 1000}s` : `-${a / 60000}m`;
      ctx.fillText(label, L + pw * (1 - a / span) - (a ? 0 : 10), h - 5);
    }
    if (!any) { ctx.fillText('collecting samples…', L + pw / 2, T + ph / 2); return; }
    ctx.lineWidth = 1.75; ctx.lineJoin = 'round';
    for (const s of series) {
      ctx.strokeStyle = s.color;
      ctx.beginPath();
      let on = false;
      for (const p of s.points) {
        if (p.t < t0 || !isNum(p.v)) { on = false; continue; }
        const x = L + (pw * (p.t - t0)) / span, y = T + ph - (ph * p.v) / top;
        if (on) ctx.lineTo(x, y); else ctx.moveTo(x, y);
        on = true;
      }
      ctx.stroke();
    }
  }

  function legend(id, items) {
    $(id).replaceChildren(...items.map((it) => el('span', { class: 'item' },
      el('span', { class: 'swatch', style: 'background:' + it.color }), it.name, el('b', null, ' ' + it.value))));
  }

  function drawCharts() {
    const tp = [
      { name: 'in', color: COLORS[0], points: S.hist.map((p) => ({ t: p.t, v: p.ri })) },
      { name: 'out', color: COLORS[2], points: S.hist.map((p) => ({ t: p.t, v: p.ro })) },
    ];
    drawChart($('chart-throughput'), tp);
    const r = S.rates;
    legend('legend-throughput', [
      { name: 'records in/s', color: COLORS[0], value: r ? fmtRate(r.ri) + ' (' + fmtBytes(r.bi) + '/s)' : '—' },
      { name: 'records out/s', color: COLORS[2], value: r ? fmtRate(r.ro) + ' (' + fmtBytes(r.bo) + '/s)' : '—' },
    ]);
    const last = S.lagHist.length ? S.lagHist[S.lagHist.length - 1].lags : new Map();
    const names = new Set();
    for (const s of S.lagHist) for (const k of s.lags.keys()) names.add(k);
    const series = [...names].sort().map((name) => {
      if (!S.groupColors.has(name)) S.groupColors.set(name, COLORS[S.groupColors.size % COLORS.length]);
      return { name, color: S.groupColors.get(name), points: S.lagHist.map((s) => ({ t: s.t, v: s.lags.get(name) })) };
    });
    drawChart($('chart-lag'), series);
    legend('legend-lag', series.map((s) => ({ name: s.name, color: s.color, value: last.has(s.name) ? fmtInt(last.get(s.name)) : 'gone' })));
  }

  // ---- loop and events -----------------------------------------------------
  function showErrors(errors) {
    const box = $('errors');
    box.hidden = !errors.length;
    box.replaceChildren(...(errors.length ? [el('b', null, 'Some requests failed (showing the last good data): '),
      el('ul', null, errors.map((e) => el('li', null, e)))] : []));
  }

  async function tick() {
    S.timer = null;
    if (S.running) return;
    S.running = true;
    $('refresh-dot').classList.add('busy');
    let errors;
    try {
      errors = await refresh();
    } catch (e) {
      errors = ['console: ' + ((e && e.message) || e)];
    }
    S.running = false;
    S.refreshes++;
    $('refresh-dot').classList.remove('busy');
    showErrors(errors);
    const st = $('status');
    st.textContent = 'last updated ' + hhmmss(new Date());
    st.setAttribute('data-ready', 'true');
    st.setAttribute('data-refreshes', S.refreshes);
    st.setAttribute('data-errors', errors.length);
    if ($('auto-refresh').checked) S.timer = setTimeout(tick, REFRESH_MS);
  }

  function onToggle(ev) {
    const tr = ev.target.closest && ev.target.closest('tr.expandable');
    if (!tr || ev.target.closest('a')) return;
    if (ev.type === 'keydown') {
      if (ev.key !== 'Enter' && ev.key !== ' ') return;
      ev.preventDefault();
    }
    const kind = tr.getAttribute('data-kind'), key = tr.getAttribute(kind === 'topic' ? 'data-topic' : 'data-group');
    const set = kind === 'topic' ? S.openTopics : S.openGroups;
    const open = !set.has(key);
    if (open) set.add(key); else set.delete(key);
    const detail = tr.nextElementSibling;
    if (detail) detail.classList.toggle('collapsed', !open);
    const tog = tr.querySelector('.tog');
    if (tog) tog.textContent = open ? '▾' : '▸';
  }
  document.addEventListener('click', onToggle);
  document.addEventListener('keydown', onToggle);
  // #open=NAME&open=NAME expands those topics and groups (a link to share).
  for (const name of new URLSearchParams(location.hash.slice(1)).getAll('open')) {
    S.openTopics.add(name); S.openGroups.add(name);
  }
  $('show-internal').addEventListener('change', renderTopics);
  $('auto-refresh').addEventListener('change', (ev) => {
    if (!ev.target.checked) { clearTimeout(S.timer); S.timer = null; } else if (!S.running && !S.timer) tick();
  });
  let resizeTimer = null;
  window.addEventListener('resize', () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(drawCharts, 100); });
  tick();
})();
