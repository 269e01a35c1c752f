/**
 * redge browser client: submit jobs and watch their events. A plain ES module served by
 * redge at GET /v1/client.js (no build step):
 *
 *   import { submit, watch, subscribe } from '/v1/client.js';
 *   const job = await submit('demo', { prompt: 'hi' }, { token });
 *   const w = watch(job.id, {
 *     token,
 *     onEvent: (e) => console.log(e.id, e.event, e.data),
 *     onStatus: (s) => console.log(s),
 *     // connecting | live | reconnecting | polling | unauthorized | done
 *     onDone: ({ state, result, error }) => console.log(state, result, error),
 *   });
 *   // w.close() stops watching.
 *
 * Credentials: pass `token` to submit() and watch(): an API key, a user's JWT (e.g. a
 * Firebase ID token), or for watch() the job's `stream_token` from the 202 (what an app
 * backend hands a page instead of its own key: it reads that one job, for a limited time).
 * fetch() requests send it as `Authorization: Bearer <token>`. EventSource cannot set
 * headers, so the SSE URL carries it as `?access_token=<token>` instead: it then appears in
 * the server's URL (and in any proxy access log), so prefer short-lived tokens (stream
 * tokens, JWTs), serve over HTTPS, and never put a token in the page source.
 *
 * Expiry: when the token expires (or is revoked) while watching, the server ends the
 * stream with an `auth_expired` event, and a long-poll gets 401. watch() then calls
 * `refreshToken()` (a function of the page returning a fresh token, or a promise of one:
 * Firebase's `user.getIdToken(true)`, or a call to the app backend for a new stream token)
 * and resumes after the last event it delivered, so no event is lost or repeated. Without
 * `refreshToken`, or when it fails or returns nothing, watch() stops with status
 * `unauthorized` (onDone is not called: the job is not done; show the user a sign-in
 * banner).
 *
 * Durable channels (redge --durable-channels): subscribe(channel, {onMessage, onMissed,
 * onStatus, after, token}) reads a channel's messages with the same resume and long-poll
 * fallback, each message once and in order; see subscribe() below.
 *
 * Cross-origin use: pass `baseUrl: 'https://redge.example'` and start redge with
 * `--cors-origins https://your-page.example`.
 *
 * Delivery: each event reaches onEvent exactly once and in id order (ids are 1, 2, 3...
 * per job); repeats after a reconnect are dropped. When the SSE stream keeps failing
 * (`pollAfterFailures` errors in a row, or an error before it ever opened) watch() falls
 * back to long-polls (GET /v1/jobs/{id}?after=N&wait=25: each waits on the server) and
 * tries SSE again after `sseRetryMs`.
 */

const TERMINAL = new Set(['completed', 'failed', 'canceled']);
// EventSource only dispatches named events to listeners for those names: these are the
// names redge and common workers use. An event of another name is not seen on the
// stream, but the next one reveals the gap in the ids and the missing events are fetched
// (GET /v1/jobs/{id}?after=N) before it is delivered.
// `acked` and `state` are the Celery bridge's (docs/celery.md); a Celery task's custom
// states arrive under their own lower-case names: pass them as `events` to watch() to get
// each one as it happens rather than with the next known event.
const KNOWN_EVENTS = ['queued', 'started', 'progress', 'chunk', 'retrying', 'message',
  'log', 'output', 'token', 'acked', 'state', 'completed', 'failed', 'canceled'];
const LONG_POLL_WAIT_S = 25;
// Refreshes in a row that did not let a single request through: then the credential is
// refused for good (status `unauthorized`) rather than refreshed forever.
const MAX_FUTILE_REFRESHES = 2;

function authHeaders(token) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function errorFrom(res) {
  let code = 'http_error';
  let message = `HTTP ${res.status}`;
  try {
    const body = await res.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch (_) { /* not JSON */ }
  const err = new Error(message);
  err.status = res.status;
  err.code = code;
  return err;
}

/**
 * Submits a job: POST /v1/queues/{queue}/jobs with `payload` as the JSON body.
 * @param {string} queue
 * @param {*} payload any JSON value
 * @param {{baseUrl?: string, token?: string, correlationId?: string,
 *          idempotencyKey?: string}} [opts]
 * @returns {Promise<{id: string, queue: string, state: string, correlation_id: string,
 *          events_url: string, status_url: string}>} rejects with an Error carrying
 *          `status` and `code` (the API's error code) when the server refuses.
 */
export async function submit(queue, payload, opts = {}) {
  const { baseUrl = '', token, correlationId, idempotencyKey } = opts;
  const headers = { 'Content-Type': 'application/json', ...authHeaders(token) };
  if (correlationId) headers['X-Correlation-ID'] = correlationId;
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  const res = await fetch(`${baseUrl}/v1/queues/${encodeURIComponent(queue)}/jobs`, {
    method: 'POST',
    headers,
    body: JSON.stringify(payload === undefined ? null : payload),
  });
  if (!res.ok) throw await errorFrom(res);
  return res.json();
}

/**
 * Watches a job's events: SSE first, long-polling while SSE fails.
 * @param {string} jobId
 * @param {{onEvent?: function({id: number, event: string, data: *, raw: string}),
 *          onStatus?: function(string), onDone?: function({state: string, result: *,
 *          error: *}), baseUrl?: string, token?: string,
 *          refreshToken?: function(): (string|Promise<string>), after?: number,
 *          pollAfterFailures?: number, sseRetryMs?: number, events?: string[]}} [opts]
 *   after: deliver events with ids > after (0 = from the first).
 *   events: more event names to listen for on the SSE stream (a worker's own names,
 *   a Celery task's custom states in lower case); others still arrive, in order, once a
 *   later event reveals them.
 *   onDone is called once, on the terminal event (state completed, failed or canceled;
 *   `not_found` when the job is unknown, expired or deleted), after which watching stops.
 * @returns {{close: function()}}
 */
export function watch(jobId, {
  onEvent, onStatus, onDone, baseUrl = '', token: initialToken, refreshToken, after = 0,
  pollAfterFailures = 3, sseRetryMs = 10000, events = [],
} = {}) {
  let token = initialToken;
  const id = encodeURIComponent(jobId);
  let lastId = Number(after) || 0;
  let closed = false;
  let status = null;
  let es = null;
  let failures = 0;        // SSE errors since the stream was last open
  let poll = null;         // AbortController of the running long-poll loop
  let sseTimer = null;     // switches from polling back to SSE
  let reopenTimer = null;  // reopens an EventSource the browser gave up on
  let chain = Promise.resolve();  // SSE events are handled one at a time, in order
  let refreshing = null;   // the refresh in progress (one at a time)
  let futileRefreshes = 0;  // refreshes since a request last got through

  const setStatus = (s) => {
    if (s === status || (closed && s !== 'done')) return;
    status = s;
    if (onStatus) onStatus(s);
  };

  function close() {
    closed = true;
    if (es) es.close();
    es = null;
    if (poll) poll.abort();
    poll = null;
    clearTimeout(sseTimer);
    clearTimeout(reopenTimer);
  }

  function finish(outcome) {
    if (closed) return;
    close();
    setStatus('done');
    if (onDone) onDone(outcome);
  }

  // The credential was refused or expired: no more requests with it.
  function unauthorized() {
    if (closed) return;
    setStatus('unauthorized');
    close();
  }

  // Gets a fresh token from the page; resolves true when watching may go on with it.
  function refresh() {
    if (!refreshing) {
      refreshing = (async () => {
        if (!refreshToken || futileRefreshes >= MAX_FUTILE_REFRESHES) return false;
        futileRefreshes++;
        try {
          const fresh = await refreshToken();
          if (closed || !fresh) return false;
          token = fresh;
          return true;
        } catch (_) {
          return false;
        }
      })().finally(() => { refreshing = null; });
    }
    return refreshing;
  }

  // Called when the credential stopped working: refresh it and resume with SSE after the
  // last delivered event (the URL's ?after= is Last-Event-ID), or give up.
  async function reauthenticate() {
    if (closed) return;
    if (es) es.close();
    es = null;
    if (poll) poll.abort();
    poll = null;
    clearTimeout(sseTimer);
    clearTimeout(reopenTimer);
    setStatus('reconnecting');
    if (await refresh()) {
      failures = 0;
      startSse();
    } else {
      unauthorized();
    }
  }

  // Delivers one event unless it was delivered already; ends on a terminal event.
  function deliver(ev) {
    if (closed || !(ev.id > lastId)) return;
    lastId = ev.id;
    if (onEvent) onEvent(ev);
    if (TERMINAL.has(ev.event)) {
      const data = ev.data && typeof ev.data === 'object' ? ev.data : {};
      finish({
        state: ev.event,
        result: ev.event === 'completed' ? data.result : undefined,
        error: ev.event === 'completed' ? undefined : (data.error ?? null),
      });
    }
  }

  function fromRecord(e) {
    return { id: e.id, event: e.event, data: e.data, raw: JSON.stringify(e.data) };
  }

  // GET /v1/jobs/{id}?after=lastId[&wait=S]; resolves to the job or throws.
  async function fetchJob(waitS, signal) {
    let url = `${baseUrl}/v1/jobs/${id}?after=${lastId}`;
    if (waitS) url += `&wait=${waitS}`;
    const res = await fetch(url, { headers: authHeaders(token), signal, cache: 'no-store' });
    if (!res.ok) throw await errorFrom(res);
    futileRefreshes = 0;
    return res.json();
  }

  function deliverJob(job) {
    for (const e of job.events || []) deliver(fromRecord(e));
    // The terminal event may be gone (expired) while the record still says how it ended.
    if (!closed && TERMINAL.has(job.state)) {
      finish({ state: job.state, result: job.result, error: job.error ?? null });
    }
  }

  // --- SSE ------------------------------------------------------------------------
  function startSse() {
    if (closed) return;
    clearTimeout(reopenTimer);
    if (es) es.close();
    let opened = false;
    let url = `${baseUrl}/v1/jobs/${id}/events?after=${lastId}`;
    if (token) url += `&access_token=${encodeURIComponent(token)}`;
    setStatus(status === null ? 'connecting' : 'reconnecting');
    const source = new EventSource(url);
    es = source;
    source.onopen = () => {
      if (es !== source) return;
      opened = true;
      failures = 0;
      futileRefreshes = 0;
      setStatus('live');
    };
    const onMessage = (m) => {
      if (es !== source) return;
      let data;
      try {
        data = JSON.parse(m.data);
      } catch (_) {
        data = m.data;
      }
      const ev = { id: Number(m.lastEventId), event: m.type, data, raw: m.data };
      if (!Number.isFinite(ev.id)) return;
      chain = chain.then(async () => {
        if (closed || ev.id <= lastId) return;
        if (ev.id > lastId + 1) {
          // An event of a name we do not listen to was skipped: fetch it first.
          try {
            deliverJob(await fetchJob(0));
          } catch (_) { /* deliver what we have */ }
        }
        deliver(ev);
      });
    };
    for (const name of new Set([...KNOWN_EVENTS, ...events])) {
      if (name !== 'gone') source.addEventListener(name, onMessage);
    }
    // The job was deleted or expired while watched: the stream's terminal `gone` event
    // (no id; its data is an API error) ends the watch like a 404 does.
    source.addEventListener('gone', (m) => {
      if (es !== source) return;
      let message = 'the job no longer exists';
      try {
        message = JSON.parse(m.data).error.message || message;
      } catch (_) { /* keep the default */ }
      chain = chain.then(() => finish({ state: 'not_found', result: undefined, error: message }));
    });
    // The credential expired or was revoked: the server ends the stream after this event
    // (it has no id, so the position stays on the last delivered event).
    source.addEventListener('auth_expired', () => {
      if (es !== source) return;
      source.close();
      es = null;
      chain = chain.then(reauthenticate);
    });
    source.onerror = () => {
      if (es !== source || closed) return;
      failures++;
      if (!opened || failures >= pollAfterFailures) {
        // Refused (an error before it ever opened) or failing over and over.
        source.close();
        es = null;
        startPolling();
        return;
      }
      setStatus('reconnecting');
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error on reconnect): reopen from lastId ourselves.
        reopenTimer = setTimeout(startSse, 1000);
      }
      // Else the browser reconnects by itself, sending Last-Event-ID.
    };
  }

  // --- Long-poll ------------------------------------------------------------------
  function startPolling() {
    if (closed) return;
    setStatus('polling');
    const ctl = new AbortController();
    poll = ctl;
    clearTimeout(sseTimer);
    sseTimer = setTimeout(() => {
      if (closed || poll !== ctl) return;
      ctl.abort();
      poll = null;
      failures = 0;
      startSse();
    }, sseRetryMs);
    (async () => {
      let backoff = 1000;
      while (!closed && poll === ctl) {
        try {
          // Wait for SSE events already queued, so delivery stays in order.
          await chain;
          const job = await fetchJob(LONG_POLL_WAIT_S, ctl.signal);
          if (poll !== ctl) return;
          deliverJob(job);
          backoff = 1000;
        } catch (err) {
          if (closed || poll !== ctl || ctl.signal.aborted) return;
          if (err && err.status === 404) {
            finish({ state: 'not_found', result: undefined, error: err.message });
            return;
          }
          if (err && (err.status === 401 || err.status === 403)) {
            // Refused (an expired or revoked credential, or one that may not read this
            // job): refresh it and go back to SSE, or stop.
            reauthenticate();
            return;
          }
          // Network or server trouble: wait before the next long-poll.
          await new Promise((r) => setTimeout(r, backoff));
          backoff = Math.min(backoff * 2, 30000);
        }
      }
    })();
  }

  if (typeof EventSource === 'undefined') {
    startPolling();
  } else {
    startSse();
  }
  return { close };
}

// --- Durable channels -----------------------------------------------------------------
// Message ids are stream ids "<ms>-<seq>": compared as numbers of any size.
function parseMsgId(id) {
  const m = /^(\d+)(?:-(\d+))?$/.exec(String(id));
  return m ? [BigInt(m[1]), BigInt(m[2] || 0)] : null;
}
function msgIdGreater(a, b) {
  const x = parseMsgId(a);
  const y = parseMsgId(b);
  if (!x) return false;
  if (!y) return true;
  return x[0] > y[0] || (x[0] === y[0] && x[1] > y[1]);
}

/**
 * Subscribes to a durable channel (redge --durable-channels): GET
 * /v1/channels/{channel}/events over SSE, long-polls of /v1/channels/{channel}/messages
 * while SSE fails, resuming from the last message id either way.
 * @param {string} channel
 * @param {{onMessage?: function({id: string, data: string, channel: string}),
 *          onMissed?: function({after: string, resume: string, first_id: ?string,
 *          message: string}), onStatus?: function(string), baseUrl?: string,
 *          token?: string, after?: string, pollAfterFailures?: number,
 *          sseRetryMs?: number}} [opts]
 *   after: deliver messages with ids > after ('0': every message the channel still
 *   keeps); absent: only messages published from now on.
 *   onMessage gets each message exactly once, in id order, across reconnects and the
 *   fallback. onMissed is called when messages after the position were dropped by the
 *   channel's retention (--channel-history) before this reader got them; delivery goes on
 *   with the oldest message kept. onStatus: connecting | live | reconnecting | polling |
 *   failed (the server refused: unknown channel, bad token; subscribing stops) | closed.
 * @returns {{close: function(), lastId: function(): ?string}}
 */
export function subscribe(channel, {
  onMessage, onMissed, onStatus, baseUrl = '', token, after, pollAfterFailures = 3,
  sseRetryMs = 10000,
} = {}) {
  const name = encodeURIComponent(channel);
  let lastId = after === undefined || after === null ? null : String(after);
  let closed = false;
  let status = null;
  let es = null;
  let failures = 0;
  let poll = null;
  let sseTimer = null;
  let reopenTimer = null;
  let chain = Promise.resolve();

  const setStatus = (s) => {
    if (s === status || (closed && s !== 'closed' && s !== 'failed')) return;
    status = s;
    if (onStatus) onStatus(s);
  };

  function stop() {
    closed = true;
    if (es) es.close();
    es = null;
    if (poll) poll.abort();
    poll = null;
    clearTimeout(sseTimer);
    clearTimeout(reopenTimer);
  }

  function close() {
    if (closed) return;
    stop();
    setStatus('closed');
  }

  function fail() {
    if (closed) return;
    stop();
    setStatus('failed');
  }

  // Moves the position forward (never back).
  function advance(id) {
    if (id !== undefined && id !== null && (lastId === null || msgIdGreater(id, lastId))) {
      lastId = String(id);
    }
  }

  function deliver(id, data) {
    if (closed || (lastId !== null && !msgIdGreater(id, lastId))) return;
    lastId = String(id);
    if (onMessage) onMessage({ id: String(id), data, channel });
  }

  function missed(info) {
    if (closed) return;
    if (lastId !== null && !msgIdGreater(info.resume, lastId)) return;  // reported already
    advance(info.resume);
    if (onMissed) onMissed(info);
  }

  function query() {
    return lastId === null ? '' : `after=${encodeURIComponent(lastId)}`;
  }

  // --- SSE ------------------------------------------------------------------------
  function startSse() {
    if (closed) return;
    clearTimeout(reopenTimer);
    if (es) es.close();
    let opened = false;
    const params = [query(), token ? `access_token=${encodeURIComponent(token)}` : '']
      .filter(Boolean).join('&');
    const url = `${baseUrl}/v1/channels/${name}/events${params ? `?${params}` : ''}`;
    setStatus(status === null ? 'connecting' : 'reconnecting');
    const source = new EventSource(url);
    es = source;
    source.onopen = () => {
      if (es !== source) return;
      opened = true;
      failures = 0;
      setStatus('live');
    };
    source.addEventListener('ready', (m) => {
      if (es !== source) return;
      chain = chain.then(() => { if (lastId === null) advance(m.lastEventId); });
    });
    source.addEventListener('missed', (m) => {
      if (es !== source) return;
      let info = null;
      try { info = JSON.parse(m.data); } catch (_) { /* malformed: ignored */ }
      if (info) chain = chain.then(() => missed(info));
    });
    source.addEventListener('message', (m) => {
      if (es !== source || !parseMsgId(m.lastEventId)) return;
      const id = m.lastEventId;
      const { data } = m;
      chain = chain.then(() => deliver(id, data));
    });
    source.addEventListener('error', (m) => {
      // The server's own `error` event (a store failure) carries data; a connection
      // error does not and reaches onerror below.
      if (es !== source || !m.data || closed) return;
      source.close();
      es = null;
      chain = chain.then(startPolling);
    });
    source.onerror = () => {
      if (es !== source || closed) return;
      failures++;
      if (!opened || failures >= pollAfterFailures) {
        source.close();
        es = null;
        startPolling();
        return;
      }
      setStatus('reconnecting');
      if (source.readyState === EventSource.CLOSED) {
        reopenTimer = setTimeout(startSse, 1000);
      }
    };
  }

  // --- Long-poll ------------------------------------------------------------------
  function startPolling() {
    if (closed) return;
    setStatus('polling');
    const ctl = new AbortController();
    poll = ctl;
    clearTimeout(sseTimer);
    sseTimer = setTimeout(() => {
      if (closed || poll !== ctl) return;
      ctl.abort();
      poll = null;
      failures = 0;
      startSse();
    }, sseRetryMs);
    (async () => {
      let backoff = 1000;
      while (!closed && poll === ctl) {
        try {
          await chain;
          const q = [query(), `wait=${LONG_POLL_WAIT_S}`].filter(Boolean).join('&');
          const res = await fetch(`${baseUrl}/v1/channels/${name}/messages?${q}`, {
            headers: authHeaders(token), signal: ctl.signal, cache: 'no-store',
          });
          if (!res.ok) throw await errorFrom(res);
          const body = await res.json();
          if (poll !== ctl) return;
          if (body.missed) missed(body.missed);
          for (const m of body.messages || []) deliver(m.id, m.data);
          advance(body.last_id);
          backoff = 1000;
        } catch (err) {
          if (closed || poll !== ctl || ctl.signal.aborted) return;
          if (err && err.status >= 400 && err.status < 500 && err.status !== 408) {
            fail();
            return;
          }
          await new Promise((r) => setTimeout(r, backoff));
          backoff = Math.min(backoff * 2, 30000);
        }
      }
    })();
  }

  if (typeof EventSource === 'undefined') {
    startPolling();
  } else {
    startSse();
  }
  return { close, lastId: () => lastId };
}
