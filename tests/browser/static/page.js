// The browser suite's test page: loads /v1/client.js (same origin, through the test
// proxy), submits a job and watches it, recording everything in window.testState for
// the test to read over the DevTools protocol.
const state = {
  loaded: false, loadError: null, errors: [], job: null,
  events: [], statuses: [], done: null, doneCount: 0, eventsAfterDone: 0,
  refreshRequests: 0, refreshes: 0,
};
window.testState = state;
window.addEventListener('error', (e) => state.errors.push('error: ' + e.message));
window.addEventListener('unhandledrejection',
  (e) => state.errors.push('unhandledrejection: ' + String(e.reason)));

let client = null;
let handle = null;
// refreshToken() of the auth tests: asks the "app backend" (here redge itself, with the
// backend's API key) for a fresh stream token, once the test opens the gate.
let gate = null;
let openGate = null;

function show(id, text) { document.getElementById(id).textContent = text; }

window.testApi = {
  // Submits a job and watches it; resolves with submit()'s answer.
  async start({ queue, payload, submitOpts = {}, watchOpts = {} }) {
    const job = await client.submit(queue, payload, submitOpts);
    state.job = job;
    const { useStreamToken, refreshKey, gated, ...rest } = watchOpts;
    const auth = {};
    if (useStreamToken) auth.token = job.stream_token;
    if (refreshKey) {
      auth.refreshToken = async () => {
        state.refreshRequests++;
        if (gated) {
          if (!gate) gate = new Promise((resolve) => { openGate = resolve; });
          await gate;
          gate = null;
        }
        const res = await fetch(`/v1/jobs/${job.id}/stream-token`, {
          method: 'POST', headers: { Authorization: `Bearer ${refreshKey}` },
        });
        const body = await res.json();
        state.refreshes++;
        return body.stream_token;
      };
    }
    handle = client.watch(job.id, {
      ...rest,
      ...auth,
      onEvent(ev) {
        if (state.done) state.eventsAfterDone++;
        state.events.push({ id: ev.id, event: ev.event, data: ev.data, hasRaw: ev.raw !== undefined });
        const li = document.createElement('li');
        li.textContent = `${ev.id} ${ev.event} ${JSON.stringify(ev.data)}`;
        document.getElementById('events').appendChild(li);
      },
      onStatus(s) { state.statuses.push(s); show('status', s); },
      onDone(d) {
        state.doneCount++;
        state.done = { state: d.state, result: d.result, error: d.error };
        show('done', d.state);
      },
    });
    return job;
  },
  close() { if (handle) handle.close(); },
  // Subscribes to a durable channel; messages, statuses and misses go to testState.
  subscribe(channel, opts = {}) {
    state.messages = [];
    state.missed = [];
    handle = client.subscribe(channel, {
      ...opts,
      onMessage(m) {
        state.messages.push({ id: m.id, data: m.data });
        const li = document.createElement('li');
        li.textContent = `${m.id} ${m.data}`;
        document.getElementById('events').appendChild(li);
      },
      onMissed(info) { state.missed.push(info); },
      onStatus(s) { state.statuses.push(s); show('status', s); },
    });
    return true;
  },
  // Lets a gated refreshToken() go on.
  releaseRefresh() {
    if (!gate) gate = new Promise((resolve) => { openGate = resolve; });
    openGate();
  },
};

import('/v1/client.js').then((mod) => {
  client = mod;
  state.loaded = true;
}).catch((e) => { state.loadError = String(e); });
