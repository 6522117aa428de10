// diffsync: the command-line front end of the DiffSync library.
//
//   diffsync diff A B [--format unified|delta|patch|html|json] [--cleanup ...]
//   diffsync make-patch A B
//   diffsync apply PATCH FILE [-o OUT]
//   diffsync match TEXT_FILE PATTERN LOC
//   diffsync get --server URL --doc NAME
//   diffsync put --server URL --doc NAME [FILE]
//   diffsync sync FILE --server URL --doc NAME [--token T] [--once]
//   diffsync token --doc NAME|--prefix P --right read|read-write
//                  [--expires-in 1h] [--subject S] [--secret-file F]
//
// Exit codes: 0 success; 1 a negative answer (apply: a hunk did not apply,
// match: no match); 2 bad usage or bad input (unreadable or non-UTF-8 file,
// malformed patch, a request the server refused); 3 the server could not be
// reached (nothing was changed); 4 (sync) the server refused the token. This is the one place where exceptions
// (from CLI11) are handled; the library reports through Status.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "diffsync/client/client_id.h"
#include "diffsync/client/http_gateway.h"
#include "diffsync/dmp/diff.h"
#include "diffsync/dmp/match.h"
#include "diffsync/dmp/patch.h"
#include "diffsync/dmp/settings.h"
#include "diffsync/engine/client.h"
#include "diffsync/engine/protocol.h"
#include "diffsync/status.h"
#include "dmp/utf.h"
#include "exit_codes.h"
#include "server/auth.h"
#include "sync_command.h"
#include "unified.h"

namespace diffsync::cli {
namespace {

using dmp::Diffs;
using dmp::Operation;
using dmp::Settings;


constexpr std::string_view kStdio = "-";

std::string DisplayName(std::string_view path) {
  return path == kStdio ? "<stdin>" : std::string(path);
}

int Fail(const Status& status) {
  std::cerr << "diffsync: " << status.message() << "\n";
  return kExitBadInput;
}

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f != stdin && f != stdout) std::fclose(f);
  }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

Status IoError(std::string_view path, int err) {
  return Status::IoError(DisplayName(path) + ": " + std::strerror(err));
}

// The whole content of `path` ("-": standard input), checked to be UTF-8.
Result<std::string> ReadText(const std::string& path) {
  File file(path == kStdio ? stdin : std::fopen(path.c_str(), "rb"));
  if (file == nullptr) return IoError(path, errno);
  std::string data;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) {
    data.append(buffer, n);
  }
  if (std::ferror(file.get())) return IoError(path, errno);
  Status valid = dmp::internal::ValidateUtf8(data, DisplayName(path));
  if (!valid.ok()) return valid;
  return data;
}

// Standard input can be read only once.
Status CheckOneStdin(const std::vector<std::string>& paths) {
  int count = 0;
  for (const std::string& path : paths) count += path == kStdio ? 1 : 0;
  if (count > 1) {
    return Status::InvalidArgument("only one input can be '-' (stdin)");
  }
  return Status::Ok();
}

// Writes `data` exactly to `path` ("-" or empty: standard output).
Status WriteText(const std::string& path, std::string_view data) {
  const bool to_stdout = path.empty() || path == kStdio;
  const std::string name = to_stdout ? "<stdout>" : path;
  File file(to_stdout ? stdout : std::fopen(path.c_str(), "wb"));
  if (file == nullptr) return IoError(name, errno);
  if (std::fwrite(data.data(), 1, data.size(), file.get()) != data.size() ||
      std::fflush(file.get()) != 0) {
    return IoError(name, errno);
  }
  if (!to_stdout && std::fclose(file.release()) != 0) {
    return IoError(name, errno);
  }
  return Status::Ok();
}

void AppendJsonString(std::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += kHex[(c >> 4) & 0xF];
          out += kHex[c & 0xF];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// [[op, text], ...] with op -1 delete, 0 equal, 1 insert (DMP's tuples).
std::string ToJson(const Diffs& diffs) {
  std::string out = "[";
  for (const dmp::Diff& diff : diffs) {
    if (out.size() > 1) out += ',';
    out += '[';
    out += std::to_string(static_cast<int>(diff.operation));
    out += ',';
    AppendJsonString(diff.text, out);
    out += ']';
  }
  out += "]";
  return out;
}

// --- diff ---------------------------------------------------------------

// Reads the two texts a command compares (at most one of them from stdin).
Result<std::pair<std::string, std::string>> ReadPair(const std::string& file1,
                                                     const std::string& file2) {
  if (Status s = CheckOneStdin({file1, file2}); !s.ok()) return s;
  Result<std::string> text1 = ReadText(file1);
  if (!text1.ok()) return text1.status();
  Result<std::string> text2 = ReadText(file2);
  if (!text2.ok()) return text2.status();
  return std::make_pair(std::move(*text1), std::move(*text2));
}

struct DiffArgs {
  std::string file1;
  std::string file2;
  std::string format = "unified";
  std::string cleanup = "semantic";
  bool lines = false;
  int context = 3;
  Settings settings;
};

int RunDiff(const DiffArgs& args) {
  Result<std::pair<std::string, std::string>> texts =
      ReadPair(args.file1, args.file2);
  if (!texts.ok()) return Fail(texts.status());
  const std::string& text1 = texts->first;
  const std::string& text2 = texts->second;

  Result<Diffs> diffs = dmp::DiffMain(text1, text2, args.settings);
  if (!diffs.ok()) return Fail(diffs.status());
  if (args.cleanup == "semantic") {
    dmp::CleanupSemantic(*diffs);
  } else if (args.cleanup == "efficiency") {
    dmp::CleanupEfficiency(*diffs, args.settings);
  }
  if (args.lines) *diffs = WholeLines(*diffs);

  std::string out;
  if (args.format == "unified") {
    out = UnifiedDiff(*diffs, DisplayName(args.file1), DisplayName(args.file2),
                      args.context);
  } else if (args.format == "delta") {
    out = dmp::ToDelta(*diffs) + "\n";
  } else if (args.format == "json") {
    out = ToJson(*diffs) + "\n";
  } else if (args.format == "html") {
    out = dmp::PrettyHtml(*diffs) + "\n";
  } else {
    Result<dmp::Patches> patches =
        dmp::PatchMake(text1, *diffs, args.settings);
    if (!patches.ok()) return Fail(patches.status());
    out = dmp::PatchToText(*patches);
  }
  if (Status s = WriteText("", out); !s.ok()) return Fail(s);
  return kExitOk;
}

// --- make-patch -----------------------------------------------------------

struct MakePatchArgs {
  std::string file1;
  std::string file2;
  Settings settings;
};

int RunMakePatch(const MakePatchArgs& args) {
  Result<std::pair<std::string, std::string>> texts =
      ReadPair(args.file1, args.file2);
  if (!texts.ok()) return Fail(texts.status());
  const std::string& text1 = texts->first;
  const std::string& text2 = texts->second;
  Result<dmp::Patches> patches = dmp::PatchMake(text1, text2, args.settings);
  if (!patches.ok()) return Fail(patches.status());
  if (Status s = WriteText("", dmp::PatchToText(*patches)); !s.ok()) {
    return Fail(s);
  }
  return kExitOk;
}

// --- apply ------------------------------------------------------------------

struct ApplyArgs {
  std::string patch_file;
  std::string file;
  std::string output;
  Settings settings;
};

int RunApply(const ApplyArgs& args) {
  if (Status s = CheckOneStdin({args.patch_file, args.file}); !s.ok()) {
    return Fail(s);
  }
  Result<std::string> patch_text = ReadText(args.patch_file);
  if (!patch_text.ok()) return Fail(patch_text.status());
  Result<dmp::Patches> patches = dmp::PatchFromText(*patch_text);
  if (!patches.ok()) {
    return Fail(patches.status().WithContext(DisplayName(args.patch_file)));
  }
  Result<std::string> text = ReadText(args.file);
  if (!text.ok()) return Fail(text.status());
  Result<dmp::ApplyResult> result =
      dmp::PatchApply(*patches, *text, args.settings);
  if (!result.ok()) {
    return Fail(result.status().WithContext(DisplayName(args.file)));
  }

  bool all_applied = true;
  for (size_t i = 0; i < patches->size(); ++i) {
    const std::string hunk = (*patches)[i].ToString();
    const std::string_view header =
        std::string_view(hunk).substr(0, hunk.find('\n'));
    const bool applied = result->applied[i];
    all_applied = all_applied && applied;
    std::cerr << "hunk " << i + 1 << " " << header << ": "
              << (applied ? "applied" : "not applied") << "\n";
  }
  if (Status s = WriteText(args.output, result->text); !s.ok()) {
    return Fail(s);
  }
  return all_applied ? kExitOk : kExitNegative;
}

// --- match ------------------------------------------------------------------

struct MatchArgs {
  std::string file;
  std::string pattern;
  int64_t loc = 0;
  Settings settings;
};

int RunMatch(const MatchArgs& args) {
  Result<std::string> text = ReadText(args.file);
  if (!text.ok()) return Fail(text.status());
  if (Status s = dmp::internal::ValidateUtf8(args.pattern, "PATTERN");
      !s.ok()) {
    return Fail(s);
  }
  Result<std::optional<int64_t>> found =
      dmp::MatchMain(*text, args.pattern, args.loc, args.settings);
  if (!found.ok()) return Fail(found.status());
  std::string out =
      found->has_value() ? std::to_string(**found) + "\n" : "no match\n";
  if (Status s = WriteText("", out); !s.ok()) return Fail(s);
  return found->has_value() ? kExitOk : kExitNegative;
}

// --- command line -----------------------------------------------------------

// CLI11's NonNegativeNumber names the largest double in its message.
CLI::Validator NonNegative() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        double number;
        if (!CLI::detail::lexical_cast(value, number)) {
          return "not a number: " + value;
        }
        return number >= 0 ? "" : "must be 0 or more, not " + value;
      },
      "NONNEGATIVE");
}

void AddTimeout(CLI::App& cmd, Settings& settings) {
  cmd.add_option("--timeout", settings.diff_timeout,
                 "Seconds the diff may take before settling for a coarser "
                 "(still correct) result; 0 means no deadline")
      ->check(NonNegative());
}

void AddEditCost(CLI::App& cmd, Settings& settings) {
  cmd.add_option("--edit-cost", settings.diff_edit_cost,
                 "Cost of an edit, in characters, for the efficiency cleanup")
      ->check(NonNegative());
}

// A margin of half Match_MaxBits or more leaves no room for a hunk's body.
void AddMargin(CLI::App& cmd, Settings& settings) {
  cmd.add_option("--margin", settings.patch_margin,
                 "Characters of context around each hunk")
      ->check(CLI::Range(0, 15));
}

void AddMatchOptions(CLI::App& cmd, Settings& settings) {
  cmd.add_option("--match-threshold", settings.match_threshold,
                 "How fuzzy a match may be: 0 exact only, 1 anything")
      ->check(CLI::Range(0.0, 1.0));
  cmd.add_option("--match-distance", settings.match_distance,
                 "How far (in characters) from the expected place a match "
                 "may be before it counts as a complete mismatch")
      ->check(NonNegative());
}

constexpr char kUnitsNote[] =
    "Positions and lengths count UTF-16 code units, as diff-match-patch "
    "does.\nA file argument may be '-' for standard input.";

struct RemoteArgs {
  std::string server;
  std::string doc;
  double timeout_seconds = 10;
  std::string token;
  std::string file = std::string(kStdio);  // put: the text to store.
};


int FailRemote(const Status& status) {
  std::cerr << "diffsync: " << status.message() << "\n";
  return status.code() == StatusCode::kUnavailable ? kExitUnreachable
                                                   : kExitBadInput;
}

// One exchange of `block` with the server; the reply's block for it.
Result<engine::DocumentBlock> Exchange(const RemoteArgs& args,
                                       engine::DocumentBlock block) {
  Result<client::HttpGateway> gateway = client::HttpGateway::Parse(args.server);
  if (!gateway.ok()) return gateway.status();
  engine::Message request;
  request.token = args.token;
  request.documents.push_back(std::move(block));
  Result<client::Exchanged> exchanged = gateway->ExchangeMessage(
      request, std::chrono::milliseconds(
                   static_cast<int64_t>(args.timeout_seconds * 1000)));
  if (!exchanged.ok()) return exchanged.status();
  engine::Message* decoded = &exchanged->reply;
  for (const engine::Error& e : decoded->errors) {
    return Status::InvalidArgument("the server refused: " + e.code + " " +
                                   e.message);
  }
  if (decoded->documents.size() != 1) {
    return Status::InvalidArgument("the server's reply has " +
                                   std::to_string(decoded->documents.size()) +
                                   " document blocks, expected 1");
  }
  for (const engine::Error& e : decoded->documents[0].errors) {
    return Status::InvalidArgument("the server refused: " + e.code + " " +
                                   e.message);
  }
  return std::move(decoded->documents[0]);
}

// Prints the document's text. A document nobody wrote reads as empty (and
// exists from then on, as in MobWrite).
int RunGet(const RemoteArgs& args) {
  engine::ClientDocument doc(args.doc);
  engine::DocumentBlock block = doc.MakeRequest();
  block.client_id = client::NewClientId("cli");
  Result<engine::DocumentBlock> reply = Exchange(args, std::move(block));
  if (!reply.ok()) return FailRemote(reply.status());
  Result<engine::ReplyEffects> fx = doc.HandleReply(*reply);
  if (!fx.ok()) return FailRemote(fx.status());
  if (Status s = WriteText("", doc.text().ToString()); !s.ok()) return Fail(s);
  return kExitOk;
}

// Replaces the document's text with FILE's (last writer wins: MobWrite's
// overwrite, `R`).
int RunPut(const RemoteArgs& args) {
  Result<std::string> text = ReadText(args.file);
  if (!text.ok()) return Fail(text.status());
  engine::DocumentBlock block;
  block.client_id = client::NewClientId("cli");
  block.document = args.doc;
  engine::Edit overwrite;
  overwrite.kind = engine::Edit::Kind::kRaw;
  overwrite.overwrite = true;
  overwrite.data = std::move(*text);
  block.edits.push_back(std::move(overwrite));
  Result<engine::DocumentBlock> reply = Exchange(args, std::move(block));
  if (!reply.ok()) return FailRemote(reply.status());
  return kExitOk;
}

constexpr char kTokenHelp[] =
    "Access token (from `diffsync token`), sent with every message as the "
    "protocol's t: line";

void AddToken(CLI::App& command, std::string& token) {
  command.add_option("--token", token, kTokenHelp)
      ->check([](const std::string& t) -> std::string {
        return t.find_first_of("\r\n") == std::string::npos
                   ? ""
                   : "a token cannot hold a line break";
      });
}

void AddRemoteOptions(CLI::App& command, RemoteArgs& args) {
  command.add_option("--server", args.server,
                     "Server URL, e.g. http://127.0.0.1:8080 (its MobWrite "
                     "gateway; path /scripts/q.py unless given)")
      ->required();
  command.add_option("--doc", args.doc, "Document name")->required();
  command.add_option("--timeout", args.timeout_seconds,
                     "Seconds to wait for the server")
      ->check(CLI::PositiveNumber);
  AddToken(command, args.token);
}

struct TokenArgs {
  std::string secret_file;
  std::vector<std::string> documents;
  std::vector<std::string> prefixes;
  std::string right;
  std::string expires_in = "1h";
  std::string subject;
};

// "90", "90s", "15m", "1h", "7d" as seconds.
Result<int64_t> ParseDuration(const std::string& text) {
  size_t used = 0;
  int64_t n = -1;
  try {
    n = std::stoll(text, &used);
  } catch (const std::exception&) {
  }
  const std::string unit = used == 0 ? "" : text.substr(used);
  const int64_t scale = unit.empty() || unit == "s" ? 1
                        : unit == "m"               ? 60
                        : unit == "h"               ? 3600
                        : unit == "d"               ? 86400
                                                    : 0;
  if (used == 0 || n <= 0 || scale == 0 || n > (int64_t{1} << 40) / scale) {
    return Status::InvalidArgument("--expires-in: \"" + text +
                                   "\" is not a positive duration such as "
                                   "90s, 15m, 1h or 7d");
  }
  return n * scale;
}

// Prints a token signed with the server's secret.
int RunToken(const TokenArgs& args) {
  std::string secret;
  if (!args.secret_file.empty()) {
    Result<std::string> read = server::ReadSecretFile(args.secret_file);
    if (!read.ok()) return Fail(read.status());
    secret = std::move(*read);
  } else if (const char* env = std::getenv("DIFFSYNC_SECRET");
             env != nullptr && *env != '\0') {
    if (Status s = server::CheckSecret(env, "DIFFSYNC_SECRET"); !s.ok()) {
      return Fail(s);
    }
    secret = env;
  } else {
    return Fail(Status::InvalidArgument(
        "no secret: give --secret-file FILE (the server's) or set "
        "DIFFSYNC_SECRET"));
  }
  if (args.documents.empty() && args.prefixes.empty()) {
    return Fail(Status::InvalidArgument(
        "the token would cover no document: give --doc NAME or --prefix P"));
  }
  Result<int64_t> valid = ParseDuration(args.expires_in);
  if (!valid.ok()) return Fail(valid.status());
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  server::TokenClaims claims{
      .documents = args.documents,
      .prefixes = args.prefixes,
      .right = args.right == "read" ? server::Right::kRead
                                    : server::Right::kReadWrite,
      .expires = now + *valid,
      .subject = args.subject};
  std::cout << server::MintToken(claims, secret) << "\n";
  return kExitOk;
}

int Main(int argc, char** argv) {
  CLI::App app(
      "Diff, match and patch texts (compatible with Google's "
      "diff-match-patch); read and write documents on a DiffSync server.",
      "diffsync");
  app.option_defaults()->always_capture_default();
  app.require_subcommand(1);
  app.footer(std::string(kUnitsNote) +
             "\nExit status: 0 success, 1 a hunk did not apply / no match, "
             "2 bad usage or input (or a request the server refused), 3 the "
             "server could not be reached, 4 (sync) the server refused the "
             "token (nothing changed, local edits kept).");

  DiffArgs diff_args;
  CLI::App* diff = app.add_subcommand(
      "diff",
      "Show the differences between files A and B.\n"
      "Formats: unified (default; GNU-style, by lines, 3 lines of context), "
      "delta (diff-match-patch delta and one newline), patch "
      "(diff-match-patch patch text of this diff), html (prettyHtml and one "
      "newline), json ([[op, text], ...] with op -1 delete, 0 equal, "
      "1 insert, and one newline).");
  diff->add_option("A", diff_args.file1, "Old text")->required();
  diff->add_option("B", diff_args.file2, "New text")->required();
  diff->add_option("--format", diff_args.format, "Output format")
      ->check(CLI::IsMember({"unified", "delta", "patch", "html", "json"}));
  diff->add_option("--cleanup", diff_args.cleanup,
                   "Cleanup after the diff: semantic (readable), efficiency "
                   "(fewer edit operations), none (minimal diff)")
      ->check(CLI::IsMember({"semantic", "efficiency", "none"}));
  diff->add_flag("--lines", diff_args.lines, "Widen every edit to whole lines");
  diff->add_option("--context", diff_args.context,
                   "Unchanged lines around each hunk (unified format)")
      ->check(NonNegative());
  AddTimeout(*diff, diff_args.settings);
  AddEditCost(*diff, diff_args.settings);
  diff->footer(kUnitsNote);

  MakePatchArgs make_args;
  CLI::App* make_patch = app.add_subcommand(
      "make-patch",
      "Write the diff-match-patch patch text that turns A into B "
      "(patch_toText(patch_make(A, B)), nothing added).");
  make_patch->add_option("A", make_args.file1, "Old text")->required();
  make_patch->add_option("B", make_args.file2, "New text")->required();
  AddTimeout(*make_patch, make_args.settings);
  AddEditCost(*make_patch, make_args.settings);
  AddMargin(*make_patch, make_args.settings);
  make_patch->footer(kUnitsNote);

  ApplyArgs apply_args;
  CLI::App* apply = app.add_subcommand(
      "apply",
      "Apply a diff-match-patch patch to FILE, fuzzily if FILE has changed. "
      "Writes exactly the patched text, and one line per hunk to stderr "
      "saying whether it applied. Exit status 1 if any hunk did not.");
  apply->add_option("PATCH", apply_args.patch_file, "Patch text")->required();
  apply->add_option("FILE", apply_args.file, "Text to patch")->required();
  apply->add_option("-o,--output", apply_args.output,
                    "Write the patched text here instead of stdout");
  AddMatchOptions(*apply, apply_args.settings);
  apply
      ->add_option("--delete-threshold",
                   apply_args.settings.patch_delete_threshold,
                   "How much of a large deletion must match for it to apply "
                   "(0 exactly, 1 anything)")
      ->check(CLI::Range(0.0, 1.0));
  AddMargin(*apply, apply_args.settings);
  apply->footer(kUnitsNote);

  MatchArgs match_args;
  CLI::App* match = app.add_subcommand(
      "match",
      "Find PATTERN in TEXT_FILE near LOC (fuzzy, Bitap). Prints the "
      "location, or \"no match\" with exit status 1.");
  match->add_option("TEXT_FILE", match_args.file, "Text to search")->required();
  match
      ->add_option("PATTERN", match_args.pattern,
                   "Pattern (at most 32 UTF-16 code units unless found "
                   "verbatim at LOC)")
      ->required();
  match->add_option("LOC", match_args.loc, "Expected location")
      ->required()
      ->check(NonNegative());
  AddMatchOptions(*match, match_args.settings);
  match->footer(kUnitsNote);

  RemoteArgs get_args;
  CLI::App* get = app.add_subcommand(
      "get", "Print the text of a document on a DiffSync server.");
  AddRemoteOptions(*get, get_args);

  RemoteArgs put_args;
  CLI::App* put = app.add_subcommand(
      "put",
      "Replace the text of a document on a DiffSync server with FILE's "
      "(last writer wins; other clients receive it as an edit).");
  AddRemoteOptions(*put, put_args);
  put->add_option("FILE", put_args.file, "Text to store ('-': stdin)");

  SyncArgs sync_args;
  CLI::App* sync = app.add_subcommand(
      "sync",
      "Keep FILE in step with a document on a DiffSync server, offline-first: "
      "edits made while the server is unreachable (or while this command is "
      "not running) are kept in a state file beside FILE and merged when it "
      "is back. Saves of FILE are sent at once; over a WebSocket the server "
      "pushes other clients' edits as they happen (without one, the HTTP "
      "gateway is polled every --interval). Reconnects with exponential "
      "backoff. Runs until interrupted; --once syncs and exits.");
  sync->add_option("FILE", sync_args.file, "The local file")->required();
  sync->add_option("--server", sync_args.server,
                   "Server URL: http://HOST:PORT (WebSocket at /ws, HTTP "
                   "gateway at /scripts/q.py unless a path is given) or "
                   "ws://HOST:PORT[/PATH]")
      ->required();
  sync->add_option("--doc", sync_args.doc, "Document name")->required();
  AddToken(*sync, sync_args.token);
  sync->add_option("--transport", sync_args.transport,
                   "auto: a WebSocket, else (if the server declines one) the "
                   "HTTP gateway; ws or http: only that one")
      ->check(CLI::IsMember({"auto", "ws", "http"}));
  sync->add_option("--state", sync_args.state,
                   "State file (default .diffsync/FILE.state.json beside FILE)");
  sync->add_flag("--once", sync_args.once,
                 "Sync once and exit (3 if the server is unreachable)");
  sync->add_option("--interval", sync_args.interval_seconds,
                   "Seconds between polls of the server over the HTTP "
                   "gateway (a WebSocket needs none)")
      ->check(CLI::PositiveNumber);
  sync->add_option("--timeout", sync_args.timeout_seconds,
                   "Seconds to wait for the server")
      ->check(CLI::PositiveNumber);
  sync->add_flag("--events", sync_args.events,
                 "Print one JSON line per reply or push handled (and per "
                 "lost connection) on stdout");

  TokenArgs token_args;
  CLI::App* token = app.add_subcommand(
      "token",
      "Print an access token for diffsyncd, signed with its secret "
      "(HMAC-SHA256): which documents it opens (--doc, exact names; "
      "--prefix, names starting so; both repeatable), whether it may change "
      "them, and for how long. A client id belongs to the token's subject "
      "(or, without one, to the token) that first used it.");
  token->add_option("--secret-file", token_args.secret_file,
                    "The server's secret (else DIFFSYNC_SECRET)");
  token->add_option("--doc", token_args.documents, "A document it opens");
  token->add_option("--prefix", token_args.prefixes,
                    "Documents whose names start with this ('' for all)");
  token->add_option("--right", token_args.right, "read or read-write")
      ->required()
      ->check(CLI::IsMember({"read", "read-write"}));
  token->add_option("--expires-in", token_args.expires_in,
                    "How long it is valid: 90s, 15m, 1h, 7d");
  token->add_option("--subject", token_args.subject,
                    "Who holds it (every token of one subject is one "
                    "identity)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitBadInput;
  }

  if (*sync) return RunSync(sync_args);
  if (*token) return RunToken(token_args);
  if (*get) return RunGet(get_args);
  if (*put) return RunPut(put_args);
  if (*diff) return RunDiff(diff_args);
  if (*make_patch) return RunMakePatch(make_args);
  if (*apply) return RunApply(apply_args);
  return RunMatch(match_args);
}

}  // namespace
}  // namespace diffsync::cli

int main(int argc, char** argv) {
  try {
    return diffsync::cli::Main(argc, argv);
  } catch (const std::bad_alloc&) {
    std::cerr << "diffsync: out of memory\n";
  } catch (const std::exception& e) {
    std::cerr << "diffsync: " << e.what() << "\n";
  }
  return diffsync::cli::kExitBadInput;
}
