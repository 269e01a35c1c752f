// BullMQ, unchanged, driven by tests/frameworks/test_fw_bullmq.py against redge or
// redis-server (FW_REDIS_URL). Each command prints JSON lines on stdout: the test reads
// them. Every wait has a deadline (FW_TIMEOUT_MS) and exits non-zero when it passes.
//
//   node app.mjs scenario-basic QUEUE      Queue + Worker(updateProgress) + QueueEvents
//   node app.mjs scenario-retry QUEUE      a failing job: retries with backoff, then fails
//   node app.mjs scenario-delay QUEUE      a delayed job runs after its delay
//   node app.mjs worker QUEUE MODE         a long-running worker: MODE hang (never ends its
//                                          job: to be SIGKILLed) or complete
//   node app.mjs add QUEUE NAME            adds a job, prints its id
//   node app.mjs wait QUEUE ID             waits until job ID completes; prints counts
import { Queue, QueueEvents, Worker } from 'bullmq';

const url = new URL(process.env.FW_REDIS_URL || 'redis://127.0.0.1:6379/0');
const connection = {
  host: url.hostname,
  port: Number(url.port || 6379),
  maxRetriesPerRequest: null,
};
const TIMEOUT_MS = Number(process.env.FW_TIMEOUT_MS || 60000);
// Short locks, so a killed worker's job is found stalled within seconds.
const LOCK_MS = 2000;
const STALLED_INTERVAL_MS = 1000;

function out(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function deadline(what) {
  return setTimeout(() => {
    out({ error: `timed out after ${TIMEOUT_MS} ms waiting for ${what}` });
    process.exit(3);
  }, TIMEOUT_MS);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function scenarioBasic(name) {
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  const progress = {};
  const completed = {};
  events.on('progress', ({ jobId, data }) => {
    (progress[jobId] ||= []).push(data);
  });
  const allDone = new Promise((resolve) => {
    events.on('completed', ({ jobId, returnvalue }) => {
      completed[jobId] = returnvalue;
      if (Object.keys(completed).length === 3) resolve();
    });
  });
  const worker = new Worker(name, async (job) => {
    await job.updateProgress(50);
    await job.updateProgress({ step: 'done', pct: 100 });
    return { double: job.data.n * 2 };
  }, { connection, concurrency: 2 });
  const timer = deadline('3 completed events');
  const added = [];
  for (let n = 1; n <= 3; n++) added.push((await queue.add('progress', { n })).id);
  await allDone;
  clearTimeout(timer);
  const results = {};
  for (const id of added) {
    const job = await queue.getJob(id);
    results[id] = { returnvalue: job.returnvalue, progress: job.progress,
      finishedOn: job.finishedOn > 0, attemptsMade: job.attemptsMade };
  }
  const counts = await queue.getJobCounts();
  out({ added, progress, completed, results, counts });
  await worker.close();
  await events.close();
  await queue.close();
}

async function scenarioRetry(name) {
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  const attempts = [];
  const failedEvents = [];
  const finalFailure = new Promise((resolve) => {
    events.on('failed', ({ jobId, failedReason, prev }) => {
      failedEvents.push({ jobId, failedReason, prev });
    });
    events.on('retries-exhausted', ({ jobId, attemptsMade }) => resolve({ jobId, attemptsMade }));
  });
  const worker = new Worker(name, async (job) => {
    attempts.push({ at: Date.now(), attemptsMade: job.attemptsMade });
    throw new Error(`boom ${job.attemptsMade}`);
  }, { connection });
  const timer = deadline('the job to fail for good');
  const job = await queue.add('fail', { x: 1 }, { attempts: 3, backoff: { type: 'fixed', delay: 400 } });
  const exhausted = await finalFailure;
  // The final `failed` event follows retries-exhausted.
  while (failedEvents.length === 0) await sleep(20);
  clearTimeout(timer);
  const stored = await queue.getJob(job.id);
  const state = await stored.getState();
  const counts = await queue.getJobCounts();
  const failedIds = (await queue.getFailed()).map((j) => j.id);
  out({ id: job.id, attempts, exhausted, failedEvents, state,
    failedReason: stored.failedReason, attemptsMade: stored.attemptsMade, counts, failedIds });
  await worker.close();
  await events.close();
  await queue.close();
}

async function scenarioDelay(name) {
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  let processedAt = 0;
  const worker = new Worker(name, async () => {
    processedAt = Date.now();
    return 'late';
  }, { connection });
  const timer = deadline('the delayed job');
  const addedAt = Date.now();
  const job = await queue.add('delayed', {}, { delay: 1500 });
  await sleep(200);
  const stateWhileDelayed = await job.getState();
  const countsWhileDelayed = await queue.getJobCounts();
  await job.waitUntilFinished(events, TIMEOUT_MS);
  clearTimeout(timer);
  out({ id: job.id, addedAt, processedAt, waitedMs: processedAt - addedAt, stateWhileDelayed,
    countsWhileDelayed, counts: await queue.getJobCounts() });
  await worker.close();
  await events.close();
  await queue.close();
}

async function worker(name, mode) {
  const w = new Worker(name, async (job) => {
    out({ active: job.id, pid: process.pid });
    if (mode === 'hang') await new Promise(() => {});  // never ends: SIGKILLed by the test
    return { by: process.pid };
  }, { connection, lockDuration: LOCK_MS, stalledInterval: STALLED_INTERVAL_MS });
  w.on('completed', (job) => out({ completed: job.id }));
  w.on('stalled', (jobId) => out({ stalled: jobId }));
  w.on('error', (err) => out({ workerError: String(err) }));
  await w.waitUntilReady();
  out({ ready: true, pid: process.pid });
}

async function add(name, jobName) {
  const queue = new Queue(name, { connection });
  const job = await queue.add(jobName, { t: Date.now() });
  out({ id: job.id });
  await queue.close();
}

async function wait(name, id) {
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  const job = await queue.getJob(id);
  const timer = deadline(`job ${id}`);
  const value = await job.waitUntilFinished(events, TIMEOUT_MS);
  clearTimeout(timer);
  const done = await queue.getJob(id);
  out({ id, returnvalue: value, attemptsMade: done.attemptsMade,
    stalledCounter: done.stalledCounter, counts: await queue.getJobCounts() });
  await events.close();
  await queue.close();
}

const [cmd, ...args] = process.argv.slice(2);
const commands = {
  'scenario-basic': scenarioBasic, 'scenario-retry': scenarioRetry,
  'scenario-delay': scenarioDelay, worker, add, wait,
};
if (!commands[cmd]) {
  out({ error: `unknown command ${cmd}` });
  process.exit(2);
}
commands[cmd](...args).then(() => {
  if (cmd !== 'worker') process.exit(0);
}).catch((err) => {
  out({ error: String(err && err.stack ? err.stack : err) });
  process.exit(1);
});
