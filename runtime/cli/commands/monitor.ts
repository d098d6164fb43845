/** `pooldeck monitor run|log|pause|resume|interval`: the health monitor. */
import type { Command, Context } from '../command.ts';
import { wholeNumber } from '../command.ts';
import { toMonitor, toSweep, type Monitor, type Recovery, type Sweep } from '../model.ts';
import { clock, plural, toMs } from '../output.ts';

type Event = ({ kind: 'sweep' } & Sweep) | Recovery | { kind: 'monitor'; at: string; paused: boolean; intervalMs: number | null };

async function fetchMonitor(ctx: Context): Promise<Monitor> {
  return toMonitor((await ctx.api.get('/api/admin/monitor')) as Record<string, unknown>);
}

const seconds = (ms: number | null) => (ms === null ? '?' : `${ms % 1000 === 0 ? ms / 1000 : (ms / 1000).toFixed(1)} s`);

function describeSweep(s: Sweep): string {
  if (s.error) return `failed: ${s.error}`;
  const head = `${plural(s.containers ?? 0, 'container')} in ${s.durationMs ?? '?'} ms, ${plural(s.dockerCalls ?? 0, 'docker call')}`;
  const findings = s.findings.map((f) => `${f.name} (expected ${f.expected ?? '?'}, ${f.containerId === null ? 'missing' : f.running ? 'other container' : 'not running'})`);
  const orphans = s.orphans.map((o) => `orphan ${o}`);
  const found = [...findings, ...orphans];
  return found.length ? `${head}; found ${found.join(', ')}` : `${head}; all healthy`;
}

function describeRecovery(r: Recovery): string {
  const who = r.userId !== null ? ` (user ${r.userId})` : '';
  if (r.kind === 'moved') return `assignment${who} moved from ${r.from ?? '?'} to ${r.to ?? r.name}`;
  if (r.kind === 'stranded') return `${r.name}${who} stranded: ${r.message ?? 'no reason given'}`;
  const attempts = r.attempts !== null ? `, ${plural(r.attempts, 'attempt')}` : '';
  return `${r.name}${who} back in ${r.durationMs ?? '?'} ms${attempts}`;
}

function describeMonitor(m: { paused: boolean; intervalMs: number | null }): string {
  return `${m.paused ? 'paused' : 'running'}, every ${seconds(m.intervalMs)}`;
}

function eventLine(e: Event): string {
  const at = clock(toMs(e.at));
  if (e.kind === 'sweep') return `${at}  sweep     ${describeSweep(e as Sweep)}`;
  if (e.kind === 'monitor' && 'paused' in e) return `${at}  monitor   ${describeMonitor(e as { paused: boolean; intervalMs: number | null })}`;
  return `${at}  ${e.kind.padEnd(8)}  ${describeRecovery(e as Recovery)}`;
}

/** Sweeps and recoveries merged, oldest first, each with a key to tell new from seen. */
function eventsOf(m: Monitor): Array<{ key: string; event: Event }> {
  const sweeps = m.sweeps.length ? m.sweeps : m.lastSweep ? [m.lastSweep] : [];
  const all = [
    ...sweeps.map((s) => ({ key: `sweep:${s.at}:${s.durationMs}`, event: { kind: 'sweep' as const, ...s } })),
    ...m.recoveries.map((r) => ({ key: `event:${r.id ?? `${r.at}:${r.kind}:${r.name}`}`, event: r as Event })),
  ];
  return all.sort((a, b) => (toMs(a.event.at) ?? 0) - (toMs(b.event.at) ?? 0));
}

const run: Command = {
  group: 'monitor',
  name: 'run',
  summary: 'Run a health sweep now and print what it found',
  description: 'JSON: { at, durationMs, containers, dockerCalls, findings: [ { name, expected, containerId, running } ], orphans, error }.',
  examples: ['pooldeck monitor run'],
  async run(ctx) {
    const answer = (await ctx.api.post('/api/admin/monitor/run', {})) as Record<string, unknown>;
    const raw = (answer?.sweep ?? answer?.lastSweep ?? answer) as Record<string, unknown>;
    const sweep = toSweep(raw ?? {});
    if (ctx.json) return ctx.printJson(sweep);
    ctx.print(`Sweep ${sweep.at ? `at ${clock(toMs(sweep.at))}` : 'done'}: ${describeSweep(sweep)}.`);
  },
};

const log: Command = {
  group: 'monitor',
  name: 'log',
  summary: 'Recent sweeps and recoveries; --follow keeps printing new ones',
  description: [
    'With --follow the server is polled every --every seconds (default 2) until Ctrl-C; changes of',
    'pause or interval are printed as well.',
    'JSON: { paused, intervalMs, lastSweep, sweeps: [...], recoveries: [...] } (oldest first);',
    'with --follow one JSON object per line: { kind: "sweep"|"recovery"|"moved"|"stranded"|"monitor", ... }.',
    'The server keeps the last 20 sweeps and 50 recovery events; --limit cannot reach further back.',
  ].join('\n'),
  options: {
    follow: { type: 'boolean', short: 'f', description: 'keep polling and print new entries' },
    limit: { type: 'string', short: 'n', value: 'N', description: 'how many of the latest entries to show first (default 20)' },
    every: { type: 'string', value: 'SECONDS', description: 'poll interval for --follow (default 2)' },
  },
  examples: ['pooldeck monitor log --limit 5', 'pooldeck monitor log --follow --json | jq -c "select(.kind == \\"recovery\\")"'],
  async run(ctx) {
    const limit = ctx.values.limit === undefined ? 20 : wholeNumber(ctx.values.limit as string, '--limit', 1, 1000, this);
    const everyMs = ctx.values.every === undefined ? 2000 : wholeNumber(ctx.values.every as string, '--every', 1, 3600, this) * 1000;
    const first = await fetchMonitor(ctx);
    if (!ctx.values.follow) {
      const latest = <T>(list: T[]) => list.slice(-limit);
      if (ctx.json) return ctx.printJson({ paused: first.paused, intervalMs: first.intervalMs, lastSweep: first.lastSweep, sweeps: latest(first.sweeps), recoveries: latest(first.recoveries) });
      ctx.print(`Monitor ${describeMonitor(first)}.`);
      const events = eventsOf(first).slice(-limit);
      if (!events.length) ctx.print('No sweeps or recoveries yet.');
      for (const { event } of events) ctx.print(eventLine(event));
      return;
    }
    const emit = (event: Event) => (ctx.json ? ctx.printJson(event, true) : ctx.print(eventLine(event)));
    const seen = new Set<string>();
    if (!ctx.json) ctx.print(`Monitor ${describeMonitor(first)}; following (Ctrl-C to stop).`);
    for (const { event } of eventsOf(first).slice(-limit)) emit(event);
    for (const { key } of eventsOf(first)) seen.add(key);
    let state = { paused: first.paused, intervalMs: first.intervalMs };
    let stop = false;
    const interrupted = ctx.io.untilInterrupted().then(() => (stop = true));
    while (!stop) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise((r) => (timer = setTimeout(r, everyMs))), interrupted]);
      clearTimeout(timer);
      if (stop) break;
      const now = await fetchMonitor(ctx);
      for (const { key, event } of eventsOf(now)) {
        if (seen.has(key)) continue;
        seen.add(key);
        emit(event);
      }
      if (now.paused !== state.paused || now.intervalMs !== state.intervalMs) {
        state = { paused: now.paused, intervalMs: now.intervalMs };
        emit({ kind: 'monitor', at: new Date().toISOString(), ...state });
      }
    }
  },
};

function monitorAnswer(ctx: Context, answer: unknown, verb: string) {
  const m = toMonitor((answer ?? {}) as Record<string, unknown>);
  if (ctx.json) return ctx.printJson({ paused: m.paused, intervalMs: m.intervalMs });
  ctx.print(`Monitor ${verb}: ${describeMonitor(m)}.`);
}

const pause: Command = {
  group: 'monitor',
  name: 'pause',
  summary: 'Stop periodic sweeps (Docker events still trigger recovery)',
  description: 'JSON: { paused, intervalMs }.',
  async run(ctx) {
    monitorAnswer(ctx, await ctx.api.post('/api/admin/monitor/pause', {}), 'paused');
  },
};

const resume: Command = {
  group: 'monitor',
  name: 'resume',
  summary: 'Resume periodic sweeps',
  description: 'JSON: { paused, intervalMs }.',
  async run(ctx) {
    monitorAnswer(ctx, await ctx.api.post('/api/admin/monitor/resume', {}), 'resumed');
  },
};

const interval: Command = {
  group: 'monitor',
  name: 'interval',
  args: '<seconds>',
  summary: 'Set the time between periodic sweeps (1 to 86400 seconds)',
  description: 'JSON: { paused, intervalMs }.',
  positionals: [1, 1],
  examples: ['pooldeck monitor interval 30'],
  async run(ctx) {
    const value = wholeNumber(ctx.positionals[0], 'the interval in seconds', 1, 86_400, this);
    monitorAnswer(ctx, await ctx.api.put('/api/admin/monitor/interval', { seconds: value }), 'interval set');
  },
};

export const monitorCommands: Command[] = [run, log, pause, resume, interval];
