#!/usr/bin/env node
// Runs the rows of bench/dmp_benchmark.cc with diff-match-patch 1.0.5 (the
// JavaScript port) so that bench/run_dmp.py can compare both in one run.
//
// usage: node dmp_bench.js --data DIR --row NAME [--row NAME...]
//                          [--reps N] [--warmup N] [--out-dir DIR]
//
// Prints one JSON object: per row the wall and CPU time (all of node's
// threads, so garbage collection counts) of every timed repetition, their
// medians, the Levenshtein distance of the diff and whether the result
// rebuilds the inputs. With --out-dir it also writes <row>.js.out: the
// diff_toDelta of the diff (patch_toText for the patch row), to be compared
// byte for byte with our ToDelta / PatchToText.
'use strict';

const fs = require('fs');
const path = require('path');
const DiffMatchPatch = require('diff-match-patch');

// Same names, inputs and settings as the C++ rows. timeout: Diff_Timeout in
// seconds; checklines: diff_main's third argument.
const kRows = {
  speedtest_timeout0: {
    a: 'speedtest1.txt', b: 'speedtest2.txt', timeout: 0, checklines: false,
  },
  speedtest_defaults: {
    a: 'speedtest1.txt', b: 'speedtest2.txt', timeout: 1, checklines: true,
  },
  line_1m: {a: 'syn1m_a.txt', b: 'syn1m_b.txt', timeout: 1, checklines: true},
  patch_1m: {a: 'syn1m_a.txt', b: 'syn1m_b.txt', timeout: 1, patch: true},
  line_10m: {a: 'syn10m_a.txt', b: 'syn10m_b.txt', timeout: 1, checklines: true},
  line_10m_timeout0: {
    a: 'syn10m_a.txt', b: 'syn10m_b.txt', timeout: 0, checklines: true,
  },
  onechar_10m: {
    a: 'syn10m_a.txt', b: 'syn10m_onechar_b.txt', timeout: 1, checklines: true,
  },
  // Ours copies the result's texts in this row (DiffMain); JavaScript's
  // diff_main is the same call as above.
  onechar_10m_copied: {
    a: 'syn10m_a.txt', b: 'syn10m_onechar_b.txt', timeout: 1, checklines: true,
  },
};

function Fail(message) {
  process.stderr.write(`dmp_bench.js: ${message}\n`);
  process.exit(2);
}

function ParseArgs(argv) {
  const args = {rows: [], reps: 5, warmup: 1, data: null, outDir: null};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) Fail(`${flag} needs a value`);
    i++;
    if (flag === '--data') {
      args.data = value;
    } else if (flag === '--row') {
      args.rows.push(...value.split(','));
    } else if (flag === '--reps') {
      args.reps = parseInt(value, 10);
    } else if (flag === '--warmup') {
      args.warmup = parseInt(value, 10);
    } else if (flag === '--out-dir') {
      args.outDir = value;
    } else {
      Fail(`unknown flag ${flag}`);
    }
  }
  if (!args.data) Fail('--data DIR is required (the generated inputs)');
  if (args.rows.length === 0) Fail(`no --row given; rows: ${Object.keys(kRows)}`);
  if (!(args.reps >= 1)) Fail('--reps must be at least 1');
  if (!(args.warmup >= 0)) Fail('--warmup must be at least 0');
  return args;
}

function ReadInput(dir, name) {
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) {
    Fail(`missing input ${file} (bench/run_dmp.py generates it)`);
  }
  return fs.readFileSync(file, 'utf8');
}

function Median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function RunRow(name, spec, args) {
  const a = ReadInput(args.data, spec.a);
  const b = ReadInput(args.data, spec.b);
  const dmp = new DiffMatchPatch();
  dmp.Diff_Timeout = spec.timeout;

  let once;
  if (spec.patch) {
    once = () => {
      const patches = dmp.patch_make(a, b);
      const applied = dmp.patch_apply(patches, a);
      return {patches, applied};
    };
  } else {
    once = () => dmp.diff_main(a, b, spec.checklines);
  }

  for (let i = 0; i < args.warmup; i++) once();
  const times = [];
  const cpuTimes = [];
  let result;
  for (let i = 0; i < args.reps; i++) {
    const cpuStart = process.cpuUsage();
    const start = process.hrtime.bigint();
    result = once();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    const cpu = process.cpuUsage(cpuStart);
    cpuTimes.push((cpu.user + cpu.system) / 1e3);
  }

  const row = {name, reps: args.reps, warmup: args.warmup, times_ms: times,
               median_ms: Median(times), cpu_times_ms: cpuTimes,
               median_cpu_ms: Median(cpuTimes)};
  let output;
  if (spec.patch) {
    const [text, applied] = result.applied;
    row.hunks = result.patches.length;
    row.all_applied = applied.every((x) => x);
    row.ok = text === b && row.all_applied;
    output = dmp.patch_toText(result.patches);
  } else {
    row.diffs = result.length;
    row.levenshtein = dmp.diff_levenshtein(result);
    row.ok = dmp.diff_text1(result) === a && dmp.diff_text2(result) === b;
    output = dmp.diff_toDelta(result);
  }
  if (args.outDir) {
    row.output_file = path.join(args.outDir, `${name}.js.out`);
    fs.writeFileSync(row.output_file, output);
  }
  return row;
}

function Main() {
  const args = ParseArgs(process.argv.slice(2));
  for (const name of args.rows) {
    if (!kRows[name]) Fail(`unknown row ${name}; rows: ${Object.keys(kRows)}`);
  }
  const version = require('diff-match-patch/package.json').version;
  const report = {engine: `diff-match-patch ${version}`, node: process.version,
                  rows: args.rows.map((name) => RunRow(name, kRows[name], args))};
  process.stdout.write(JSON.stringify(report, null, 1) + '\n');
}

Main();
