// Conformance of diffsync::dmp with diff-match-patch's JavaScript port (npm
// diff-match-patch 1.0.5): every case recorded in the shared vectors file runs
// through the public API, one test per case, named c<id>_<function>.
//
// The file's "conventions" field defines the encoding; the harness checks the
// parts it relies on so that a re-recorded file with other conventions fails
// loudly instead of being misread. Cases whose only point is JavaScript's
// null-input check cannot be expressed with C++ value types; they are
// reported as skipped, and the set of skips must be exactly the cases the file
// annotates as such.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "diffsync/dmp/diff.h"
#include "diffsync/dmp/match.h"
#include "diffsync/dmp/patch.h"
#include "diffsync/dmp/settings.h"
#include "diffsync/status.h"

namespace diffsync::dmp {
namespace {

namespace json = boost::json;

constexpr size_t kRecordedCaseCount = 196;
constexpr std::string_view kValueTypeNote =
    "not meaningful for value-typed C++";
constexpr std::string_view kSuiteName = "Vectors/DmpConformance";

struct Case {
  int64_t id = 0;
  std::string fn;
  json::object data;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << "case " << c.id << " " << c.fn;
}

struct VectorFile {
  std::string path;
  std::string error;  // Empty when the file was read and parsed.
  json::object root;
  std::vector<Case> cases;
};

VectorFile LoadVectors() {
  VectorFile file;
  file.path =
      std::string(DIFFSYNC_SHARED_DATA_DIR) + "/dmp-conformance/vectors.json";
  std::ifstream in(file.path, std::ios::binary);
  if (!in) {
    file.error = "cannot open " + file.path +
                 " (set the CMake cache variable DIFFSYNC_SHARED_DATA_DIR to "
                 "the shared data folder)";
    return file;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  boost::system::error_code ec;
  json::value root = json::parse(buffer.str(), ec);
  if (ec) {
    file.error = file.path + " is not valid JSON: " + ec.message();
    return file;
  }
  if (!root.is_object() || !root.as_object().contains("cases") ||
      !root.as_object().at("cases").is_array()) {
    file.error = file.path + " has no \"cases\" array";
    return file;
  }
  file.root = root.as_object();
  for (const json::value& v : file.root.at("cases").as_array()) {
    const json::object& o = v.as_object();
    file.cases.push_back(Case{o.at("id").to_number<int64_t>(),
                              std::string(o.at("fn").as_string()), o});
  }
  return file;
}

const VectorFile& Vectors() {
  static const VectorFile* const file = new VectorFile(LoadVectors());
  return *file;
}

// ---- JSON <-> library values, in the file's encoding. ----

std::string Str(const json::value& v) {
  const json::string& s = v.as_string();
  return std::string(s.data(), s.size());
}

json::value Json(std::string_view s) { return json::string(s); }

Operation ToOperation(int64_t op) {
  switch (op) {
    case -1:
      return Operation::kDelete;
    case 0:
      return Operation::kEqual;
    case 1:
      return Operation::kInsert;
  }
  throw std::invalid_argument("unknown diff operation " + std::to_string(op));
}

Diffs ToDiffs(const json::value& v) {
  Diffs diffs;
  for (const json::value& d : v.as_array()) {
    const json::array& pair = d.as_array();
    diffs.push_back(
        Diff{ToOperation(pair.at(0).to_number<int64_t>()), Str(pair.at(1))});
  }
  return diffs;
}

json::value DiffsJson(const Diffs& diffs) {
  json::array out;
  for (const Diff& d : diffs) {
    out.push_back(json::array{static_cast<int64_t>(d.operation), Json(d.text)});
  }
  return out;
}

Patches ToPatches(const json::value& v) {
  Patches patches;
  for (const json::value& p : v.as_array()) {
    const json::object& o = p.as_object().at("$patch").as_object();
    Patch patch;
    patch.start1 = o.at("start1").to_number<int64_t>();
    patch.start2 = o.at("start2").to_number<int64_t>();
    patch.length1 = o.at("length1").to_number<int64_t>();
    patch.length2 = o.at("length2").to_number<int64_t>();
    patch.diffs = ToDiffs(o.at("diffs"));
    patches.push_back(std::move(patch));
  }
  return patches;
}

json::value PatchesJson(const Patches& patches) {
  json::array out;
  for (const Patch& p : patches) {
    out.push_back(json::object{{"$patch", json::object{
                                              {"start1", p.start1},
                                              {"start2", p.start2},
                                              {"length1", p.length1},
                                              {"length2", p.length2},
                                              {"diffs", DiffsJson(p.diffs)},
                                          }}});
  }
  return out;
}

Settings ToSettings(const json::object& o) {
  Settings s;
  for (const auto& [key, value] : o) {
    if (key == "Diff_Timeout") {
      s.diff_timeout = value.to_number<double>();
    } else if (key == "Diff_EditCost") {
      s.diff_edit_cost = value.to_number<int>();
    } else if (key == "Match_Threshold") {
      s.match_threshold = value.to_number<double>();
    } else if (key == "Match_Distance") {
      s.match_distance = value.to_number<int>();
    } else if (key == "Patch_DeleteThreshold") {
      s.patch_delete_threshold = value.to_number<double>();
    } else if (key == "Patch_Margin") {
      s.patch_margin = value.to_number<int>();
    } else if (key == "Match_MaxBits") {
      s.match_max_bits = value.to_number<int>();
    } else {
      throw std::invalid_argument("unknown setting " + std::string(key));
    }
  }
  return s;
}

bool IsMarker(const json::value& v, std::string_view marker) {
  return v.is_object() && v.as_object().contains(marker);
}
bool IsThrows(const json::value& v) { return IsMarker(v, "$throws"); }
bool IsUndefined(const json::value& v) { return IsMarker(v, "$undefined"); }

bool HasNullArg(const Case& c) {
  const json::array& args = c.data.at("args").as_array();
  return std::any_of(args.begin(), args.end(),
                     [](const json::value& a) { return a.is_null(); });
}

std::string Note(const Case& c) {
  const json::value* note = c.data.if_contains("note");
  return note ? Str(*note) : std::string();
}

// ---- Running one case. ----

// What our API answered: `value` (compared with "expected"), `returned`
// (compared with "expected_return", for in-place functions that also return
// something), or a non-OK `status`.
struct Outcome {
  Status status;
  json::value value;
  std::optional<json::value> returned;
};

template <typename T, typename ToJson>
Outcome FromResult(Result<T> result, ToJson to_json) {
  if (!result.ok()) return Outcome{result.status(), nullptr, std::nullopt};
  return Outcome{Status(), to_json(*result), std::nullopt};
}

Outcome Value(json::value v) { return Outcome{Status(), std::move(v), {}}; }

using Args = json::array;
using Runner = std::function<Outcome(const Args&, const Settings&)>;

// One runner per reference function, named as the file names it. In-place
// reference functions mutate their first argument; the runners return the
// mutated copy as the value.
const std::map<std::string, Runner, std::less<>>& Runners() {
  static const auto* const runners = new std::map<std::string, Runner,
                                                  std::less<>>{
      {"diff_commonPrefix",
       [](const Args& a, const Settings&) {
         return Value(CommonPrefix(Str(a.at(0)), Str(a.at(1))));
       }},
      {"diff_commonSuffix",
       [](const Args& a, const Settings&) {
         return Value(CommonSuffix(Str(a.at(0)), Str(a.at(1))));
       }},
      {"diff_cleanupMerge",
       [](const Args& a, const Settings&) {
         Diffs d = ToDiffs(a.at(0));
         CleanupMerge(d);
         return Value(DiffsJson(d));
       }},
      {"diff_cleanupSemantic",
       [](const Args& a, const Settings&) {
         Diffs d = ToDiffs(a.at(0));
         CleanupSemantic(d);
         return Value(DiffsJson(d));
       }},
      {"diff_cleanupSemanticLossless",
       [](const Args& a, const Settings&) {
         Diffs d = ToDiffs(a.at(0));
         CleanupSemanticLossless(d);
         return Value(DiffsJson(d));
       }},
      {"diff_cleanupEfficiency",
       [](const Args& a, const Settings& s) {
         Diffs d = ToDiffs(a.at(0));
         CleanupEfficiency(d, s);
         return Value(DiffsJson(d));
       }},
      {"diff_prettyHtml",
       [](const Args& a, const Settings&) {
         return Value(Json(PrettyHtml(ToDiffs(a.at(0)))));
       }},
      {"diff_text1",
       [](const Args& a, const Settings&) {
         return Value(Json(Text1(ToDiffs(a.at(0)))));
       }},
      {"diff_text2",
       [](const Args& a, const Settings&) {
         return Value(Json(Text2(ToDiffs(a.at(0)))));
       }},
      {"diff_toDelta",
       [](const Args& a, const Settings&) {
         return Value(Json(ToDelta(ToDiffs(a.at(0)))));
       }},
      {"diff_fromDelta",
       [](const Args& a, const Settings&) {
         return FromResult(FromDelta(Str(a.at(0)), Str(a.at(1))), DiffsJson);
       }},
      {"diff_xIndex",
       [](const Args& a, const Settings&) {
         return Value(XIndex(ToDiffs(a.at(0)), a.at(1).to_number<int64_t>()));
       }},
      {"diff_levenshtein",
       [](const Args& a, const Settings&) {
         return Value(Levenshtein(ToDiffs(a.at(0))));
       }},
      {"diff_main",
       [](const Args& a, const Settings& s) {
         // The reference's opt_checklines defaults to true.
         bool check_lines = a.size() < 3 || a.at(2).as_bool();
         return FromResult(DiffMain(Str(a.at(0)), Str(a.at(1)), s, check_lines),
                           DiffsJson);
       }},
      {"match_main",
       [](const Args& a, const Settings& s) {
         return FromResult(MatchMain(Str(a.at(0)), Str(a.at(1)),
                                     a.at(2).to_number<int64_t>(), s),
                           [](std::optional<int64_t> loc) {
                             return json::value(loc.value_or(-1));
                           });
       }},
      {"patch_fromText",
       [](const Args& a, const Settings&) {
         // patch_fromText(undefined) parses as the empty text.
         std::string text = IsUndefined(a.at(0)) ? "" : Str(a.at(0));
         return FromResult(PatchFromText(text), PatchesJson);
       }},
      {"patch_toText",
       [](const Args& a, const Settings&) {
         return Value(Json(PatchToText(ToPatches(a.at(0)))));
       }},
      {"patch_make",
       [](const Args& a, const Settings& s) -> Outcome {
         if (a.size() == 1)
           return Value(PatchesJson(PatchMake(ToDiffs(a.at(0)), s)));
         if (a.size() == 2 && a.at(1).is_string()) {
           return FromResult(PatchMake(Str(a.at(0)), Str(a.at(1)), s),
                             PatchesJson);
         }
         // (text1, diffs), and the deprecated (text1, text2, diffs) that the
         // reference treats as (text1, diffs).
         return FromResult(PatchMake(Str(a.at(0)), ToDiffs(a.back()), s),
                           PatchesJson);
       }},
      {"patch_splitMax",
       [](const Args& a, const Settings& s) {
         Patches p = ToPatches(a.at(0));
         PatchSplitMax(p, s);
         return Value(PatchesJson(p));
       }},
      {"patch_addPadding",
       [](const Args& a, const Settings& s) {
         Patches p = ToPatches(a.at(0));
         std::string padding = PatchAddPadding(p, s);
         Outcome out = Value(PatchesJson(p));
         out.returned = Json(padding);
         return out;
       }},
      {"patch_apply",
       [](const Args& a, const Settings& s) {
         const Patches patches = ToPatches(a.at(0));
         Outcome out = FromResult(
             PatchApply(patches, Str(a.at(1)), s), [](const ApplyResult& r) {
               json::array applied;
               for (bool b : r.applied) applied.push_back(b);
               return json::value(json::array{Json(r.text), applied});
             });
         // args_unchanged: the patches argument must come out as it went in.
         EXPECT_EQ(PatchesJson(patches), PatchesJson(ToPatches(a.at(0))))
             << "patch_apply modified its patches argument";
         return out;
       }},
  };
  return *runners;
}

// Counts of what the parameterized cases did in this run, checked by
// CaseCountEnvironment when every case was selected.
struct RunCounts {
  int run = 0;
  int skipped = 0;
};
RunCounts& Counts() {
  static RunCounts counts;
  return counts;
}

class DmpConformance : public testing::TestWithParam<Case> {};

TEST_P(DmpConformance, MatchesReference) {
  const Case& c = GetParam();
  const json::value& expected = c.data.at("expected");
  SCOPED_TRACE("case " + std::to_string(c.id) + " " + c.fn + " (" +
               Str(c.data.at("source")) + ")");

  if (HasNullArg(c)) {
    ASSERT_TRUE(IsThrows(expected))
        << "a null argument in a case that does not expect an exception";
    ASSERT_NE(Note(c).find(kValueTypeNote), std::string::npos)
        << "null-argument case without the value-type note: " << Note(c);
    ++Counts().skipped;
    GTEST_SKIP() << "case " << c.id << " " << c.fn << ": " << Note(c);
  }
  ++Counts().run;

  auto runner = Runners().find(c.fn);
  ASSERT_NE(runner, Runners().end()) << "no runner for " << c.fn;
  const Settings settings = ToSettings(c.data.at("settings").as_object());
  const json::array& args = c.data.at("args").as_array();
  const Outcome got = runner->second(args, settings);

  if (IsThrows(expected)) {
    EXPECT_FALSE(got.status.ok())
        << "the reference throws; we returned " << json::serialize(got.value);
    if (!got.status.ok()) {
      EXPECT_FALSE(got.status.message().empty()) << "error without a message";
    }
    return;
  }
  ASSERT_TRUE(got.status.ok()) << "unexpected error: " << got.status.ToString();
  EXPECT_EQ(got.value, expected)
      << "args:     " << json::serialize(args)
      << "\nexpected: " << json::serialize(expected)
      << "\ngot:      " << json::serialize(got.value);

  if (const json::value* ret = c.data.if_contains("expected_return")) {
    ASSERT_TRUE(got.returned.has_value()) << "no return value to compare";
    EXPECT_EQ(*got.returned, *ret)
        << "return value: expected " << json::serialize(*ret) << ", got "
        << json::serialize(*got.returned);
  }
}

std::string CaseName(const testing::TestParamInfo<Case>& info) {
  char id[16];
  std::snprintf(id, sizeof(id), "c%03lld_",
                static_cast<long long>(info.param.id));
  return id + info.param.fn;
}

INSTANTIATE_TEST_SUITE_P(Vectors, DmpConformance,
                         testing::ValuesIn(Vectors().cases), CaseName);

// When every parameterized case was selected, all of them must have run or
// been skipped as documented: a case silently dropped is a failure.
class CaseCountEnvironment : public testing::Environment {
 public:
  void SetUp() override { Counts() = RunCounts(); }
  void TearDown() override {
    const testing::UnitTest& unit = *testing::UnitTest::GetInstance();
    int selected = 0;
    for (int i = 0; i < unit.total_test_suite_count(); ++i) {
      const testing::TestSuite& suite = *unit.GetTestSuite(i);
      if (suite.name() != kSuiteName) continue;
      for (int j = 0; j < suite.total_test_count(); ++j) {
        selected += suite.GetTestInfo(j)->should_run() ? 1 : 0;
      }
    }
    if (selected != static_cast<int>(kRecordedCaseCount)) return;
    const int documented_skips = DocumentedSkipCount();
    EXPECT_EQ(Counts().skipped, documented_skips);
    EXPECT_EQ(Counts().run,
              static_cast<int>(kRecordedCaseCount) - documented_skips)
        << "conformance cases run";
  }

  static int DocumentedSkipCount() {
    return static_cast<int>(std::count_if(
        Vectors().cases.begin(), Vectors().cases.end(), [](const Case& c) {
          return Note(c).find(kValueTypeNote) != std::string::npos;
        }));
  }
};

[[maybe_unused]] testing::Environment* const kCaseCountEnvironment =
    testing::AddGlobalTestEnvironment(new CaseCountEnvironment);

TEST(DmpConformanceFile, HasEveryRecordedCase) {
  const VectorFile& file = Vectors();
  ASSERT_TRUE(file.error.empty()) << file.error;
  ASSERT_EQ(file.cases.size(), kRecordedCaseCount) << file.path;

  std::set<int64_t> ids;
  std::map<std::string, int64_t> per_fn;
  for (const Case& c : file.cases) {
    EXPECT_TRUE(ids.insert(c.id).second) << "duplicate case id " << c.id;
    ++per_fn[c.fn];
    EXPECT_TRUE(Runners().contains(c.fn)) << "no runner for " << c.fn;
  }
  // The file's own per-function tally agrees with its cases.
  std::map<std::string, int64_t> counts;
  for (const auto& [fn, n] : file.root.at("counts").as_object()) {
    counts[std::string(fn)] = n.to_number<int64_t>();
  }
  EXPECT_EQ(per_fn, counts);
}

TEST(DmpConformanceFile, SkipsAreExactlyTheValueTypeNotes) {
  ASSERT_TRUE(Vectors().error.empty()) << Vectors().error;
  std::set<int64_t> skipped, noted;
  for (const Case& c : Vectors().cases) {
    if (HasNullArg(c)) skipped.insert(c.id);
    if (Note(c).find(kValueTypeNote) != std::string::npos) noted.insert(c.id);
  }
  EXPECT_EQ(skipped, noted);
  // Today: diff_main(null, null), match_main(null, null, 0), patch_make(null).
  EXPECT_EQ(skipped, (std::set<int64_t>{87, 95, 128}));
  EXPECT_EQ(Vectors().cases.size() - skipped.size(), kRecordedCaseCount - 3);
}

// The conventions the harness was written against.
TEST(DmpConformanceFile, ConventionsAreTheOnesThisHarnessReads) {
  ASSERT_TRUE(Vectors().error.empty()) << Vectors().error;
  const json::object& conv = Vectors().root.at("conventions").as_object();

  EXPECT_NE(Str(conv.at("diff")).find("-1=DELETE, 0=EQUAL, 1=INSERT"),
            std::string::npos)
      << Str(conv.at("diff"));
  EXPECT_NE(Str(conv.at("patch")).find("0-based starts"), std::string::npos)
      << Str(conv.at("patch"));
  EXPECT_NE(Str(conv.at("settings")).find("differ from defaults"),
            std::string::npos);
  EXPECT_NE(Str(conv.at("throws")).find("$throws"), std::string::npos);
  EXPECT_NE(Str(conv.at("undefined_value")).find("$undefined"),
            std::string::npos);

  // The runners treat exactly these as in-place.
  const std::string in_place = Str(conv.at("in_place"));
  for (std::string_view fn :
       {"diff_cleanupSemantic", "diff_cleanupSemanticLossless",
        "diff_cleanupEfficiency", "diff_cleanupMerge", "patch_splitMax",
        "patch_addPadding"}) {
    EXPECT_NE(in_place.find(fn), std::string::npos) << fn;
  }

  // "settings" lists only differences from these, so they must be ours too.
  const Settings file_defaults = ToSettings(conv.at("defaults").as_object());
  const Settings ours;
  EXPECT_EQ(file_defaults.diff_timeout, ours.diff_timeout);
  EXPECT_EQ(file_defaults.diff_edit_cost, ours.diff_edit_cost);
  EXPECT_EQ(file_defaults.match_threshold, ours.match_threshold);
  EXPECT_EQ(file_defaults.match_distance, ours.match_distance);
  EXPECT_EQ(file_defaults.patch_delete_threshold, ours.patch_delete_threshold);
  EXPECT_EQ(file_defaults.patch_margin, ours.patch_margin);
  EXPECT_EQ(file_defaults.match_max_bits, ours.match_max_bits);
  EXPECT_EQ(conv.at("defaults").as_object().size(), 7u);
}

}  // namespace
}  // namespace diffsync::dmp
