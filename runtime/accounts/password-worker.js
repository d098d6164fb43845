// Worker thread of PasswordHasher (password-hasher.ts): bcrypt off the event loop.
// Plain JavaScript on purpose: it runs as it is under tsx (tests); the compiled build bundles it
// as build/password-worker.js, next to build/server.js (ops/scripts/build-server.mjs).
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

if (!parentPort) throw new Error('password-worker.js must run as a worker thread');
const port = parentPort;

port.on('message', (job) => {
  try {
    const result = job.op === 'hash' ? bcrypt.hashSync(job.password, job.rounds) : bcrypt.compareSync(job.password, job.hash);
    port.postMessage({ id: job.id, result });
  } catch (error) {
    port.postMessage({ id: job.id, error: String(error && error.message ? error.message : error) });
  }
});
