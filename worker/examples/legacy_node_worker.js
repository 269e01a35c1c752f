#!/usr/bin/env node
// A legacy Node.js worker written the way the chat backends redge replaces wrote theirs
// for a plain Redis, with the `redis` package (node-redis 4, Debian's node-redis): it BRPOPs a job
// envelope, PUBLISHes `{message, progress}` updates to a channel named after the bare job
// id, then `{complete: true, content, isError}`. It knows nothing about redge: run redge
// with `--progress-channel-template {id}` and the messages become job events and the
// terminal message completes (or fails) the job.
//
//   NODE_PATH=/usr/share/nodejs node worker/examples/legacy_node_worker.js \
//       --url redis://127.0.0.1:6379 --queue-key redge:queue:chat
//
// A payload {"fail": true} makes it report an error (isError: true).
'use strict';

const { createClient } = require('redis');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

async function main() {
  const url = arg('--url', 'redis://127.0.0.1:6379');
  const queueKey = arg('--queue-key', 'redge:queue:chat');
  const steps = Number(arg('--steps', '3'));
  const client = createClient({ url, name: arg('--name', 'node-legacy-worker') });
  client.on('error', (err) => console.error('redis error:', err.message));
  await client.connect();
  let stopping = false;
  const stop = () => { stopping = true; };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  console.error(`node worker: waiting on ${queueKey}`);
  while (!stopping) {
    const item = await client.brPop(queueKey, 1);
    if (!item) continue;
    const envelope = JSON.parse(item.element);
    const id = envelope.id;
    const payload = envelope.payload || {};
    for (let i = 1; i <= steps; i++) {
      await client.publish(id, JSON.stringify({ message: `step ${i} of ${steps}`,
                                                progress: i / steps }));
    }
    const isError = Boolean(payload.fail);
    const content = isError ? 'the model refused' : `echo: ${JSON.stringify(payload)}`;
    await client.publish(id, JSON.stringify({ complete: true, content, isError }));
    console.error(`node worker: finished ${id} isError=${isError}`);
  }
  await client.quit();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
