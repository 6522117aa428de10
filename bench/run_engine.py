#!/usr/bin/python3
"""Runs the engine benchmark against Yjs, diamond-types and JS splicing at once.

Builds bench/engine_benchmark (Release, in its own build directory),
installs the pinned JavaScript packages into bench/js (npm ci), then runs,
each as its own process under /usr/bin/time -v (peak RSS per process):
  - ours: the editing trace through the full sync loop, syncing every 1, 10
    and 100 keystrokes (checksums on, the compact form our peers agree on),
    per keystroke also in MobWrite's form with and without checksums, and N
    idle clients in sync (bytes per idle client);
  - bench/js/yjs_trace.js: Yjs and diamond-types (wasm) each applying the
    same trace and emitting its updates (one per keystroke, and one per 10
    and per 100 keystrokes), each with a second document applying every
    update, and plain string splicing.
Each of our loop rows runs right before the Yjs and diamond-types rows of
the same granularity. Prints the tables with the ratios (peer time over
ours, wall and CPU), the bytes per keystroke of all and whether the issue's
goals are met, both the absolute 1 s and as ratios to the peers of the same
run (the issue's figures for them make 1 s equal to Yjs / ours >= 6.6,
diamond-types / ours >= 1.16, splicing / ours >= 0.79), and writes them
with the raw numbers to <build>/bench-results/engine_table.md and
engine_results.json.

Takes about 6 minutes on 2 idle cores (most of it Yjs); --quick about 3.
Exit status: 0 when every row ran and every result was right (missed goals
are reported, not failures); 1 otherwise.

usage: bench/run_engine.py [--build-dir DIR] [--trace PATH] [--quick]
                           [--no-build]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_dmp import Log, Machine, Run, Timed  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JS_DIR = os.path.join(REPO, 'bench', 'js')
DEFAULT_TRACE = os.path.join(REPO, '..', 'shared', 'data', 'traces',
                             'sequential', 'automerge-paper.json.gz')

SYNC_EVERY = (1, 10, 100)
# Our rows per granularity: checksums on and the compact form, as between
# our peers on a WebSocket (bench/engine_benchmark.cc).
LOOP_ROW = 'loop/sync_every:{every}/checksums:1/compact:1'
# Per keystroke, MobWrite's form: with checksums (our client's default), and
# without (what MobWrite's client sends); and the compact form without
# checksums (ClientOptions::send_checksums off).
EXTRA_ROWS = (
    ('loop/sync_every:1/checksums:1/compact:0',
     'ours, sync every 1, MobWrite form, checksums'),
    ('loop/sync_every:1/checksums:0/compact:0',
     'ours, sync every 1, MobWrite form, no checksums'),
    ('loop/sync_every:1/checksums:0/compact:1',
     'ours, sync every 1, compact form, no checksums'),
)
IDLE_CLIENTS = (1, 10, 100, 1000)
# (variant, batch, title) of bench/js/yjs_trace.js.
PEERS = (
    ('yjs', 1, 'Yjs, one update per keystroke'),
    ('yjs_remote', 1, 'Yjs, and a second Y.Doc applies each update'),
    ('yjs', 10, 'Yjs, one update per 10 keystrokes'),
    ('yjs', 100, 'Yjs, one update per 100 keystrokes'),
    ('dt', 1, 'diamond-types, one update per keystroke'),
    ('dt_remote', 1, 'diamond-types, and a second Doc merges each update'),
    ('dt', 10, 'diamond-types, one update per 10 keystrokes'),
    ('dt', 100, 'diamond-types, one update per 100 keystrokes'),
    ('splice', 1, 'JavaScript string splicing (no sync)'),
)
# Peers of the same granularity run right after each of our loop rows.
LOOP_PEERS = ('yjs', 'dt')
GOAL_MS = 1000
# The issue's own figures for the peers (ms, same trace, its machine): its
# 1 s goal is the same as these ratios of peer time over ours.
ISSUE_PEER_MS = (
    (('yjs', 1), 6600, "Yjs's local apply and updates"),
    (('dt', 1), 1160, "diamond-types' local apply and updates"),
    (('splice', 1), 790, 'plain string splicing'),
)


def Build(build_dir):
    Run(['cmake', '-S', REPO, '-B', build_dir, '-G', 'Ninja',
         '-DCMAKE_BUILD_TYPE=Release', '-DDIFFSYNC_BUILD_TESTS=OFF'],
        stdout=subprocess.DEVNULL)
    Run(['ninja', '-C', build_dir, '-j2', 'engine_benchmark'])


def Median(runs, key):
    """The median aggregate of `key`, or the single run's value."""
    median = [r for r in runs if r.get('aggregate_name') == 'median']
    if median:
        return median[0][key]
    return statistics.median(r[key] for r in runs
                             if r.get('run_type') != 'aggregate')


def RunOurs(binary, trace, row, repetitions):
    out, rss = Timed([binary, f'--trace={trace}',
                      f'--benchmark_filter=^{row}/',
                      f'--benchmark_repetitions={repetitions}',
                      '--benchmark_format=json'])
    runs = [r for r in json.loads(out)['benchmarks']
            if r['run_name'].startswith(row + '/')]
    if not runs:
        raise RuntimeError(f'engine_benchmark ran nothing for {row}')
    if any(r.get('error_occurred') for r in runs):
        raise RuntimeError(f'{row}: ' + runs[0].get('error_message', ''))
    scale = {'ns': 1e-6, 'us': 1e-3, 'ms': 1.0, 's': 1e3}[runs[0]['time_unit']]
    result = {'median_ms': Median(runs, 'real_time') * scale,
              'median_cpu_ms': Median(runs, 'cpu_time') * scale,
              'repetitions': repetitions, 'process_peak_rss_mb': rss}
    counters = [k for k in runs[0] if k not in result and
                isinstance(runs[0][k], (int, float)) and k not in
                ('real_time', 'cpu_time', 'iterations', 'repetitions',
                 'repetition_index', 'threads', 'family_index',
                 'per_family_instance_index')]
    for key in counters:
        result[key] = Median(runs, key)
    return result


def RunPeer(trace, variant, batch, reps, warmup):
    out, rss = Timed(['node', os.path.join(JS_DIR, 'yjs_trace.js'),
                      '--trace', trace, '--variant', variant,
                      '--batch', str(batch), '--reps', str(reps),
                      '--warmup', str(warmup)])
    result = json.loads(out)
    result['process_peak_rss_mb'] = rss
    return result


def Fmt(ms):
    if ms >= 1000:
        return f'{ms / 1000:.2f} s'
    if ms >= 10:
        return f'{ms:.0f} ms'
    return f'{ms:.2f} ms'


def OursLine(title, o):
    return (f"| {title} | {Fmt(o['median_ms'])} | "
            f"{Fmt(o['median_cpu_ms'])} | {o['us_per_cycle']:.2f} | "
            f"{o['up_bytes_per_keystroke']:.2f} / "
            f"{o['down_bytes_per_keystroke']:.2f} | "
            f"{o['peak_rss_mb']:.1f} MB ({o['base_rss_mb']:.1f} MB before) | "
            f"{o['loadavg_1min_before']:.1f} |")


def LoopTable(ours, extra, peers):
    lines = ['| run | wall (median) | CPU (median) | µs per cycle | '
             'bytes per keystroke, up / down | peak RSS | load before |',
             '|---|---|---|---|---|---|---|']
    for every in SYNC_EVERY:
        lines.append(OursLine(f'ours, sync every {every}', ours[every]))
    for row, title in EXTRA_ROWS:
        lines.append(OursLine(title, extra[row]))
    for (variant, batch, title) in PEERS:
        p = peers[(variant, batch)]
        per_cycle = (f"{p['median_ms'] * 1e3 / p['updates']:.2f}"
                     if p['updates'] else '-')
        lines.append(
            f"| {title} | {Fmt(p['median_ms'])} | {Fmt(p['median_cpu_ms'])} | "
            f"{per_cycle} | {p['bytes_per_keystroke']:.2f} / - | "
            f"{p['process_peak_rss_mb']:.0f} MB (process) | "
            f"{p['loadavg_1min_before']:.1f} |")
    return '\n'.join(lines)


def RatioTable(ours, peers):
    """Peer time over ours at the same granularity (higher is better for us)."""
    lines = ['| peer | ours | peer / ours, wall | peer / ours, CPU | '
             'bytes per keystroke, ours (up) / peer |',
             '|---|---|---|---|---|']
    for (variant, batch, title) in PEERS:
        p = peers[(variant, batch)]
        o = ours[batch]
        bytes_ = (f"{o['up_bytes_per_keystroke']:.2f} / "
                  f"{p['bytes_per_keystroke']:.2f}" if p['updates'] else '-')
        lines.append(
            f"| {title} | sync every {batch} | "
            f"{p['median_ms'] / o['median_ms']:.2f}x | "
            f"{p['median_cpu_ms'] / o['median_cpu_ms']:.2f}x | {bytes_} |")
    return '\n'.join(lines)


def IdleTable(idle):
    lines = ['| clients | µs per idle cycle | bytes per idle cycle, up / down | '
             'document (MemoryBytes) | per client: text + shadow | '
             'per client / document | server, per view beyond the document |',
             '|---|---|---|---|---|---|---|']
    for n in IDLE_CLIENTS:
        r = idle[n]
        lines.append(
            f"| {n} | {r['us_per_cycle']:.2f} | {r['up_bytes_per_cycle']:.1f} / "
            f"{r['down_bytes_per_cycle']:.1f} | {r['doc_bytes']:,.0f} B | "
            f"{r['client_bytes_per_client']:,.0f} B | "
            f"{r['client_bytes_per_client'] / r['doc_bytes']:.2f} | "
            f"{r['server_bytes_per_view']:,.0f} B |")
    return '\n'.join(lines)


def Verdict(wall_met, cpu_met, detail):
    if wall_met:
        return f'met ({detail})'
    if cpu_met:
        return (f'**missed** in wall time, met in CPU time ({detail}; '
                'the machine was busy, see the load column)')
    return f'**missed** ({detail})'


def Goals(ours, peers):
    o = ours[1]
    y = peers[('yjs', 1)]
    times = f"{Fmt(o['median_ms'])} wall, {Fmt(o['median_cpu_ms'])} CPU"
    time_result = Verdict(o['median_ms'] < GOAL_MS,
                          o['median_cpu_ms'] < GOAL_MS, times)
    lines = [f"- Per-keystroke sync of the whole trace under 1 s: "
             f"{time_result}."]
    for key, issue_ms, title in ISSUE_PEER_MS:
        p = peers[key]
        goal = issue_ms / GOAL_MS
        wall = p['median_ms'] / o['median_ms']
        cpu = p['median_cpu_ms'] / o['median_cpu_ms']
        result = Verdict(wall >= goal, cpu >= goal,
                         f'{wall:.2f}x wall, {cpu:.2f}x CPU')
        lines.append(f"- The same as a ratio to {title} in this run "
                     f"(the issue's {Fmt(issue_ms)} over 1 s), peer / ours "
                     f">= {goal:.2f}: {result}.")
    bytes_met = o['up_bytes_per_keystroke'] < y['bytes_per_keystroke']
    return lines + [
        f"- Fewer bytes per keystroke than Yjs's updates: "
        f"{'met' if bytes_met else '**missed**'} "
        f"({o['up_bytes_per_keystroke']:.2f} up and "
        f"{o['down_bytes_per_keystroke']:.2f} down against Yjs's "
        f"{y['bytes_per_keystroke']:.2f}).",
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--build-dir', default=os.path.join(REPO, 'build-bench'))
    parser.add_argument('--trace', default=DEFAULT_TRACE)
    parser.add_argument('--quick', action='store_true',
                        help='one repetition each (to check the setup, not '
                        'to quote)')
    parser.add_argument('--no-build', action='store_true')
    args = parser.parse_args()

    for tool in ('/usr/bin/time', 'node', 'npm'):
        if not shutil.which(tool):
            sys.exit(f'run_engine.py: {tool} is required')
    trace = os.path.abspath(args.trace)
    if not os.path.isfile(trace):
        sys.exit(f'run_engine.py: missing trace {trace} (shared data)')
    build_dir = os.path.abspath(args.build_dir)
    out_dir = os.path.join(build_dir, 'bench-results')
    os.makedirs(out_dir, exist_ok=True)
    machine = Machine()
    if not args.no_build:
        Build(build_dir)
    Run(['npm', 'ci', '--no-audit', '--no-fund', '--silent'], cwd=JS_DIR)

    binary = os.path.join(build_dir, 'bin', 'engine_benchmark')
    ours_reps = 1 if args.quick else 5
    peer_reps, peer_warmup = (1, 0) if args.quick else (3, 1)
    ours, extra, idle, peers, loads = {}, {}, {}, {}, []
    failed = []

    def Attempt(name, fn):
        load = os.getloadavg()[0]
        loads.append(load)
        try:
            result = fn()
        except (RuntimeError, ValueError, KeyError) as error:
            Log(f'{name}: {error}')
            failed.append(name)
            return None
        result['loadavg_1min_before'] = load
        return result

    def Ours(every):
        row = LOOP_ROW.format(every=every)
        ours[every] = Attempt(row, lambda: RunOurs(binary, trace, row,
                                                   ours_reps))

    def Peer(variant, batch):
        # The splice is short enough for more runs.
        reps = peer_reps * (3 if variant == 'splice' else 1)
        peers[(variant, batch)] = Attempt(
            f'{variant} batch {batch}',
            lambda: RunPeer(trace, variant, batch, reps, peer_warmup))

    # Each of our loop rows runs right before its Yjs and diamond-types
    # counterparts, so that they see about the same load on a shared machine.
    for every in SYNC_EVERY:
        Ours(every)
        for variant in LOOP_PEERS:
            Peer(variant, every)
    for row, _ in EXTRA_ROWS:
        extra[row] = Attempt(row, lambda: RunOurs(binary, trace, row,
                                                  ours_reps))
    Peer('yjs_remote', 1)
    Peer('dt_remote', 1)
    Peer('splice', 1)
    for n in IDLE_CLIENTS:
        row = f'idle/clients:{n}'
        idle[n] = Attempt(row, lambda: RunOurs(binary, trace, row, ours_reps))

    peer = next(iter(p for p in peers.values() if p), {})
    summary = [
        f"Trace: {os.path.relpath(trace, REPO)} "
        f"({peer.get('keystrokes')} keystrokes). Machine: "
        f"{machine['nproc']} cores, {machine['cpu']}, "
        f"{machine['memory_gb']} GB; node {machine['node']}, "
        f"yjs {peer.get('yjs')}, diamond-types-node "
        f"{peer.get('diamond_types')}; "
        f"{machine['compiler']}. 1-minute load average before the rows: "
        f"{min(loads):.2f} to {max(loads):.2f}. Ours: median of {ours_reps}; "
        f"JavaScript: median of {peer_reps} ({peer_reps * 3} for splicing) "
        f"after {peer_warmup} warm-up.", '']
    if failed:
        summary.append(f"FAILED rows (see the errors above): {', '.join(failed)}")
    else:
        summary += ['### Trace replay', '', LoopTable(ours, extra, peers), '',
                    '### Ratios (peer over ours; higher is better for us)', '',
                    RatioTable(ours, peers), '',
                    '### Idle clients', '', IdleTable(idle), '',
                    '### Goals', ''] + Goals(ours, peers)
    text = '\n'.join(summary)
    print(text)
    with open(os.path.join(out_dir, 'engine_table.md'), 'w') as f:
        f.write(text + '\n')
    with open(os.path.join(out_dir, 'engine_results.json'), 'w') as f:
        json.dump({'machine': machine, 'trace': trace, 'loadavg': loads,
                   'ours': {LOOP_ROW.format(every=k): v
                            for k, v in ours.items()} | extra,
                   'idle': {f'idle/clients:{k}': v for k, v in idle.items()},
                   'peers': {f'{v}/batch:{b}': r
                             for (v, b), r in peers.items()}}, f, indent=1)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
