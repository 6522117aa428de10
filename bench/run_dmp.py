#!/usr/bin/python3
"""Runs the dmp benchmarks against diff-match-patch JavaScript in one go.

Builds bench/dmp_benchmark (Release, in its own build directory), generates
the inputs with ../shared/data/dmp-speedtest/gen.py, installs
diff-match-patch 1.0.5 into bench/js, then for every row runs our benchmark
and bench/js/dmp_bench.js, each under /usr/bin/time -v, and prints a table:
our median, the JavaScript median, their ratio (of wall and of CPU time),
whether the outputs are byte-identical (ToDelta vs diff_toDelta, PatchToText
vs patch_toText) and the peak RSS of each process. Also times
`git diff --no-index` on the 10 MB pair, the goal for that row.

Takes about 2 minutes on 2 idle cores (most of it the JavaScript 10 MB rows).
Exit status: 0 when every row ran and every output expected to match did;
1 otherwise. Results are also written to <build>/bench-results/.

usage: bench/run_dmp.py [--build-dir DIR] [--rows a,b] [--quick] [--no-build]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JS_DIR = os.path.join(REPO, 'bench', 'js')


class Row:
    """One row of the table; the name is shared with both benchmarks."""

    def __init__(self, name, title, inputs, js_reps, js_warmup, identical,
                 goal, why_different=''):
        self.name = name
        self.title = title
        self.inputs = inputs
        self.js_reps = js_reps
        self.js_warmup = js_warmup
        # Whether our output must equal the JavaScript port's byte for byte.
        self.identical = identical
        self.why_different = why_different
        # (description, predicate on (our_ms, js_ms, git_ms)).
        self.goal = goal


ROWS = [
    Row('speedtest_timeout0', 'speed test, Diff_Timeout 0',
        ('speedtest1.txt', 'speedtest2.txt'), 10, 2, True,
        ('>= 10x JS', lambda ours, js, git: js / ours >= 10)),
    Row('speedtest_defaults', 'speed test, defaults',
        ('speedtest1.txt', 'speedtest2.txt'), 10, 2, True,
        ('>= 10x JS', lambda ours, js, git: js / ours >= 10)),
    Row('line_1m', '1 MB, line mode', ('syn1m_a.txt', 'syn1m_b.txt'), 15, 2,
        True, ('<= 10 ms', lambda ours, js, git: ours <= 10)),
    Row('patch_1m', '1 MB patch make + apply', ('syn1m_a.txt', 'syn1m_b.txt'),
        7, 1, True, ('<= 50 ms', lambda ours, js, git: ours <= 50)),
    Row('line_10m', '10 MB, line mode', ('syn10m_a.txt', 'syn10m_b.txt'), 3, 0,
        False, ('<= git diff', lambda ours, js, git: git and ours <= git),
        'JS hits its 1 s timeout and returns a whole-document replacement'),
    Row('line_10m_timeout0', '10 MB, line mode, Diff_Timeout 0',
        ('syn10m_a.txt', 'syn10m_b.txt'), 3, 0, False,
        ('<= git diff', lambda ours, js, git: git and ours <= git),
        'JS line mode stops numbering lines at 65,535 (40,000 in text1)'),
    Row('onechar_10m', '10 MB, one changed char',
        ('syn10m_a.txt', 'syn10m_onechar_b.txt'), 30, 3, True,
        ('<= 1 ms', lambda ours, js, git: ours <= 1)),
    # The same diff through DiffMain, whose result owns copies of its texts
    # (10 MB here): what the copies cost. No goal of its own.
    Row('onechar_10m_copied', '10 MB, one changed char, result copied',
        ('syn10m_a.txt', 'syn10m_onechar_b.txt'), 30, 3, True,
        ('none (cost of the copies)', lambda ours, js, git: True)),
]


def Log(message):
    print(message, file=sys.stderr, flush=True)


def Run(cmd, **kwargs):
    Log('+ ' + ' '.join(cmd))
    return subprocess.run(cmd, check=True, **kwargs)


def Build(build_dir):
    Run(['cmake', '-S', REPO, '-B', build_dir, '-G', 'Ninja',
         '-DCMAKE_BUILD_TYPE=Release', '-DDIFFSYNC_BUILD_TESTS=OFF'],
        stdout=subprocess.DEVNULL)
    Run(['ninja', '-C', build_dir, '-j2', 'dmp_benchmark'])


def GenerateInputs(shared_dir, data_dir):
    """gen.py reads the speed-test pair from, and writes into, its cwd."""
    speedtest = os.path.join(shared_dir, 'dmp-speedtest')
    gen = os.path.join(speedtest, 'gen.py')
    for path in (gen, os.path.join(speedtest, 'speedtest1.txt')):
        if not os.path.isfile(path):
            sys.exit(f'run_dmp.py: missing {path} (shared data; see '
                     'DIFFSYNC_SHARED_DATA_DIR)')
    os.makedirs(data_dir, exist_ok=True)
    for name in ('speedtest1.txt', 'speedtest2.txt'):
        link = os.path.join(data_dir, name)
        if not os.path.exists(link):
            os.symlink(os.path.join(speedtest, name), link)
    for size, edits, prefix in ((1000000, 100, 'syn1m'),
                                (10000000, 1000, 'syn10m')):
        if not all(os.path.isfile(os.path.join(data_dir, f'{prefix}_{s}.txt'))
                   for s in 'ab'):
            Run(['/usr/bin/python3', gen, str(size), str(edits), prefix],
                cwd=data_dir)
    onechar = os.path.join(data_dir, 'syn10m_onechar_b.txt')
    if not os.path.isfile(onechar):
        # The first letter at or after the middle, changed to another letter
        # (the text is ASCII, so bytes are characters).
        with open(os.path.join(data_dir, 'syn10m_a.txt'), 'rb') as f:
            text = bytearray(f.read())
        i = len(text) // 2
        while not chr(text[i]).isalpha():
            i += 1
        text[i] = ord('X') if text[i] != ord('X') else ord('Y')
        with open(onechar, 'wb') as f:
            f.write(text)


def PeakRssMb(time_output):
    match = re.search(r'Maximum resident set size \(kbytes\): (\d+)',
                      time_output)
    return int(match.group(1)) / 1024 if match else None


def Timed(cmd, **kwargs):
    """Runs cmd under /usr/bin/time -v; returns (stdout, peak RSS in MB)."""
    Log('+ ' + ' '.join(cmd))
    with tempfile.NamedTemporaryFile('r') as report:
        proc = subprocess.run(['/usr/bin/time', '-v', '-o', report.name] + cmd,
                              stdout=subprocess.PIPE, text=True, **kwargs)
        rss = PeakRssMb(report.read())
    if proc.returncode != 0:
        raise RuntimeError(f'{cmd[0]} failed with status {proc.returncode}')
    return proc.stdout, rss


def RunOurs(binary, row, data_dir, out_dir, quick):
    cmd = [binary, f'--dmp_data={data_dir}', f'--dmp_out_dir={out_dir}',
           f'--benchmark_filter=^{row.name}/', '--benchmark_format=json']
    if quick:
        cmd += ['--benchmark_repetitions=3', '--benchmark_min_time=0.1']
    out, rss = Timed(cmd)
    runs = json.loads(out)['benchmarks']
    if not runs:
        raise RuntimeError(f'dmp_benchmark ran nothing for {row.name}')
    median = next((r for r in runs if r.get('aggregate_name') == 'median'),
                  runs[0])
    scale = {'ns': 1e-6, 'us': 1e-3, 'ms': 1.0, 's': 1e3}[median['time_unit']]
    return {'median_ms': median['real_time'] * scale,
            'median_cpu_ms': median['cpu_time'] * scale,
            'repetitions': median.get('repetitions', 1),
            'levenshtein': median.get('levenshtein'),
            'peak_rss_mb': rss}


def RunJs(row, data_dir, out_dir, quick):
    reps, warmup = (min(row.js_reps, 3), min(row.js_warmup, 1)) if quick else (
        row.js_reps, row.js_warmup)
    out, rss = Timed(['node', os.path.join(JS_DIR, 'dmp_bench.js'),
                      '--data', data_dir, '--row', row.name,
                      '--reps', str(reps), '--warmup', str(warmup),
                      '--out-dir', out_dir])
    result = json.loads(out)['rows'][0]
    result['peak_rss_mb'] = rss
    return result


def TimeGitDiff(a, b, runs=5):
    """Median wall time of a full `git diff --no-index` (output discarded)."""
    times = []
    rss = None
    for _ in range(runs):
        with tempfile.NamedTemporaryFile('r') as report:
            start = time.perf_counter()
            proc = subprocess.run(
                ['/usr/bin/time', '-v', '-o', report.name, 'git', 'diff',
                 '--no-index', '--no-color', a, b], stdout=subprocess.DEVNULL)
            times.append((time.perf_counter() - start) * 1e3)
            rss = PeakRssMb(report.read())
        # git diff exits with 1 when the files differ.
        if proc.returncode != 1:
            raise RuntimeError(f'git diff exited with {proc.returncode}')
    return statistics.median(times), rss


def SameBytes(path_a, path_b):
    with open(path_a, 'rb') as fa, open(path_b, 'rb') as fb:
        return fa.read() == fb.read()


def Machine():
    model = 'unknown'
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    with open('/proc/meminfo') as f:
        mem_kb = int(f.readline().split()[1])
    node = subprocess.run(['node', '--version'], capture_output=True,
                          text=True).stdout.strip()
    cxx = subprocess.run(['c++', '--version'], capture_output=True,
                         text=True).stdout.splitlines()[0]
    return {'nproc': os.cpu_count(), 'cpu': model,
            'memory_gb': round(mem_kb / 1024 / 1024, 1),
            'loadavg_at_start': os.getloadavg(), 'node': node, 'compiler': cxx}


def Fmt(ms):
    if ms is None:
        return '-'
    if ms >= 1000:
        return f'{ms / 1000:.2f} s'
    if ms >= 10:
        return f'{ms:.1f} ms'
    return f'{ms:.3f} ms'


def Table(results, git_ms):
    lines = [
        '| row | input | ours (median) | DMP JS (median) | JS / ours | '
        'JS / ours, CPU time | goal | output vs JS | Levenshtein ours / JS | '
        'peak RSS ours / JS |',
        '|---|---|---|---|---|---|---|---|---|---|']
    for row, ours, js, same in results:
        ratio = js['median_ms'] / ours['median_ms']
        cpu_ratio = js['median_cpu_ms'] / ours['median_cpu_ms']
        goal_text, goal_met = row.goal
        met = goal_met(ours['median_ms'], js['median_ms'], git_ms)
        if same:
            match = 'identical'
        elif row.identical:
            match = '**DIFFERENT**'
        else:
            match = f'differs ({row.why_different})'
        lev = (f"{ours['levenshtein']:.0f} / {js['levenshtein']}"
               if 'levenshtein' in js else '-')
        rss = f"{ours['peak_rss_mb']:.0f} / {js['peak_rss_mb']:.0f} MB"
        lines.append(
            f"| {row.name} | {row.title} | {Fmt(ours['median_ms'])} | "
            f"{Fmt(js['median_ms'])} | {ratio:.1f}x | {cpu_ratio:.1f}x | "
            f"{goal_text}: "
            f"{'met' if met else '**missed**'} | {match} | {lev} | {rss} |")
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--build-dir', default=os.path.join(REPO, 'build-bench'))
    parser.add_argument('--shared-data',
                        default=os.path.join(REPO, '..', 'shared', 'data'))
    parser.add_argument('--rows', help='comma-separated subset of: ' +
                        ', '.join(r.name for r in ROWS))
    parser.add_argument('--quick', action='store_true',
                        help='fewer repetitions (to check the setup, not to '
                        'quote)')
    parser.add_argument('--no-build', action='store_true')
    args = parser.parse_args()

    rows = ROWS
    if args.rows:
        wanted = args.rows.split(',')
        unknown = set(wanted) - {r.name for r in ROWS}
        if unknown:
            sys.exit(f'run_dmp.py: unknown rows {sorted(unknown)}')
        rows = [r for r in ROWS if r.name in wanted]
    for tool in ('/usr/bin/time', 'node', 'npm', 'git'):
        if not shutil.which(tool):
            sys.exit(f'run_dmp.py: {tool} is required')

    build_dir = os.path.abspath(args.build_dir)
    data_dir = os.path.join(build_dir, 'bench-data')
    out_dir = os.path.join(build_dir, 'bench-results')
    os.makedirs(out_dir, exist_ok=True)
    machine = Machine()
    if not args.no_build:
        Build(build_dir)
    GenerateInputs(os.path.abspath(args.shared_data), data_dir)
    Run(['npm', 'ci', '--no-audit', '--no-fund', '--silent'], cwd=JS_DIR)

    binary = os.path.join(build_dir, 'bin', 'dmp_benchmark')
    results = []
    failed = []
    ok = True
    for row in rows:
        load = os.getloadavg()[0]
        try:
            ours = RunOurs(binary, row, data_dir, out_dir, args.quick)
            js = RunJs(row, data_dir, out_dir, args.quick)
        except RuntimeError as error:
            Log(f'{row.name}: {error}')
            failed.append(row.name)
            continue
        if not js['ok']:
            Log(f'{row.name}: the JavaScript result does not rebuild the texts')
            ok = False
        same = SameBytes(os.path.join(out_dir, f'{row.name}.ours.out'),
                         js['output_file'])
        if row.identical and not same:
            ok = False
        ours['loadavg_1min_before'] = load
        results.append((row, ours, js, same))

    git_ms = git_rss = None
    if any(r.name.startswith('line_10m') for r in rows):
        git_ms, git_rss = TimeGitDiff(os.path.join(data_dir, 'syn10m_a.txt'),
                                      os.path.join(data_dir, 'syn10m_b.txt'))

    table = Table(results, git_ms)
    summary = [
        f"Machine: {machine['nproc']} cores, {machine['cpu']}, "
        f"{machine['memory_gb']} GB; load average at start "
        f"{' '.join(f'{x:.2f}' for x in machine['loadavg_at_start'])}; "
        f"node {machine['node']}; {machine['compiler']}.",
        '', table, '']
    if results:
        loads = [o['loadavg_1min_before'] for _, o, _, _ in results]
        summary.append(f'1-minute load average before each row: '
                       f'{min(loads):.2f} to {max(loads):.2f}.')
    if failed:
        summary.append(f"FAILED rows (see the errors above): {', '.join(failed)}")
        ok = False
    if git_ms is not None:
        summary.append(f'git diff --no-index on the 10 MB pair: {Fmt(git_ms)} '
                       f'(median of 5), peak RSS {git_rss:.0f} MB.')
    text = '\n'.join(summary)
    print(text)
    with open(os.path.join(out_dir, 'table.md'), 'w') as f:
        f.write(text + '\n')
    with open(os.path.join(out_dir, 'results.json'), 'w') as f:
        json.dump({'machine': machine, 'git_diff_10m_ms': git_ms,
                   'git_diff_10m_rss_mb': git_rss,
                   'rows': [{'name': r.name, 'ours': o, 'js': j,
                             'identical_output': s}
                            for r, o, j, s in results]}, f, indent=1)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
