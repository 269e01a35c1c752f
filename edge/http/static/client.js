/**
 * redge browser client: submit jobs and watch their events. A plain ES module served by
 * redge at GET /v1/client.js (no build step):
 *
 *   import { submit, watch } from '/v1/client.js';
 *   const job = await submit('demo', { prompt: 'hi' }, { token });
 *   const w = watch(job.id, {
 *     token,
 *     onEvent: (e) => console.log(e.id, e.event, e.data),
 *     onStatus: (s) => console.log(s),  // connecting | live | reconnecting | polling | done
 *     onDone: ({ state, result, error }) => console.log(state, result, error),
 *   });
 *   // w.close() stops watching.
 *
 * Tokens (redge --http-token T): pass `token: T` to submit() and watch(). fetch()
 * requests send it as `Authorization: Bearer T`. EventSource cannot set headers, so the
 * SSE URL carries it as `?access_token=T` instead: it then appears in the server's URL
 * (and in any proxy access log), so prefer short-lived tokens, serve over HTTPS, and
 * never put a token in the page source: read it from user input or from a location
 * fragment (#token=...), which browsers do not send to the server.
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
const KNOWN_EVENTS = ['queued', 'started', 'progress', 'chunk', 'retrying', 'message',
  'log', 'output', 'token', 'completed', 'failed', 'canceled'];
const LONG_POLL_WAIT_S = 25;

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
 *          error: *}), baseUrl?: string, token?: string, after?: number,
 *          pollAfterFailures?: number, sseRetryMs?: number}} [opts]
 *   after: deliver events with ids > after (0 = from the first).
 *   onDone is called once, on the terminal event (state completed, failed or canceled;
 *   `not_found` when the job is unknown, expired or deleted), after which watching stops.
 * @returns {{close: function()}}
 */
export function watch(jobId, {
  onEvent, onStatus, onDone, baseUrl = '', token, after = 0, pollAfterFailures = 3,
  sseRetryMs = 10000,
} = {}) {
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
    for (const name of KNOWN_EVENTS) source.addEventListener(name, onMessage);
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
