// The page of docs/celery.md: asks the app's own API to start a Celery task (it calls
// .delay() and returns the task id), then watches that task at redge with client.js:
// live progress over SSE (long-polls when a proxy breaks SSE), then the result.
const $ = (id) => document.getElementById(id);

async function start() {
  $('start').disabled = true;
  const res = await fetch('/api/reports', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ pages: 3 }),
  });
  const { task_id: taskId, redge_url: redge } = await res.json();
  $('task').textContent = taskId;
  // client.js is served by redge; another origin needs redge --cors-origins <this origin>.
  const { watch } = await import(`${redge}/v1/client.js`);
  watch(taskId, {
    baseUrl: redge,
    onStatus: (s) => { $('status').textContent = s; },
    onEvent: (e) => {
      const li = document.createElement('li');
      li.textContent = `${e.event} ${e.raw}`;
      $('events').appendChild(li);
      // update_state(state="PROGRESS", meta={"current": n, "total": m})
      if (e.event === 'progress' && e.data && e.data.total > 0) {
        $('bar').max = e.data.total;
        $('bar').value = e.data.current;
      }
    },
    onDone: ({ state, result, error }) => {
      $('state').textContent = state;
      $('result').textContent = state === 'completed' ? JSON.stringify(result) : String(error);
    },
  });
}

$('start').addEventListener('click', start);
