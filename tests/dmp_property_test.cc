// Properties of diffsync::dmp that must hold for every input: diffs rebuild
// both texts and never split a character, deltas and patch text round-trip,
// patches made from a pair turn the first text into the second, a diff with
// no deadline is minimal.
//
// Inputs are random texts over small alphabets (to force repeats) that mix
// ASCII, CJK, combining marks and astral characters sharing surrogate halves,
// plus slices of the shared speed-test pair and snapshots of a real editing
// trace.
//
// Reproducing: every run prints its seed; DIFFSYNC_SEED=<seed> repeats it,
// DIFFSYNC_ITERATIONS=<n> changes the number of random cases per test. Each
// test draws from its own stream, so a single test can be rerun with
// --gtest_filter.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>
#ifdef DIFFSYNC_HAVE_ZLIB
#include <zlib.h>
#endif

#include "diffsync/dmp/diff.h"
#include "diffsync/dmp/match.h"
#include "diffsync/dmp/patch.h"
#include "diffsync/dmp/settings.h"
#include "dmp/utf.h"
#include "common/test_seed.h"

namespace diffsync::dmp {
namespace {

namespace json = boost::json;

constexpr int kDefaultIterations = 300;

uint64_t BaseSeed() {
  static const uint64_t seed = [] {
    if (std::optional<uint64_t> s = diffsync::test_util::SeedFromEnv()) return *s;
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }();
  return seed;
}

int Iterations() {
  static const int n = [] {
    if (const char* env = std::getenv("DIFFSYNC_ITERATIONS"); env && *env) {
      return std::max(1, std::atoi(env));
    }
    return kDefaultIterations;
  }();
  return n;
}

class SeedEnvironment : public testing::Environment {
 public:
  void SetUp() override {
    std::cout << "[ property ] DIFFSYNC_SEED=" << BaseSeed()
              << " DIFFSYNC_ITERATIONS=" << Iterations()
              << " (set both to reproduce this run)\n";
  }
};
[[maybe_unused]] testing::Environment* const kSeedEnvironment =
    testing::AddGlobalTestEnvironment(new SeedEnvironment);

// The stream of the running test: a function of the seed and the test's name.
std::mt19937_64 TestRng() {
  const testing::TestInfo& info =
      *testing::UnitTest::GetInstance()->current_test_info();
  testing::Test::RecordProperty("seed", std::to_string(BaseSeed()));
  std::string name = std::string(info.test_suite_name()) + "." + info.name();
  std::seed_seq seq{static_cast<uint32_t>(BaseSeed()),
                    static_cast<uint32_t>(BaseSeed() >> 32),
                    static_cast<uint32_t>(std::hash<std::string>{}(name))};
  return std::mt19937_64(seq);
}

std::string Trace(int iteration) {
  return "DIFFSYNC_SEED=" + std::to_string(BaseSeed()) + " iteration " +
         std::to_string(iteration);
}

size_t Uniform(std::mt19937_64& rng, size_t lo, size_t hi) {
  return std::uniform_int_distribution<size_t>(lo, hi)(rng);
}

// ---- Text generation. Texts are built from whole characters (pieces), so
// they are valid UTF-8 and every piece boundary is a character boundary. ----

using Alphabet = std::vector<std::string_view>;
using Pieces = std::vector<std::string_view>;

const Alphabet kBinary = {"a", "b"};
const Alphabet kSmall = {"a", "b", "c", " ", "\n"};
const Alphabet kWords = {"the ", "cat ", "sat", ". ", "\n", "on ", "a", "mat"};
// U+4E2D U+6587 U+5B57, e + U+0301 (combining acute), U+00E9, U+200D (ZWJ).
const Alphabet kMixed = {"a",  "b", " ",        "\n", "中",          "文",
                         "字", "e", "\xCC\x81", "é",  "\xE2\x80\x8D"};
// Astral characters sharing surrogate halves: U+1F600..U+1F602 and U+1F642
// share D83D, U+1D49C and U+1D49E share D835, U+1F44D U+1F3FD is a thumbs-up
// with a skin tone.
const Alphabet kAstral = {"😀", "😁", "😂", "🙂", "𝒜", "𝒞", "👍", "🏽", "a"};
const Alphabet kEverything = {"a",        "b", " ", "\n",   "中", "文", "e",
                              "\xCC\x81", "😀", "😁", "🙂", "𝒜",  "𝒞"};

const std::vector<const Alphabet*>& AllAlphabets() {
  static const std::vector<const Alphabet*> all = {
      &kBinary, &kSmall, &kWords, &kMixed, &kAstral, &kEverything};
  return all;
}
const std::vector<const Alphabet*>& BmpAlphabets() {
  static const std::vector<const Alphabet*> bmp = {&kBinary, &kSmall, &kWords,
                                                   &kMixed};
  return bmp;
}

Pieces RandomPieces(std::mt19937_64& rng, const Alphabet& alphabet,
                    size_t count) {
  Pieces out;
  for (size_t i = 0; i < count; ++i) {
    out.push_back(alphabet[Uniform(rng, 0, alphabet.size() - 1)]);
  }
  return out;
}

std::string Join(const Pieces& pieces) {
  std::string out;
  for (std::string_view p : pieces) out += p;
  return out;
}

// A few random edits of `text`: inserts, deletes, replacements, block moves.
Pieces Mutate(std::mt19937_64& rng, const Alphabet& alphabet, Pieces text) {
  const size_t edits = Uniform(rng, 1, 4);
  for (size_t e = 0; e < edits; ++e) {
    const size_t pos = Uniform(rng, 0, text.size());
    const size_t len = std::min(Uniform(rng, 1, 6), text.size() - pos);
    switch (Uniform(rng, 0, 3)) {
      case 0: {
        Pieces ins = RandomPieces(rng, alphabet, Uniform(rng, 1, 6));
        text.insert(text.begin() + pos, ins.begin(), ins.end());
        break;
      }
      case 1:
        text.erase(text.begin() + pos, text.begin() + pos + len);
        break;
      case 2: {
        text.erase(text.begin() + pos, text.begin() + pos + len);
        Pieces ins = RandomPieces(rng, alphabet, Uniform(rng, 1, 6));
        text.insert(text.begin() + pos, ins.begin(), ins.end());
        break;
      }
      default: {
        Pieces block(text.begin() + pos, text.begin() + pos + len);
        text.erase(text.begin() + pos, text.begin() + pos + len);
        const size_t to = Uniform(rng, 0, text.size());
        text.insert(text.begin() + to, block.begin(), block.end());
        break;
      }
    }
  }
  return text;
}

struct TextPair {
  std::string a, b;
};

// Mostly related pairs (one a few edits away from the other), some unrelated
// ones and some with an empty side.
TextPair RandomPair(std::mt19937_64& rng, const Alphabet& alphabet,
                    size_t max_pieces) {
  Pieces a = RandomPieces(rng, alphabet, Uniform(rng, 0, max_pieces));
  switch (Uniform(rng, 0, 7)) {
    case 0:
      return {Join(a),
              Join(RandomPieces(rng, alphabet, Uniform(rng, 0, max_pieces)))};
    case 1:
      return {Join(a), ""};
    case 2:
      return {"", Join(a)};
    default:
      return {Join(a), Join(Mutate(rng, alphabet, a))};
  }
}

const Alphabet& Pick(std::mt19937_64& rng,
                     const std::vector<const Alphabet*>& from) {
  return *from[Uniform(rng, 0, from.size() - 1)];
}

// ---- Checks. ----

std::string Show(std::string_view text) {
  return json::serialize(json::string(text));
}

std::string Show(const Diffs& diffs) {
  json::array out;
  for (const Diff& d : diffs) {
    out.push_back(
        json::array{static_cast<int>(d.operation), json::string(d.text)});
  }
  return json::serialize(out);
}

testing::AssertionResult KeepsCharactersWhole(const Diffs& diffs) {
  for (const Diff& d : diffs) {
    if (size_t bad = internal::FindInvalidUtf8(d.text);
        bad != std::string::npos) {
      return testing::AssertionFailure()
             << "diff text " << Show(d.text) << " is not valid UTF-8 at byte "
             << bad << " (a split character) in " << Show(diffs);
    }
  }
  return testing::AssertionSuccess();
}

testing::AssertionResult RebuildsTexts(const Diffs& diffs, std::string_view a,
                                       std::string_view b) {
  if (testing::AssertionResult whole = KeepsCharactersWhole(diffs); !whole) {
    return whole;
  }
  if (Text1(diffs) != a || Text2(diffs) != b) {
    return testing::AssertionFailure()
           << "diff " << Show(diffs) << "\n does not rebuild a=" << Show(a)
           << " b=" << Show(b) << "\n Text1=" << Show(Text1(diffs))
           << "\n Text2=" << Show(Text2(diffs));
  }
  return testing::AssertionSuccess();
}

// The shape of DMP's char-mode DiffMain without a deadline, and of
// CleanupMerge on any char-mode diff: no empty texts, no two neighbours with
// the same operation, a delete before an insert. With a deadline, half-match
// joins two diffs around a shared middle and can leave two equalities side by
// side, so only the first rule is checked then.
testing::AssertionResult IsCanonical(const Diffs& diffs, bool strict = true) {
  for (size_t i = 0; i < diffs.size(); ++i) {
    const char* broken = nullptr;
    if (diffs[i].text.empty()) {
      broken = "an empty diff";
    } else if (!strict) {
      continue;
    } else if (i > 0 && diffs[i].operation == diffs[i - 1].operation) {
      broken = "two neighbours with the same operation";
    } else if (i > 0 && diffs[i].operation == Operation::kDelete &&
               diffs[i - 1].operation == Operation::kInsert) {
      broken = "an insert before a delete";
    }
    if (broken != nullptr) {
      return testing::AssertionFailure()
             << broken << " at index " << i << " of " << Show(diffs);
    }
  }
  return testing::AssertionSuccess();
}

// Inserted plus deleted UTF-16 code units: the quantity Myers' algorithm
// minimizes (Levenshtein counts a substitution once, so a minimal diff need
// not have the smallest Levenshtein distance).
int64_t EditSize(const Diffs& diffs) {
  int64_t n = 0;
  for (const Diff& d : diffs) {
    if (d.operation != Operation::kEqual) n += Utf16Length(d.text);
  }
  return n;
}

// Length of the longest common subsequence of code units, by dynamic
// programming: the independent oracle for minimality.
int64_t LcsLength(std::u16string_view a, std::u16string_view b) {
  std::vector<int64_t> row(b.size() + 1, 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    int64_t diag = 0;
    for (size_t j = 1; j <= b.size(); ++j) {
      const int64_t up = row[j];
      row[j] = a[i - 1] == b[j - 1] ? diag + 1 : std::max(row[j], row[j - 1]);
      diag = up;
    }
  }
  return row[b.size()];
}

int64_t MinimalEditSize(std::string_view a, std::string_view b) {
  const std::u16string a16 = internal::ToUtf16(a);
  const std::u16string b16 = internal::ToUtf16(b);
  return static_cast<int64_t>(a16.size() + b16.size()) -
         2 * LcsLength(a16, b16);
}

Settings NoTimeout() {
  Settings s;
  s.diff_timeout = 0;
  return s;
}

// Every diff of (a, b) we can produce, and every cleanup of it, rebuilds both
// texts and round-trips through the delta format.
void CheckDiffProperties(std::string_view a, std::string_view b) {
  for (bool check_lines : {false, true}) {
    for (const Settings& settings : {NoTimeout(), Settings()}) {
      SCOPED_TRACE(std::string("check_lines=") + (check_lines ? "1" : "0") +
                   " diff_timeout=" + std::to_string(settings.diff_timeout));
      Result<Diffs> diffs = DiffMain(a, b, settings, check_lines);
      ASSERT_TRUE(diffs.ok()) << diffs.status().ToString();
      ASSERT_TRUE(RebuildsTexts(*diffs, a, b)) << "DiffMain";
      // DMP's line mode can leave empty diffs; char mode never does.
      const bool strict = settings.diff_timeout <= 0;
      if (!check_lines) {
        ASSERT_TRUE(IsCanonical(*diffs, strict)) << "DiffMain";
      }

      const std::vector<std::pair<const char*, std::function<void(Diffs&)>>>
          cleanups = {
              {"raw", [](Diffs&) {}},
              {"CleanupMerge", [](Diffs& d) { CleanupMerge(d); }},
              {"CleanupSemantic", [](Diffs& d) { CleanupSemantic(d); }},
              {"CleanupSemanticLossless",
               [](Diffs& d) { CleanupSemanticLossless(d); }},
              {"CleanupEfficiency", [](Diffs& d) { CleanupEfficiency(d); }},
              {"CleanupEfficiency(cost 1)",
               [](Diffs& d) {
                 Settings s;
                 s.diff_edit_cost = 1;
                 CleanupEfficiency(d, s);
               }},
          };
      for (const auto& [name, cleanup] : cleanups) {
        Diffs d = *diffs;
        cleanup(d);
        ASSERT_TRUE(RebuildsTexts(d, a, b)) << name;
        // DMP's other cleanups can leave neighbours with the same operation.
        if (!check_lines && name == std::string_view("CleanupMerge")) {
          ASSERT_TRUE(IsCanonical(d)) << name;
        }

        const std::string delta = ToDelta(d);
        Result<Diffs> back = FromDelta(a, delta);
        ASSERT_TRUE(back.ok())
            << name << ": FromDelta(" << Show(a) << ", " << Show(delta)
            << ") failed: " << back.status().ToString();
        ASSERT_EQ(Show(*back), Show(d)) << name << ": delta " << Show(delta);
        // A delta only fits the text it was made from.
        Result<Diffs> wrong = FromDelta(std::string(a) + "x", delta);
        ASSERT_FALSE(wrong.ok()) << name << ": delta " << Show(delta)
                                 << " accepted for a longer text";
      }
    }
  }
}

// Patches made from (a, b) turn a into b, and survive their text form.
void CheckPatchProperties(std::string_view a, std::string_view b) {
  // No deadline: the forms of PatchMake compared below each run their own
  // diff, and with a deadline each stops wherever the clock says, so on a
  // slow build (ThreadSanitizer) the whole speed-test pair gave two
  // different, equally valid patch sets.
  const Settings settings = NoTimeout();
  Result<Patches> patches = PatchMake(a, b, settings);
  ASSERT_TRUE(patches.ok()) << patches.status().ToString();

  Result<ApplyResult> applied = PatchApply(*patches, a, settings);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ(Show(applied->text), Show(b)) << "patches:\n"
                                          << PatchToText(*patches);
  // One entry per hunk as applied, i.e. after PatchSplitMax, as DMP does.
  EXPECT_TRUE(std::all_of(applied->applied.begin(), applied->applied.end(),
                          [](bool ok) { return ok; }))
      << "not every hunk applied; patches:\n"
      << PatchToText(*patches);
  EXPECT_GE(applied->applied.size(), patches->size());

  const std::string text = PatchToText(*patches);
  Result<Patches> parsed = PatchFromText(text);
  ASSERT_TRUE(parsed.ok()) << Show(text) << ": " << parsed.status().ToString();
  EXPECT_TRUE(*parsed == *patches)
      << "patch text " << Show(text) << " parses back as "
      << Show(PatchToText(*parsed));
  for (const Patch& p : *patches) {
    ASSERT_TRUE(KeepsCharactersWhole(p.diffs)) << "hunk " << Show(p.ToString());
  }

  // The other forms of PatchMake agree when given the diff PatchMake(a, b)
  // computes: DiffMain with line mode, then the two cleanups.
  Result<Diffs> diffs = DiffMain(a, b, settings, true);
  ASSERT_TRUE(diffs.ok());
  if (diffs->size() > 2) {
    CleanupSemantic(*diffs);
    CleanupEfficiency(*diffs, settings);
  }
  Result<Patches> from_text_and_diffs = PatchMake(a, *diffs, settings);
  ASSERT_TRUE(from_text_and_diffs.ok())
      << from_text_and_diffs.status().ToString();
  EXPECT_TRUE(*from_text_and_diffs == *patches)
      << "PatchMake(text1, diffs):\n"
      << PatchToText(*from_text_and_diffs) << "PatchMake(text1, text2):\n"
      << text;
  EXPECT_TRUE(PatchMake(*diffs, settings) == *patches)
      << "PatchMake(diffs):\n"
      << PatchToText(PatchMake(*diffs, settings))
      << "PatchMake(text1, text2):\n"
      << text;
}

// Char mode without a deadline is minimal; line mode and a deadline may only
// add edits.
void CheckMinimality(std::string_view a, std::string_view b, bool bmp_only) {
  Result<Diffs> exact = DiffMain(a, b, NoTimeout(), false);
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  const int64_t size = EditSize(*exact);
  const int64_t minimal = MinimalEditSize(a, b);
  if (bmp_only) {
    ASSERT_EQ(size, minimal) << Show(*exact);
  } else {
    // A diff that keeps characters whole may need a few more code units than
    // one that can share half of a surrogate pair, never fewer.
    ASSERT_GE(size, minimal) << Show(*exact);
  }
  const int64_t lev = Levenshtein(*exact);
  EXPECT_LE(lev, size);
  EXPECT_GE(2 * lev, size);

  if (!bmp_only) return;
  Result<Diffs> lines = DiffMain(a, b, NoTimeout(), true);
  ASSERT_TRUE(lines.ok());
  EXPECT_GE(EditSize(*lines), size) << "line mode beat char mode";
  Result<Diffs> timed = DiffMain(a, b, Settings(), false);
  ASSERT_TRUE(timed.ok());
  EXPECT_GE(EditSize(*timed), size) << "a deadline beat no deadline";
}

// ---- Random texts. ----

TEST(DmpProperty, DiffsRebuildTextsAndRoundTripDeltas) {
  std::mt19937_64 rng = TestRng();
  for (int i = 0; i < Iterations(); ++i) {
    SCOPED_TRACE(Trace(i));
    const TextPair p = RandomPair(rng, Pick(rng, AllAlphabets()), 40);
    SCOPED_TRACE("a=" + Show(p.a) + " b=" + Show(p.b));
    CheckDiffProperties(p.a, p.b);
    if (HasFatalFailure()) return;
  }
}

TEST(DmpProperty, PatchesTurnFirstTextIntoSecond) {
  std::mt19937_64 rng = TestRng();
  for (int i = 0; i < Iterations(); ++i) {
    SCOPED_TRACE(Trace(i));
    // Up to 120 pieces so hunks pass Match_MaxBits and get split.
    const TextPair p = RandomPair(rng, Pick(rng, AllAlphabets()), 120);
    SCOPED_TRACE("a=" + Show(p.a) + " b=" + Show(p.b));
    CheckPatchProperties(p.a, p.b);
    if (HasFatalFailure() || HasNonfatalFailure()) return;
  }
}

TEST(DmpProperty, DiffWithoutDeadlineIsMinimal) {
  std::mt19937_64 rng = TestRng();
  for (int i = 0; i < Iterations(); ++i) {
    SCOPED_TRACE(Trace(i));
    const bool bmp = i % 3 != 0;
    const TextPair p =
        RandomPair(rng, Pick(rng, bmp ? BmpAlphabets() : AllAlphabets()), 60);
    SCOPED_TRACE("a=" + Show(p.a) + " b=" + Show(p.b));
    CheckMinimality(p.a, p.b, bmp);
    if (HasFatalFailure() || HasNonfatalFailure()) return;
  }
}

// Texts over 100 code units with many lines, so line mode really runs.
TEST(DmpProperty, LineModeNeverBeatsCharMode) {
  std::mt19937_64 rng = TestRng();
  const Alphabet lines = {"alpha\n", "beta\n", "gamma\n", "delta\n",
                          "x",       "中文\n", " "};
  for (int i = 0; i < std::max(1, Iterations() / 4); ++i) {
    SCOPED_TRACE(Trace(i));
    Pieces a = RandomPieces(rng, lines, Uniform(rng, 20, 80));
    Pieces b = Mutate(rng, lines, a);
    const std::string ja = Join(a), jb = Join(b);
    SCOPED_TRACE("a=" + Show(ja) + " b=" + Show(jb));
    CheckMinimality(ja, jb, /*bmp_only=*/true);
    if (HasFatalFailure() || HasNonfatalFailure()) return;
  }
}

TEST(DmpProperty, MatchFindsAnExactPatternWhereItIs) {
  std::mt19937_64 rng = TestRng();
  for (int i = 0; i < Iterations(); ++i) {
    SCOPED_TRACE(Trace(i));
    Pieces text =
        RandomPieces(rng, Pick(rng, AllAlphabets()), Uniform(rng, 1, 60));
    const size_t from = Uniform(rng, 0, text.size() - 1);
    size_t to = Uniform(rng, from + 1, text.size());
    std::string pattern = Join(Pieces(text.begin() + from, text.begin() + to));
    // Bitap needs the pattern to fit Match_MaxBits.
    while (Utf16Length(pattern) > Settings().match_max_bits) {
      --to;
      pattern = Join(Pieces(text.begin() + from, text.begin() + to));
    }
    const std::string joined = Join(text);
    const int64_t loc =
        Utf16Length(Join(Pieces(text.begin(), text.begin() + from)));
    SCOPED_TRACE("text=" + Show(joined) + " pattern=" + Show(pattern) +
                 " loc=" + std::to_string(loc));
    Result<std::optional<int64_t>> found = MatchMain(joined, pattern, loc);
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    ASSERT_TRUE(found->has_value());
    ASSERT_EQ(**found, loc);
  }
}

// ---- Real texts. ----

std::string ReadFileOrEmpty(const std::string& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  *ok = static_cast<bool>(in);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    end = end == std::string_view::npos ? text.size() : end + 1;
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end);
  }
  return lines;
}

std::string JoinLines(const std::vector<std::string_view>& lines, size_t from,
                      size_t count) {
  std::string out;
  for (size_t i = from; i < std::min(lines.size(), from + count); ++i) {
    out += lines[i];
  }
  return out;
}

TEST(DmpProperty, SpeedtestSlices) {
  const std::string dir =
      std::string(DIFFSYNC_SHARED_DATA_DIR) + "/dmp-speedtest/";
  bool ok1 = false, ok2 = false;
  const std::string text1 = ReadFileOrEmpty(dir + "speedtest1.txt", &ok1);
  const std::string text2 = ReadFileOrEmpty(dir + "speedtest2.txt", &ok2);
  ASSERT_TRUE(ok1 && ok2) << "missing " << dir
                          << "speedtest{1,2}.txt (DIFFSYNC_SHARED_DATA_DIR)";

  {
    SCOPED_TRACE("whole speed-test pair");
    Result<Diffs> diffs = DiffMain(text1, text2);
    ASSERT_TRUE(diffs.ok());
    ASSERT_TRUE(RebuildsTexts(*diffs, text1, text2));
    Result<Diffs> back = FromDelta(text1, ToDelta(*diffs));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == *diffs);
    CheckPatchProperties(text1, text2);
  }

  std::mt19937_64 rng = TestRng();
  const auto lines1 = SplitLines(text1), lines2 = SplitLines(text2);
  for (int i = 0; i < std::max(2, Iterations() / 20); ++i) {
    SCOPED_TRACE(Trace(i));
    // Corresponding regions: the same fraction into each file.
    const double at = std::uniform_real_distribution<double>(0, 1)(rng);
    const size_t count = Uniform(rng, 5, 40);
    const std::string a =
        JoinLines(lines1, static_cast<size_t>(at * lines1.size()), count);
    const std::string b =
        JoinLines(lines2, static_cast<size_t>(at * lines2.size()), count);
    SCOPED_TRACE("a=" + Show(a) + " b=" + Show(b));
    CheckDiffProperties(a, b);
    CheckPatchProperties(a, b);
    Result<Diffs> exact = DiffMain(a, b, NoTimeout(), false);
    Result<Diffs> lines = DiffMain(a, b, NoTimeout(), true);
    ASSERT_TRUE(exact.ok() && lines.ok());
    EXPECT_LE(EditSize(*exact), EditSize(*lines));
    if (HasFatalFailure() || HasNonfatalFailure()) return;
  }
}

#ifdef DIFFSYNC_HAVE_ZLIB
bool ReadGzip(const std::string& path, std::string* out) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  char buffer[1 << 16];
  int n;
  while ((n = gzread(f, buffer, sizeof(buffer))) > 0) out->append(buffer, n);
  const bool ok = n == 0;
  gzclose(f);
  return ok;
}
#endif

// Snapshots of a real editing session: consecutive ones differ by real edits.
TEST(DmpProperty, EditingTraceSnapshots) {
#ifndef DIFFSYNC_HAVE_ZLIB
  GTEST_SKIP() << "built without zlib, cannot read the gzipped traces";
#else
  const std::string path = std::string(DIFFSYNC_SHARED_DATA_DIR) +
                           "/traces/sequential/friendsforever_flat.json.gz";
  std::string raw;
  ASSERT_TRUE(ReadGzip(path, &raw)) << "cannot read " << path;
  const json::object trace = json::parse(raw).as_object();
  const json::array& txns = trace.at("txns").as_array();

  const size_t snapshots = std::clamp<size_t>(Iterations() / 10, 4, 200);
  const size_t every = std::max<size_t>(1, txns.size() / snapshots);
  // Positions count code points; UTF-16 indexing is the same while every
  // character is in the BMP, which is checked per insert.
  std::u16string doc = internal::ToUtf16(trace.at("startContent").as_string());
  std::vector<std::string> states = {internal::ToUtf8(doc)};
  for (size_t t = 0; t < txns.size(); ++t) {
    for (const json::value& pv : txns[t].as_object().at("patches").as_array()) {
      const json::array& patch = pv.as_array();
      const auto pos = patch.at(0).to_number<size_t>();
      const auto del = patch.at(1).to_number<size_t>();
      const json::string& ins = patch.at(2).as_string();
      const std::u16string ins16 = internal::ToUtf16(ins);
      ASSERT_EQ(static_cast<size_t>(
                    std::count_if(ins.begin(), ins.end(),
                                  [](char c) { return (c & 0xC0) != 0x80; })),
                ins16.size())
          << "astral character in the trace; replay would need code points";
      ASSERT_LE(pos + del, doc.size());
      doc.replace(pos, del, ins16);
    }
    if ((t + 1) % every == 0 || t + 1 == txns.size()) {
      states.push_back(internal::ToUtf8(doc));
    }
  }
  ASSERT_EQ(states.back(), std::string_view(trace.at("endContent").as_string()))
      << "trace replay is wrong";

  for (size_t i = 0; i + 1 < states.size(); ++i) {
    SCOPED_TRACE("snapshots " + std::to_string(i) + " -> " +
                 std::to_string(i + 1));
    CheckDiffProperties(states[i], states[i + 1]);
    CheckPatchProperties(states[i], states[i + 1]);
    if (HasFatalFailure() || HasNonfatalFailure()) return;
  }
#endif
}

}  // namespace
}  // namespace diffsync::dmp
