/** The benchmark's table: every figure with its goal and whether it was met; printed and written to test-results/. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { machine } from './util.ts';
import { results } from './util.ts';

interface Row {
  what: string;
  value: string;
  target: string;
  ok: boolean | null;
}

const ms = (s: { p50: number; p99: number }) => `p50 ${s.p50} ms, p99 ${s.p99} ms`;

export function rows(): Row[] {
  const r = results;
  const out: Row[] = [];
  const add = (what: string, value: string, target = '', ok: boolean | null = null) => out.push({ what, value, target, ok });
  if (r.floor) {
    for (const [mode, label] of [['fresh', 'fresh connection each'], ['keepAlive', 'keep-alive']] as const) {
      const f = r.floor[mode];
      if (!f) continue;
      add(`floor: authenticated GET /api/me, ${label} (n=${f.me.n})`, ms(f.me));
      add(`launch: POST /api/containers, ${label} (n=${f.launch.n})`, `${ms(f.launch)} → ${f.p50Ratio}× / ${f.p99Ratio}× the floor`, 'p50 ≤ 1.6×, p99 ≤ 3× the floor', f.p50Ratio <= 1.6 && f.p99Ratio <= 3);
    }
  }
  if (r.launch) {
    add(`launch via HTTP API, warm pool (n=${r.launch.n})`, ms(r.launch), 'p50 ≤ 20 ms, p99 ≤ 100 ms', r.launch.p50 <= 20 && r.launch.p99 <= 100);
    add('launch → first HTTP 200 from the container', ms(r.launchToFirst200), 'p50 ≤ 50 ms', r.launchToFirst200.p50 <= 50);
  }
  if (r.baseline) {
    add(`original design: docker stop + rm + run (n=${r.baseline.stopRmRun.n})`, `${ms(r.baseline.stopRmRun)} (stop ${r.baseline.stop.p50}, run ${r.baseline.run.p50})`);
  }
  if (r.launch && r.baseline) {
    const ratio = r.baseline.stopRmRun.p50 / r.launch.p50;
    r.speedup = { launch: Math.round(ratio * 10) / 10, p99: Math.round((r.baseline.stopRmRun.p99 / r.launch.p99) * 10) / 10 };
    add('speed-up of a launch (p50 / p50)', `${r.speedup.launch}× (p99/p99: ${r.speedup.p99}×)`, '≥ 25×', ratio >= 25);
  }
  if (r.kill) {
    add(`docker kill → slot failed (n=${r.kill.detectedMs.n})`, `p50 ${r.kill.detectedMs.p50} ms, max ${r.kill.detectedMs.max} ms`, '≤ 1 s', r.kill.detectedMs.max <= 1000);
    add("docker kill → serving the user's file again", `p50 ${r.kill.servingAgainMs.p50} ms, max ${r.kill.servingAgainMs.max} ms`, '≤ 3 s', r.kill.servingAgainMs.max <= 3000);
  }
  if (r.storm) {
    add(`${r.storm.launches} concurrent launches on ${r.storm.free} free`, `settled in ${r.storm.settleMs} ms; ${JSON.stringify(r.storm.statuses)}`, '15 granted', r.storm.granted === 15);
    add('double assignments in that storm', String(r.storm.doubleAssignments), '0', r.storm.doubleAssignments === 0 && r.storm.everyGrantHeld);
  }
  if (r.socketio) add(`socket.io: state change → client (n=${r.socketio.n})`, ms(r.socketio));
  if (r.churn) {
    const c = r.churn;
    add(`churn: ${c.clients} clients, ${c.pool} slots, ${c.seconds} s: launch → upload → GET → release`, `${c.cycles} cycles, ${c.cyclesPerSecond}/s`);
    add('churn: launch (201 answers)', `${ms(c.launch201)} (all answers: ${ms(c.launchAll)})`);
    add('churn: release → slot available again', ms(c.releaseToAvailable));
    add('churn: double assignments / wrong file served', `${c.doubleAssignments} / ${c.wrongContent}`, '0 / 0', c.doubleAssignments === 0 && c.wrongContent === 0);
    add('churn: launch answers other than 201/409', `${c.otherStatuses} (${JSON.stringify(c.statuses)})`, '0', c.otherStatuses === 0);
  }
  if (r.defaultPool) {
    add('default pool of 15: server RSS (compiled, plain node)', `${r.defaultPool.memory.rssMB} MB (heap ${r.defaultPool.memory.heapUsedMB} MB; node binary and libraries ${r.defaultPool.memory.fileBackedMB} MB)`, '≤ 85 MB', r.defaultPool.memory.rssMB <= 85);
  }
  if (r.cliHelp) add(`pooldeck --help (${r.cliHelp.how})`, `${r.cliHelp.meanMs} ms mean (bare node -e 0: ${r.cliHelp.nodeMs} ms)`, '≤ 150 ms', r.cliHelp.meanMs <= 150);
  if (r.fake) {
    const f = r.fake;
    add(`fake engine, ${f.size} slots: boot (SQLite, files, actors)`, `${f.bootSeconds} s`);
    add(`fake engine, ${f.size} slots: health sweep, control-plane time (n=${f.wallMs.n})`, `p50 ${f.wallMs.p50} ms, max ${f.wallMs.max} ms`, '≤ 30 ms', f.wallMs.p50 <= 30);
    add(`fake engine, ${f.size} slots: server RSS`, `${f.memory.rssMB} MB idle, ${f.memoryAfterLoad.rssMB} MB after the load`, '≤ 180 MB', Math.max(f.memory.rssMB, f.memoryAfterLoad.rssMB) <= 180);
    add(`fake engine, ${f.size} slots: launch under ${f.load.clients} launch/release clients (${f.load.launchesPerSecond}/s)`, `${ms(f.load.launch)}; release ${ms(f.load.release)}`, 'p99 ≤ 10 ms', f.load.launch.p99 <= 10);
    add(`fake engine, ${f.size} slots: events through the pool actor`, `${f.load.poolEventsPerSecond}/s (all actors: ${f.load.allActorEventsPerSecond}/s); refusals ${JSON.stringify(f.load.refusals)}`);
  }
  if (r.bootCurve) {
    const curve = r.bootCurve.curve.map((p: { parallelism: number; seconds: number }) => `${p.parallelism} at once: ${p.seconds} s`).join('; ');
    add(`pool of ${r.bootCurve.size} from nothing: creation parallelism → boot time`, `${curve}; best ${r.bootCurve.best}`);
  }
  if (r.bigPool) {
    const b = r.bigPool;
    add(`pool of ${b.size}: one health sweep (n=${b.durationMs.n})`, `p50 ${b.durationMs.p50} ms, max ${b.durationMs.max} ms`, '≤ 200 ms', b.durationMs.max <= 200);
    add(`pool of ${b.size}: Docker calls per sweep`, String(b.dockerCallsPerSweep), '1', b.dockerCallsPerSweep === 1);
    add(`pool of ${b.size}: server RSS`, `${b.memory.rssMB} MB (${b.memory.rssAfterGcMB} MB after GC)`, '≤ 110 MB', b.memory.rssMB <= 110);
  }
  if (r.swarm?.skipped) add('Swarm section', `skipped: ${r.swarm.skipped}`);
  if (r.swarm?.boot) add(`Swarm: pool of 2 × 20 from nothing (${JSON.stringify(r.swarm.boot.perNode)}) → all available`, `${r.swarm.boot.seconds} s (server's own: ${r.swarm.boot.serverBootMs} ms)`);
  if (r.swarm?.launch) {
    const l = r.swarm.launch;
    add(`Swarm: launch via HTTP API vs one host, same run (n=${l.swarm.n} each)`, `Swarm ${ms(l.swarm)}; one host ${ms(l.singleHost)} → p50 ${l.ratio}×`, 'p50 ≤ 1.5× one host', l.ratio <= 1.5);
  }
  if (r.swarm?.kill) add(`Swarm: docker kill of a task → the file served again (n=${r.swarm.kill.servingAgainMs.n})`, `p50 ${r.swarm.kill.servingAgainMs.p50} ms, max ${r.swarm.kill.servingAgainMs.max} ms`, '≤ 3 s', r.swarm.kill.servingAgainMs.max <= 3000);
  if (r.swarm?.nodeLoss) add('Swarm: node stopped → the moved assignment serving its file on the other node', `${r.swarm.nodeLoss.movedServingMs} ms (Swarm marked the node down after ${r.swarm.nodeLoss.markedDownMs} ms)`, '≤ 30 s', r.swarm.nodeLoss.movedServingMs <= 30_000);
  if (r.rss25) add('pool of 25: server RSS after the warm-pool runs', `${r.rss25.rssMB} MB`);
  if (r.loadAverage) add('machine load average (1 min) during the run', `mean ${r.loadAverage.mean}, max ${r.loadAverage.max} on ${r.loadAverage.cores} cores${r.loadAverage.max >= r.loadAverage.cores ? ' — busy: other work skewed these numbers' : ''}`);
  return out;
}

export function report(root: string, info: ReturnType<typeof machine>): boolean {
  const table = rows();
  const mark = (ok: boolean | null) => (ok === null ? '' : ok ? 'yes' : 'NO');
  const widths = [0, 1, 2].map((i) => Math.max(...table.map((row) => [row.what, row.value, row.target][i]!.length), ['measure', 'result', 'target'][i]!.length));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 3)).join('  ');
  const machineLine = `${info.cpu}, ${info.cores} cores, ${info.ramGiB} GiB RAM, ${info.kernel}, Docker ${info.docker}, Node ${info.node}`;
  console.log(`\nPooldeck benchmark — ${info.at}\n${machineLine}\n`);
  console.log(line(['measure', 'result', 'target', 'met']));
  for (const row of table) console.log(line([row.what, row.value, row.target, mark(row.ok)]));
  mkdirSync(path.join(root, 'test-results'), { recursive: true });
  writeFileSync(path.join(root, 'test-results', 'bench.json'), JSON.stringify({ machine: info, results, table }, null, 2) + '\n');
  const md = [
    `Machine: ${machineLine}. Run at ${info.at}.`,
    '',
    '| measure | result | target | met |',
    '| --- | --- | --- | --- |',
    ...table.map((row) => `| ${row.what} | ${row.value} | ${row.target} | ${mark(row.ok)} |`),
    '',
  ].join('\n');
  writeFileSync(path.join(root, 'test-results', 'bench.md'), md);
  console.log('\nwritten: test-results/bench.json, test-results/bench.md');
  return table.every((row) => row.ok !== false);
}
