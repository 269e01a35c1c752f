// BullMQ throughput (tools/bench/streams_vs_redis.sh): one Queue, one Worker with
// concurrency 8 and a no-op processor, N jobs added in bulk; prints one JSON line with the
// jobs per second from the first add to the last completion.
//   FW_REDIS_URL=redis://127.0.0.1:6379/0 node bench.mjs N
import { Queue, Worker } from 'bullmq';

const url = new URL(process.env.FW_REDIS_URL || 'redis://127.0.0.1:6379/0');
const connection = { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
const n = Number(process.argv[2] || 10000);
const name = `bench-${process.pid}`;
const queue = new Queue(name, { connection });
let done = 0;
let finish;
const finished = new Promise((r) => { finish = r; });
const worker = new Worker(name, async () => null, { connection, concurrency: 8 });
worker.on('completed', () => { if (++done === n) finish(); });
await worker.waitUntilReady();
const timer = setTimeout(() => {
  process.stdout.write(`${JSON.stringify({ error: `only ${done} of ${n} jobs in 300 s` })}\n`);
  process.exit(3);
}, 300000);
const started = process.hrtime.bigint();
for (let i = 0; i < n; i += 500) {
  const batch = [];
  for (let j = i; j < Math.min(n, i + 500); j++) {
    batch.push({ name: 'noop', data: { j }, opts: { removeOnComplete: true, removeOnFail: true } });
  }
  await queue.addBulk(batch);
}
await finished;
clearTimeout(timer);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(`${JSON.stringify({ jobs: n, seconds, jobs_per_s: n / seconds })}\n`);
await worker.close();
await queue.close();
process.exit(0);
