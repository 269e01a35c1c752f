// The /ui dashboard: queues, running jobs, a submit form and one job's live events.
// Loaded as a module from index.html (the CSP allows no inline script or style).
import { submit, watch } from '/v1/client.js';

const $ = (id) => document.getElementById(id);
const QUEUE_REFRESH_MS = 2000;

// Token: from the #token=... fragment (never sent to the server) or the input field,
// kept in sessionStorage for this tab.
function initToken() {
  const m = /(?:^|[#&])token=([^&]*)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('redge-token', decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  const input = $('token');
  input.value = sessionStorage.getItem('redge-token') || '';
  input.addEventListener('change', () => {
    sessionStorage.setItem('redge-token', input.value);
    refresh();
  });
}
const token = () => $('token').value || undefined;

function showError(msg) {
  $('error').textContent = msg || '';
}

async function getJson(path) {
  const headers = token() ? { Authorization: `Bearer ${token()}` } : {};
  const res = await fetch(path, { headers, cache: 'no-store' });
  if (!res.ok) {
    let msg = `HTTP ${res.status}`;
    try { msg = (await res.json()).error.message; } catch (_) { /* not JSON */ }
    throw new Error(`${path}: ${msg}`);
  }
  return res.json();
}

function cell(row, text) {
  const td = document.createElement('td');
  td.textContent = text;
  row.appendChild(td);
}

function formatAge(ms) {
  if (!ms) return '-';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60000)} min`;
}

// A fraction 0..1 from an event's data: redge's {"progress": f}, or the usual Celery
// update_state meta {"current", "total"} or {"percent"}.
function progressOf(d) {
  if (!d || typeof d !== 'object') return undefined;
  let p;
  if (typeof d.progress === 'number') p = d.progress;
  else if (typeof d.current === 'number' && typeof d.total === 'number' && d.total > 0) {
    p = d.current / d.total;
  } else if (typeof d.percent === 'number') p = d.percent / 100;
  return typeof p === 'number' && p >= 0 && p <= 1 ? p : undefined;
}

// Celery queues: depth per kombu priority sub-queue ("0": n, "3": m, ...).
function priorities(q) {
  const by = q.celery && q.celery.depth_by_priority;
  if (!by) return '-';
  const parts = Object.keys(by).map((k) => `p${k}: ${by[k]}`);
  return parts.length ? parts.join(', ') : 'celery';
}

function renderQueues(queues) {
  const body = $('queues').tBodies[0];
  body.replaceChildren();
  for (const q of queues) {
    const row = document.createElement('tr');
    row.dataset.queue = q.queue;
    cell(row, q.queue);
    cell(row, String(q.depth));
    cell(row, formatAge(q.oldest_age_ms));
    cell(row, String(q.running));
    cell(row, priorities(q));
    body.appendChild(row);
  }
}

function renderRunning(jobs) {
  const list = $('running');
  list.replaceChildren();
  for (const job of jobs) {
    const li = document.createElement('li');
    li.dataset.jobId = job.id;
    const b = document.createElement('button');
    b.className = 'job-link';
    b.type = 'button';
    const task = job.celery ? `, ${job.celery.task}` : '';
    b.textContent = `${job.id} (${job.queue}${task}, attempt ${job.attempt})`;
    b.addEventListener('click', () => showJob(job.id));
    li.appendChild(b);
    list.appendChild(li);
  }
}

async function refresh() {
  try {
    const [q, r] = await Promise.all([getJson('/v1/queues'),
      getJson('/v1/jobs?state=running&limit=100')]);
    renderQueues(q.queues || []);
    renderRunning(r.jobs || []);
    showError('');
  } catch (e) {
    showError(e.message);
  }
}

let watcher = null;

function showJob(id) {
  if (watcher) watcher.close();
  $('job-id').textContent = id;
  $('job-events').replaceChildren();
  $('job-state').textContent = '';
  $('job-status').textContent = '';
  const bar = $('job-progress');
  bar.value = 0;
  watcher = watch(id, {
    token: token(),
    onStatus: (s) => { $('job-status').textContent = s; },
    onEvent: (e) => {
      const li = document.createElement('li');
      li.dataset.eventId = String(e.id);
      li.dataset.event = e.event;
      li.textContent = `${e.id} ${e.event} ${e.raw}`;
      $('job-events').appendChild(li);
      const p = progressOf(e.data);
      if (p !== undefined) bar.value = p;
    },
    onDone: ({ state }) => {
      $('job-state').textContent = state;
      if (state === 'completed') bar.value = 1;
      refresh();
    },
  });
}

$('submit-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  let payload;
  try {
    payload = JSON.parse($('submit-payload').value || 'null');
  } catch (e) {
    showError(`payload is not JSON: ${e.message}`);
    return;
  }
  try {
    const job = await submit($('submit-queue').value.trim(), payload, { token: token() });
    showError('');
    showJob(job.id);
    refresh();
  } catch (e) {
    showError(`submit failed: ${e.message}`);
  }
});

initToken();
refresh();
setInterval(refresh, QUEUE_REFRESH_MS);
