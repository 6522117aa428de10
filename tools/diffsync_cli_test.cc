// End-to-end tests of the diffsync binary: each runs the real program in a
// fresh temporary directory and checks its exact stdout bytes, its stderr
// lines and its exit status.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "diffsync/dmp/diff.h"
#include "diffsync/dmp/patch.h"

extern char** environ;

namespace diffsync::cli {
namespace {

namespace fs = std::filesystem;
using dmp::Diffs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kCli[] = DIFFSYNC_CLI_PATH;
constexpr char kTestData[] = DIFFSYNC_CLI_TESTDATA;

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;

  std::vector<std::string> ErrLines() const {
    std::vector<std::string> lines;
    std::istringstream in(err);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const fs::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << path;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (fs::path(::testing::TempDir()) / "diffsync_cli_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, std::string_view data) {
    WriteFile(dir_ / name, data);
  }
  std::string Read(const std::string& name) { return ReadFile(dir_ / name); }

  // Runs diffsync with `args` in the temporary directory, `stdin_data` on
  // its standard input.
  Outcome Diffsync(const std::vector<std::string>& args,
                   std::string_view stdin_data = "") {
    WriteFile(dir_ / ".stdin", stdin_data);
    const std::string in = (dir_ / ".stdin").string();
    const std::string out = (dir_ / ".stdout").string();
    const std::string err = (dir_ / ".stderr").string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addchdir_np(&actions, dir_.c_str());
    posix_spawn_file_actions_addopen(&actions, 0, in.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kCli));
    for (const std::string& arg : args) {
      argv.push_back(const_cast<char*>(arg.c_str()));
    }
    argv.push_back(nullptr);
    pid_t pid;
    Outcome run;
    int spawn_error =
        posix_spawn(&pid, kCli, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(spawn_error, 0) << kCli;
    if (spawn_error != 0) return run;
    int status = 0;
    EXPECT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status)) << "status " << status;
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = ReadFile(out);
    run.err = ReadFile(err);
    return run;
  }

  fs::path dir_;
};

// A text whose patch needs escapes, non-BMP characters and several hunks.
constexpr char kPoemA[] =
    "Ünïcödé lines, 😀 and 中文 text,\n"
    "with tabs\tand 100% \"quotes\" & symbols #?;\n"
    "a middle line that stays the same for a good while\n"
    "another line that also stays unchanged throughout\n"
    "and a last line without a newline 🎉";
constexpr char kPoemB[] =
    "Ünïcode lines, 😃 and 中文 texts,\n"
    "with tabs\tand 99% \"quotes\" & symbols #?;\n"
    "a middle line that stays the same for a good while\n"
    "another line that also stays unchanged throughout\n"
    "and a last line, still without a newline 🎊";

Diffs LibraryDiff(const std::string& a, const std::string& b,
                  const std::string& cleanup) {
  Result<dmp::Diffs> diffs = dmp::DiffMain(a, b);
  EXPECT_TRUE(diffs.ok()) << diffs.status().ToString();
  if (!diffs.ok()) return {};
  if (cleanup == "semantic") dmp::CleanupSemantic(*diffs);
  if (cleanup == "efficiency") dmp::CleanupEfficiency(*diffs);
  return *diffs;
}

std::string LibraryPatchText(const std::string& a, const std::string& b) {
  Result<dmp::Patches> patches = dmp::PatchMake(a, b);
  EXPECT_TRUE(patches.ok()) << patches.status().ToString();
  return patches.ok() ? dmp::PatchToText(*patches) : "";
}

// --- usage ------------------------------------------------------------------

TEST_F(CliTest, HelpOnEveryCommand) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"},
                                        {"diff", "--help"},
                                        {"make-patch", "--help"},
                                        {"apply", "--help"},
                                        {"match", "-h"}}) {
    SCOPED_TRACE(args.front());
    Outcome run = Diffsync(args);
    EXPECT_EQ(run.exit_code, 0);
    EXPECT_THAT(run.out, HasSubstr("Usage:"));
    EXPECT_THAT(run.out, HasSubstr("UTF-16"));
    EXPECT_EQ(run.err, "");
  }
  EXPECT_THAT(Diffsync({"diff", "--help"}).out, HasSubstr("unified (default"));
}

TEST_F(CliTest, UsageErrorsExit2) {
  Write("a.txt", "a");
  Write("b.txt", "b");
  for (std::vector<std::string> args : {
           std::vector<std::string>{},
           {"frobnicate"},
           {"diff", "a.txt"},
           {"diff", "a.txt", "b.txt", "--format", "xml"},
           {"diff", "a.txt", "b.txt", "--cleanup", "tidy"},
           {"diff", "a.txt", "b.txt", "--timeout", "-1"},
           {"diff", "a.txt", "b.txt", "--timeout", "soon"},
           {"diff", "a.txt", "b.txt", "--bogus"},
           {"make-patch", "a.txt"},
           {"apply", "a.txt"},
           {"apply", "a.txt", "b.txt", "--match-threshold", "1.5"},
           {"match", "a.txt", "a"},
           {"match", "a.txt", "a", "here"},
       }) {
    SCOPED_TRACE(::testing::PrintToString(args));
    Outcome run = Diffsync(args);
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_EQ(run.out, "");
    EXPECT_NE(run.err, "");
  }
}

// --- diff -------------------------------------------------------------------

TEST_F(CliTest, DiffDeltaIsTheDeltaAndOneNewline) {
  Write("a.txt", "The cat sat.");
  Write("b.txt", "The hat sat.");
  Outcome run = Diffsync({"diff", "a.txt", "b.txt", "--format", "delta"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out, "=4\t-1\t+h\t=7\n");
  EXPECT_EQ(run.err, "");
}

TEST_F(CliTest, DiffHtmlAndJson) {
  Write("a.txt", "The cat sat.");
  Write("b.txt", "The hat sat.");
  EXPECT_EQ(Diffsync({"diff", "a.txt", "b.txt", "--format", "html"}).out,
            "<span>The </span><del style=\"background:#ffe6e6;\">c</del>"
            "<ins style=\"background:#e6ffe6;\">h</ins><span>at sat.</span>\n");
  EXPECT_EQ(Diffsync({"diff", "a.txt", "b.txt", "--format", "json"}).out,
            "[[0,\"The \"],[-1,\"c\"],[1,\"h\"],[0,\"at sat.\"]]\n");

  Write("q1.txt", "say \"é\"\\\x01\n\tx");
  Write("q2.txt", "say \"é\"\\\x01\n\ty");
  EXPECT_EQ(Diffsync({"diff", "q1.txt", "q2.txt", "--format", "json"}).out,
            "[[0,\"say \\\"é\\\"\\\\\\u0001\\n\\t\"],[-1,\"x\"],[1,\"y\"]]\n");
}

TEST_F(CliTest, DiffFormatsAndCleanupsMatchTheLibrary) {
  const std::string a = ReadFile(fs::path(kTestData) / "sample_a.txt");
  const std::string b = ReadFile(fs::path(kTestData) / "sample_b.txt");
  ASSERT_FALSE(a.empty()) << "missing " << kTestData << "/sample_a.txt";
  ASSERT_FALSE(b.empty()) << "missing " << kTestData << "/sample_b.txt";
  Write("a.txt", a);
  Write("b.txt", b);
  for (std::string cleanup : {"semantic", "efficiency", "none"}) {
    SCOPED_TRACE(cleanup);
    Diffs diffs = LibraryDiff(a, b, cleanup);
    Outcome delta = Diffsync(
        {"diff", "a.txt", "b.txt", "--format", "delta", "--cleanup", cleanup});
    EXPECT_EQ(delta.exit_code, 0);
    EXPECT_EQ(delta.out, dmp::ToDelta(diffs) + "\n");
    Outcome html = Diffsync(
        {"diff", "a.txt", "b.txt", "--format", "html", "--cleanup", cleanup});
    EXPECT_EQ(html.out, dmp::PrettyHtml(diffs) + "\n");
    Outcome patch = Diffsync(
        {"diff", "a.txt", "b.txt", "--format", "patch", "--cleanup", cleanup});
    Result<dmp::Patches> patches = dmp::PatchMake(a, diffs);
    ASSERT_TRUE(patches.ok());
    EXPECT_EQ(patch.out, dmp::PatchToText(*patches));
  }
  // No deadline gives the same (minimal) diff on texts this small.
  EXPECT_EQ(Diffsync({"diff", "a.txt", "b.txt", "--format", "delta",
                      "--timeout", "0"})
                .out,
            dmp::ToDelta(LibraryDiff(a, b, "semantic")) + "\n");
}

TEST_F(CliTest, DiffUnifiedIsTheDefault) {
  Write("a.txt", "one\ntwo\nthree\n");
  Write("b.txt", "one\n2\nthree\nfour");
  Outcome run = Diffsync({"diff", "a.txt", "b.txt"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out,
            "--- a.txt\n+++ b.txt\n@@ -1,3 +1,4 @@\n one\n-two\n+2\n three\n"
            "+four\n\\ No newline at end of file\n");
  EXPECT_EQ(run.err, "");
  EXPECT_EQ(Diffsync({"diff", "a.txt", "b.txt", "--context", "0"}).out,
            "--- a.txt\n+++ b.txt\n@@ -2 +2 @@\n-two\n+2\n@@ -3,0 +4 @@\n"
            "+four\n\\ No newline at end of file\n");
}

TEST_F(CliTest, DiffOfEqualFiles) {
  Write("a.txt", "same\n");
  Outcome unified = Diffsync({"diff", "a.txt", "a.txt"});
  EXPECT_EQ(unified.exit_code, 0);
  EXPECT_EQ(unified.out, "");
  EXPECT_EQ(Diffsync({"diff", "a.txt", "a.txt", "--format", "delta"}).out,
            "=5\n");
}

TEST_F(CliTest, DiffLinesGivesWholeLineEdits) {
  Write("a.txt", "a\nbc\nd\n");
  Write("b.txt", "a\nbC\nd\n");
  EXPECT_EQ(
      Diffsync({"diff", "a.txt", "b.txt", "--lines", "--format", "json"}).out,
      "[[0,\"a\\n\"],[-1,\"bc\\n\"],[1,\"bC\\n\"],[0,\"d\\n\"]]\n");
  EXPECT_EQ(Diffsync({"diff", "a.txt", "b.txt", "--format", "json"}).out,
            "[[0,\"a\\nb\"],[-1,\"c\"],[1,\"C\"],[0,\"\\nd\\n\"]]\n");
}

TEST_F(CliTest, DiffCountsUtf16Units) {
  Write("a.txt", "😀x");
  Write("b.txt", "😀y");
  EXPECT_EQ(Diffsync({"diff", "a.txt", "b.txt", "--format", "delta"}).out,
            "=2\t-1\t+y\n");
}

TEST_F(CliTest, DiffReadsStdin) {
  Write("b.txt", "The hat sat.");
  Outcome run =
      Diffsync({"diff", "-", "b.txt", "--format", "delta"}, "The cat sat.");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out, "=4\t-1\t+h\t=7\n");
  Outcome twice = Diffsync({"diff", "-", "-"}, "x");
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_THAT(twice.ErrLines(), ElementsAre(HasSubstr("only one input")));
}

// --- make-patch and apply ---------------------------------------------------

TEST_F(CliTest, MakePatchWritesExactlyThePatchText) {
  Write("a.txt", "The cat sat.");
  Write("b.txt", "The hat sat.");
  Outcome run = Diffsync({"make-patch", "a.txt", "b.txt"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out, "@@ -1,9 +1,9 @@\n The \n-c\n+h\n at s\n");
  EXPECT_EQ(run.err, "");

  Write("p1.txt", kPoemA);
  Write("p2.txt", kPoemB);
  EXPECT_EQ(Diffsync({"make-patch", "p1.txt", "p2.txt"}).out,
            LibraryPatchText(kPoemA, kPoemB));
}

TEST_F(CliTest, MakePatchThenApplyReproducesTheNewFile) {
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {kPoemA, kPoemB},
      {ReadFile(fs::path(kTestData) / "sample_a.txt"),
       ReadFile(fs::path(kTestData) / "sample_b.txt")},
      {"no newline at the end", "no newline at the end, still 🙂"},
      {"ends with newline\n", "ends without newline"},
      {"", "from nothing to 😀\n"},
      {"to nothing\n", ""},
      {"😀😃😄😁", "😀😄😁😆"},
  };
  for (const auto& [a, b] : pairs) {
    SCOPED_TRACE(::testing::PrintToString(b));
    Write("a.txt", a);
    Write("b.txt", b);
    Outcome make = Diffsync({"make-patch", "a.txt", "b.txt"});
    ASSERT_EQ(make.exit_code, 0) << make.err;
    Write("patch.txt", make.out);
    Outcome apply = Diffsync({"apply", "patch.txt", "a.txt"});
    EXPECT_EQ(apply.exit_code, 0) << apply.err;
    EXPECT_EQ(apply.out, b);
    // One "applied" line per hunk.
    std::vector<std::string> lines = apply.ErrLines();
    size_t hunks = 0;
    for (size_t at = make.out.find("@@ -"); at != std::string::npos;
         at = make.out.find("\n@@ -", at + 1)) {
      ++hunks;
    }
    ASSERT_EQ(lines.size(), hunks) << apply.err;
    for (size_t i = 0; i < lines.size(); ++i) {
      EXPECT_THAT(lines[i],
                  StartsWith("hunk " + std::to_string(i + 1) + " @@ -"));
      EXPECT_THAT(lines[i], ::testing::EndsWith(" @@: applied"));
    }
  }
}

TEST_F(CliTest, ApplyReportsEachHunk) {
  Write("a.txt", "The cat sat.");
  Write("patch.txt", "@@ -1,9 +1,9 @@\n The \n-c\n+h\n at s\n");
  Outcome run = Diffsync({"apply", "patch.txt", "a.txt"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out, "The hat sat.");
  EXPECT_THAT(run.ErrLines(), ElementsAre("hunk 1 @@ -1,9 +1,9 @@: applied"));
}

TEST_F(CliTest, ApplyWithFailedHunkExits1) {
  const std::string a =
      "Alpha line one.\nBeta line two.\nGamma line three.\n"
      "Delta line four.\nEpsilon line five.\nZeta line six.\n";
  const std::string b =
      "Alpha line ONE.\nBeta line two.\nGamma line three.\n"
      "Delta line four.\nEpsilon line five.\nZeta line SIX.\n";
  // The end of the file has been rewritten since: the second hunk's context
  // is gone.
  const std::string changed =
      "Alpha line one.\nBeta line two.\nGamma line three.\n"
      "Something else entirely now.\n";
  Write("a.txt", a);
  Write("b.txt", b);
  Write("changed.txt", changed);
  Outcome make = Diffsync({"make-patch", "a.txt", "b.txt"});
  ASSERT_EQ(make.exit_code, 0);
  Write("patch.txt", make.out);
  Outcome run = Diffsync({"apply", "patch.txt", "changed.txt"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out,
            "Alpha line ONE.\nBeta line two.\nGamma line three.\n"
            "Something else entirely now.\n");
  std::vector<std::string> lines = run.ErrLines();
  ASSERT_EQ(lines.size(), 2u) << run.err;
  EXPECT_THAT(lines[0], StartsWith("hunk 1 @@ -8,11 +8,11 @@"));
  EXPECT_THAT(lines[0], ::testing::EndsWith(": applied"));
  EXPECT_THAT(lines[1], StartsWith("hunk 2 @@ -"));
  EXPECT_THAT(lines[1], ::testing::EndsWith(": not applied"));

  // Same result as the library's.
  Result<dmp::Patches> patches = dmp::PatchFromText(make.out);
  ASSERT_TRUE(patches.ok());
  Result<dmp::ApplyResult> expected = dmp::PatchApply(*patches, changed);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(run.out, expected->text);
  EXPECT_THAT(expected->applied, ElementsAre(true, false));
}

TEST_F(CliTest, ApplyToOutputFileAndFromStdin) {
  Write("patch.txt", "@@ -1,9 +1,9 @@\n The \n-c\n+h\n at s\n");
  Write("a.txt", "The cat sat.");
  Outcome to_file = Diffsync({"apply", "patch.txt", "a.txt", "-o", "out.txt"});
  EXPECT_EQ(to_file.exit_code, 0);
  EXPECT_EQ(to_file.out, "");
  EXPECT_EQ(Read("out.txt"), "The hat sat.");
  EXPECT_EQ(to_file.ErrLines().size(), 1u);

  Outcome from_stdin = Diffsync({"apply", "patch.txt", "-"}, "The cat sat.");
  EXPECT_EQ(from_stdin.exit_code, 0);
  EXPECT_EQ(from_stdin.out, "The hat sat.");

  Outcome patch_from_stdin =
      Diffsync({"apply", "-", "a.txt"}, Read("patch.txt"));
  EXPECT_EQ(patch_from_stdin.exit_code, 0);
  EXPECT_EQ(patch_from_stdin.out, "The hat sat.");
}

TEST_F(CliTest, ApplyEmptyPatchCopiesTheText) {
  Write("patch.txt", "");
  Write("a.txt", "unchanged ✓");
  Outcome run = Diffsync({"apply", "patch.txt", "a.txt"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out, "unchanged ✓");
  EXPECT_EQ(run.err, "");
}

// --- bad input --------------------------------------------------------------

TEST_F(CliTest, MissingFileIsNamed) {
  Write("a.txt", "x");
  Write("patch.txt", "");
  for (std::vector<std::string> args : {
           std::vector<std::string>{"diff", "a.txt", "missing.txt"},
           {"diff", "missing.txt", "a.txt", "--format", "delta"},
           {"make-patch", "a.txt", "missing.txt"},
           {"apply", "missing.txt", "a.txt"},
           {"apply", "patch.txt", "missing.txt"},
           {"match", "missing.txt", "x", "0"},
       }) {
    SCOPED_TRACE(::testing::PrintToString(args));
    Outcome run = Diffsync(args);
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_EQ(run.out, "");
    EXPECT_THAT(
        run.ErrLines(),
        ElementsAre("diffsync: missing.txt: No such file or directory"));
  }
}

TEST_F(CliTest, DirectoryIsNotAFile) {
  Write("a.txt", "x");
  fs::create_directory(dir_ / "sub");
  Outcome run = Diffsync({"diff", "a.txt", "sub"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.ErrLines(), ElementsAre("diffsync: sub: Is a directory"));
}

TEST_F(CliTest, InvalidUtf8IsNamed) {
  Write("a.txt", "fine");
  Write("bad.txt", "caf\xE9 latin-1\n");
  Write("patch.txt", "@@ -1,9 +1,9 @@\n The \n-c\n+h\n at s\n");
  for (std::vector<std::string> args : {
           std::vector<std::string>{"diff", "a.txt", "bad.txt"},
           {"make-patch", "bad.txt", "a.txt"},
           {"apply", "patch.txt", "bad.txt"},
           {"apply", "bad.txt", "a.txt"},
           {"match", "bad.txt", "x", "0"},
       }) {
    SCOPED_TRACE(::testing::PrintToString(args));
    Outcome run = Diffsync(args);
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_EQ(run.out, "");
    std::vector<std::string> lines = run.ErrLines();
    ASSERT_EQ(lines.size(), 1u) << run.err;
    EXPECT_THAT(lines[0], StartsWith("diffsync: bad.txt"));
    EXPECT_THAT(lines[0], HasSubstr("UTF-8"));
    EXPECT_THAT(lines[0], HasSubstr("3"));  // The offset of the bad byte.
  }
}

TEST_F(CliTest, MalformedPatchIsNamedWithItsLine) {
  Write("a.txt", "The cat sat.");
  Write("patch.txt", "@@ -1,9 +1,9 @@\n The \n-c\n*h\n at s\n");
  Outcome run = Diffsync({"apply", "patch.txt", "a.txt"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.out, "");
  std::vector<std::string> lines = run.ErrLines();
  ASSERT_EQ(lines.size(), 1u) << run.err;
  EXPECT_THAT(lines[0], StartsWith("diffsync: patch.txt: "));
  EXPECT_THAT(lines[0], HasSubstr("line 4"));

  Write("header.txt", "@@ garbage @@\n");
  Outcome bad_header = Diffsync({"apply", "header.txt", "a.txt"});
  EXPECT_EQ(bad_header.exit_code, 2);
  EXPECT_THAT(bad_header.ErrLines(),
              ElementsAre(StartsWith("diffsync: header.txt: ")));
}

TEST_F(CliTest, UnwritableOutputIsNamed) {
  Write("patch.txt", "");
  Write("a.txt", "x");
  Outcome run = Diffsync({"apply", "patch.txt", "a.txt", "-o", "no/such/dir"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.ErrLines(),
              ElementsAre("diffsync: no/such/dir: No such file or directory"));
}

// --- match ------------------------------------------------------------------

TEST_F(CliTest, MatchPrintsTheLocation) {
  Write("model.txt", "I am the very model of a modern major general.");
  Outcome fuzzy = Diffsync(
      {"match", "model.txt", " that berry ", "5", "--match-threshold", "0.7"});
  EXPECT_EQ(fuzzy.exit_code, 0);
  EXPECT_EQ(fuzzy.out, "4\n");
  EXPECT_EQ(fuzzy.err, "");

  Write("abc.txt", "abcdef");
  EXPECT_EQ(Diffsync({"match", "abc.txt", "de", "3"}).out, "3\n");
  EXPECT_EQ(Diffsync({"match", "abc.txt", "abcdef", "1000"}).out, "0\n");

  // Positions count UTF-16 code units: the emoji counts 2.
  Write("emoji.txt", "😀 abc");
  EXPECT_EQ(Diffsync({"match", "emoji.txt", "abc", "0"}).out, "3\n");
}

TEST_F(CliTest, NoMatchExits1) {
  Write("abc.txt", "abcdef");
  Outcome run = Diffsync({"match", "abc.txt", "xyz", "0"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "no match\n");
  EXPECT_EQ(run.err, "");
}

TEST_F(CliTest, OverlongPatternIsBadInput) {
  Write("abc.txt", "abcdef");
  Outcome run = Diffsync(
      {"match", "abc.txt", "a pattern far longer than thirty-two units", "0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.out, "");
  EXPECT_THAT(run.err, StartsWith("diffsync: "));
}

}  // namespace
}  // namespace diffsync::cli
