// Benchmarks of the dmp library on the inputs of issue 2's speed table: the
// diff-match-patch speed-test pair and the synthetic 1 MB / 10 MB pairs that
// ../shared/data/dmp-speedtest/gen.py writes. bench/run_dmp.py builds this,
// generates the inputs, runs the same rows with diff-match-patch JavaScript
// (bench/js/dmp_bench.js) and prints the ratios; see docs/benchmarks.md.
//
// Every row checks its own result after timing (the texts rebuild from the
// diff, the patched text equals the target, known Levenshtein distances) and
// exits with an error if it is wrong: a fast wrong answer must not look like
// a win.
//
// usage: dmp_benchmark [--dmp_data=DIR] [--dmp_out_dir=DIR] [benchmark flags]
//   --dmp_data     the generated inputs (default: $DIFFSYNC_BENCH_DATA).
//   --dmp_out_dir  where to write <row>.ours.out: ToDelta of the diff
//                  (PatchToText for the patch row), for byte comparison with
//                  the JavaScript port's output.
// Defaults to 5 repetitions reporting aggregates (read the median) in wall
// time; later --benchmark_* flags override.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "diffsync/dmp/diff.h"
#include "diffsync/dmp/patch.h"
#include "diffsync/dmp/settings.h"

namespace {

namespace dmp = diffsync::dmp;
using dmp::Diffs;
using dmp::Settings;

// kDiff times DiffMainViews, the diff without copies (as DMP JavaScript's
// diff_main returns substrings that share the inputs); kDiffCopied times
// DiffMain, which copies every text into the result.
enum class Kind { kDiff, kDiffCopied, kPatchMakeApply };

// One row of the speed table. The names and settings match kRows in
// bench/js/dmp_bench.js.
struct Row {
  const char* name;
  const char* file_a;
  const char* file_b;
  Kind kind;
  double diff_timeout;
  bool check_lines;
  // Levenshtein distance the diff must have, or -1 when it is only checked
  // by rebuilding the texts (and against JavaScript by bench/run_dmp.py).
  int64_t levenshtein;
};

// The speed-test distances are those of diff-match-patch JavaScript; the
// defaults one (6757) is the identity check quoted with the data set.
constexpr Row kRows[] = {
    {"speedtest_timeout0", "speedtest1.txt", "speedtest2.txt", Kind::kDiff, 0.0,
     false, 6767},
    {"speedtest_defaults", "speedtest1.txt", "speedtest2.txt", Kind::kDiff, 1.0,
     true, 6757},
    {"line_1m", "syn1m_a.txt", "syn1m_b.txt", Kind::kDiff, 1.0, true, -1},
    {"patch_1m", "syn1m_a.txt", "syn1m_b.txt", Kind::kPatchMakeApply, 1.0, true,
     -1},
    {"line_10m", "syn10m_a.txt", "syn10m_b.txt", Kind::kDiff, 1.0, true, -1},
    {"line_10m_timeout0", "syn10m_a.txt", "syn10m_b.txt", Kind::kDiff, 0.0,
     true, -1},
    {"onechar_10m", "syn10m_a.txt", "syn10m_onechar_b.txt", Kind::kDiff, 1.0,
     true, 1},
    {"onechar_10m_copied", "syn10m_a.txt", "syn10m_onechar_b.txt",
     Kind::kDiffCopied, 1.0, true, 1},
};

struct Flags {
  std::string data_dir;
  std::string out_dir;
};

Flags& GetFlags() {
  static auto* flags = new Flags;
  return *flags;
}

[[noreturn]] void Fail(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "dmp_benchmark: %s\n", message.c_str());
  std::exit(2);
}

[[noreturn]] void WrongResult(const Row& row, const std::string& what) {
  Fail(std::string("row ") + row.name + ": WRONG RESULT: " + what);
}

// Inputs are read once per process and shared by the rows using them.
const std::string& Input(const Row& row, const char* name) {
  static auto* cache = new std::map<std::string, std::string>;
  auto [it, inserted] = cache->try_emplace(name);
  const std::string& data_dir = GetFlags().data_dir;
  if (inserted) {
    if (data_dir.empty()) {
      Fail(
          "no input directory: pass --dmp_data=DIR or set DIFFSYNC_BENCH_DATA "
          "(bench/run_dmp.py generates the inputs and runs this)");
    }
    std::string path = data_dir + "/" + name;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      Fail(std::string("row ") + row.name + ": missing input " + path +
           " (bench/run_dmp.py generates it)");
    }
    std::ostringstream text;
    text << in.rdbuf();
    it->second = std::move(text).str();
  }
  return it->second;
}

void WriteOutput(const Row& row, const std::string& text) {
  const std::string& out_dir = GetFlags().out_dir;
  if (out_dir.empty()) return;
  std::string path = out_dir + "/" + row.name + ".ours.out";
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out.flush()) Fail("cannot write " + path);
}

void CheckDiff(const Row& row, const Diffs& diffs, const std::string& a,
               const std::string& b) {
  if (dmp::Text1(diffs) != a) WrongResult(row, "Text1(diffs) != text a");
  if (dmp::Text2(diffs) != b) WrongResult(row, "Text2(diffs) != text b");
  int64_t distance = dmp::Levenshtein(diffs);
  if (row.levenshtein >= 0 && distance != row.levenshtein) {
    WrongResult(row, "Levenshtein " + std::to_string(distance) + ", expected " +
                         std::to_string(row.levenshtein));
  }
}

void RunDiff(benchmark::State& state, const Row& row) {
  const std::string& a = Input(row, row.file_a);
  const std::string& b = Input(row, row.file_b);
  Settings settings;
  settings.diff_timeout = row.diff_timeout;
  Diffs diffs;
  dmp::DiffViews views;
  for (auto _ : state) {
    if (row.kind == Kind::kDiffCopied) {
      auto result = dmp::DiffMain(a, b, settings, row.check_lines);
      if (!result.ok()) WrongResult(row, result.status().ToString());
      diffs = std::move(*result);
      benchmark::DoNotOptimize(diffs.data());
    } else {
      auto result = dmp::DiffMainViews(a, b, settings, row.check_lines);
      if (!result.ok()) WrongResult(row, result.status().ToString());
      views = std::move(*result);
      benchmark::DoNotOptimize(views.data());
    }
  }
  if (row.kind == Kind::kDiff) diffs = dmp::ToDiffs(views);
  CheckDiff(row, diffs, a, b);
  state.counters["diffs"] = static_cast<double>(diffs.size());
  state.counters["levenshtein"] = static_cast<double>(dmp::Levenshtein(diffs));
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(a.size() + b.size()));
  WriteOutput(row, dmp::ToDelta(diffs));
}

void RunPatch(benchmark::State& state, const Row& row) {
  const std::string& a = Input(row, row.file_a);
  const std::string& b = Input(row, row.file_b);
  Settings settings;
  settings.diff_timeout = row.diff_timeout;
  dmp::Patches patches;
  dmp::ApplyResult applied;
  for (auto _ : state) {
    auto made = dmp::PatchMake(a, b, settings);
    if (!made.ok()) WrongResult(row, made.status().ToString());
    auto result = dmp::PatchApply(*made, a, settings);
    if (!result.ok()) WrongResult(row, result.status().ToString());
    patches = std::move(*made);
    applied = std::move(*result);
    benchmark::DoNotOptimize(applied.text.data());
  }
  if (applied.text != b) {
    WrongResult(row, "PatchApply(PatchMake(a, b), a) != b");
  }
  for (size_t i = 0; i < applied.applied.size(); ++i) {
    if (!applied.applied[i]) {
      WrongResult(row, "hunk " + std::to_string(i) + " did not apply");
    }
  }
  state.counters["hunks"] = static_cast<double>(patches.size());
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(a.size() + b.size()));
  WriteOutput(row, dmp::PatchToText(patches));
}

// Takes --dmp_* flags out of argv (Google Benchmark rejects unknown flags)
// and puts the default repetition flags first so the caller's win.
std::vector<char*> ParseFlags(int argc, char** argv) {
  static char repetitions[] = "--benchmark_repetitions=5";
  static char aggregates_only[] = "--benchmark_report_aggregates_only=true";
  std::vector<char*> rest = {argv[0], repetitions, aggregates_only};
  Flags& flags = GetFlags();
  if (const char* env = std::getenv("DIFFSYNC_BENCH_DATA")) {
    flags.data_dir = env;
  }
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--dmp_data=")) {
      flags.data_dir = arg.substr(arg.find('=') + 1);
    } else if (arg.starts_with("--dmp_out_dir=")) {
      flags.out_dir = arg.substr(arg.find('=') + 1);
    } else if (arg.starts_with("--dmp_")) {
      Fail("unknown flag " + std::string(arg));
    } else {
      rest.push_back(argv[i]);
    }
  }
  return rest;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args = ParseFlags(argc, argv);
  int args_count = static_cast<int>(args.size());
  benchmark::Initialize(&args_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) return 2;
  for (const Row& row : kRows) {
    auto* bench = benchmark::RegisterBenchmark(
        row.name, row.kind == Kind::kPatchMakeApply ? RunPatch : RunDiff, row);
    bench->UseRealTime()->Unit(benchmark::kMillisecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
