/** The pure parts of going into a container: docker-stats arithmetic, log framing, line splitting. */
import test from 'ava';
import { FrameDemuxer, LineSplitter, usageOf, type RawStats } from '../../runtime/docker/console.ts';

function reading(overrides: Partial<RawStats> & { at: string; total: number; system: number; preTotal: number; preSystem: number }): RawStats {
  return {
    read: overrides.at,
    cpu_stats: { cpu_usage: { total_usage: overrides.total }, system_cpu_usage: overrides.system, online_cpus: 2 },
    precpu_stats: { cpu_usage: { total_usage: overrides.preTotal }, system_cpu_usage: overrides.preSystem },
    memory_stats: overrides.memory_stats ?? { usage: 10_000_000, limit: 100_000_000, stats: { total_inactive_file: 2_000_000 } },
    networks: overrides.networks ?? { eth0: { rx_bytes: 1000, tx_bytes: 500 } },
    pids_stats: { current: 3 },
  };
}

test('When Docker reports CPU, memory and network, then the numbers are those docker stats shows', (t) => {
  const usage = usageOf(reading({ at: '2026-01-01T00:00:01Z', total: 250_000_000, system: 2_000_000_000, preTotal: 0, preSystem: 0 }), null);
  // (0.25 s of CPU / 2 s of system time) × 2 cpus × 100
  t.is(usage.cpuPercent, 25);
  t.is(usage.memoryBytes, 8_000_000, 'the inactive page cache is not counted');
  t.is(usage.memoryLimitBytes, 100_000_000);
  t.is(usage.memoryPercent, 8);
  t.deepEqual([usage.rxBytes, usage.txBytes, usage.rxRate, usage.txRate, usage.pids], [1000, 500, 0, 0, 3]);
  t.is(usage.at, Date.parse('2026-01-01T00:00:01Z'));
});

test('When a second reading comes two seconds later, then network rates are bytes per second over every interface', (t) => {
  const first = usageOf(reading({ at: '2026-01-01T00:00:01Z', total: 1, system: 1, preTotal: 0, preSystem: 0 }), null);
  const second = usageOf(
    reading({
      at: '2026-01-01T00:00:03Z',
      total: 1,
      system: 1,
      preTotal: 1,
      preSystem: 1,
      networks: { eth0: { rx_bytes: 3000, tx_bytes: 900 }, eth1: { rx_bytes: 1000, tx_bytes: 100 } },
    }),
    first,
  );
  t.is(second.rxBytes, 4000);
  t.is(second.rxRate, 1500);
  t.is(second.txRate, 250);
  t.is(second.cpuPercent, 0, 'no CPU time passed');
});

test('When cgroup v2 reports inactive_file, or the counters reset, then nothing goes negative', (t) => {
  const v2 = usageOf(reading({ at: '2026-01-01T00:00:01Z', total: 5, system: 10, preTotal: 5, preSystem: 0, memory_stats: { usage: 5000, limit: 0, stats: { inactive_file: 9000 } } }), null);
  t.is(v2.memoryBytes, 5000, 'more inactive than used: keep the usage');
  t.is(v2.memoryPercent, 0, 'no limit, no percentage');
  const previous = { ...v2, rxBytes: 10_000, txBytes: 10_000 };
  const reset = usageOf(reading({ at: '2026-01-01T00:00:02Z', total: 5, system: 10, preTotal: 5, preSystem: 0 }), previous);
  t.deepEqual([reset.rxRate, reset.txRate], [0, 0]);
});

test('When log frames arrive cut at any byte, then stdout and stderr lines come out whole and in order', (t) => {
  const frame = (source: 1 | 2, text: string) => {
    const payload = Buffer.from(text);
    const header = Buffer.alloc(8);
    header[0] = source;
    header.writeUInt32BE(payload.length, 4);
    return Buffer.concat([header, payload]);
  };
  const all = Buffer.concat([frame(1, 'GET / 200\nGET /a'), frame(2, 'warn: é\n'), frame(1, ' 404\n')]);
  for (const cut of [1, 3, 8, 9, 17, 30]) {
    const demuxer = new FrameDemuxer();
    const splitters = { stdout: new LineSplitter(), stderr: new LineSplitter() };
    const lines: string[] = [];
    for (let i = 0; i < all.length; i += cut) {
      demuxer.push(all.subarray(i, i + cut), (source, payload) => {
        for (const line of splitters[source].push(payload)) lines.push(`${source}:${line}`);
      });
    }
    t.deepEqual(lines, ['stdout:GET / 200', 'stderr:warn: é', 'stdout:GET /a 404'], `cut every ${cut} bytes`);
  }
});

test('When a stream ends without a newline, then flush gives the last line', (t) => {
  const splitter = new LineSplitter();
  t.deepEqual(splitter.push(Buffer.from('one\r\ntwo')), ['one']);
  t.deepEqual(splitter.flush(), ['two']);
  t.deepEqual(splitter.flush(), []);
});

test('When a container writes a line that never ends, then it comes out in pieces of the bound and nothing more is kept', (t) => {
  const splitter = new LineSplitter(1024);
  const pieces = splitter.push(Buffer.from('y'.repeat(5000)));
  t.deepEqual(pieces.map((p) => p.length), [1024, 1024, 1024, 1024]);
  t.deepEqual(splitter.push(Buffer.from('z\n')), ['y'.repeat(5000 - 4096) + 'z']);
  t.deepEqual(splitter.flush(), []);
});
