#include "diffsync/client/file_sync.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "diffsync/client/client_id.h"
#include "diffsync/dmp/patch.h"
#include "diffsync/engine/protocol.h"
#include "dmp/utf.h"

namespace diffsync::client {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxCycles = 4;

// The file's content; nullopt if it does not exist.
Result<std::optional<std::string>> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Status::IoError(path + ": " + std::strerror(errno));
  }
  std::ostringstream data;
  data << in.rdbuf();
  if (in.bad()) return Status::IoError(path + ": read failed");
  std::string text = std::move(data).str();
  if (Status s = dmp::internal::ValidateUtf8(text, path); !s.ok()) return s;
  return std::optional<std::string>(std::move(text));
}

// The permission bits the file has (0644 for a new one), kept by rewrites.
int ModeOf(const std::string& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return 0644;
  return static_cast<int>(status.permissions() & fs::perms::mask);
}


}  // namespace

FileSync::FileSync(FileSyncOptions options, HttpGateway gateway,
                   SyncState state, engine::ClientDocument doc)
    : options_(std::move(options)),
      gateway_(std::move(gateway)),
      state_(std::move(state)),
      doc_(std::move(doc)) {}

Result<FileSync> FileSync::Open(FileSyncOptions options) {
  Result<HttpGateway> gateway = HttpGateway::Parse(options.server);
  if (!gateway.ok()) return gateway.status();
  std::error_code ec;
  const fs::path file = fs::absolute(options.file, ec);
  if (ec) return Status::InvalidArgument(options.file + ": " + ec.message());
  if (options.state_path.empty()) {
    options.state_path =
        (file.parent_path() / ".diffsync" /
         (file.filename().string() + ".state.json"))
            .string();
  }
  Result<SyncState> loaded = LoadStateFile(options.state_path);
  if (loaded.ok()) {
    if (loaded->server_url != gateway->url() ||
        loaded->document != options.document ||
        loaded->file_path != file.string()) {
      return Status::FailedPrecondition(
          options.state_path + " belongs to " + loaded->file_path + " synced with " +
          loaded->server_url + " document \"" + loaded->document +
          "\"; give another --state or remove it to start over");
    }
    Result<engine::ClientDocument> doc =
        engine::ClientDocument::Restore(loaded->client);
    if (!doc.ok()) return doc.status().WithContext(options.state_path);
    return FileSync(std::move(options), std::move(*gateway), std::move(*loaded),
                    std::move(*doc));
  }
  if (loaded.status().code() != StatusCode::kNotFound) return loaded.status();
  fs::create_directories(fs::path(options.state_path).parent_path(), ec);
  if (ec) {
    return Status::IoError(options.state_path + ": " + ec.message());
  }
  SyncState state;
  state.server_url = gateway->url();
  state.document = options.document;
  state.client_id = NewClientId("file");
  state.file_path = file.string();
  engine::ClientDocument doc(options.document);
  state.client = doc.SaveState();
  return FileSync(std::move(options), std::move(*gateway), std::move(state),
                  std::move(doc));
}

Status FileSync::Save() {
  state_.client = doc_.SaveState();
  return SaveStateFile(options_.state_path, state_);
}

Result<FileSyncReport> FileSync::SyncOnce() {
  FileSyncReport report;
  for (int cycle = 0; cycle < kMaxCycles; ++cycle) {
    Result<std::optional<std::string>> file = ReadFile(options_.file);
    if (!file.ok()) return file.status();
    const bool joined = state_.client.joined;
    if (!file->has_value()) {
      if (joined) {
        return Status::FailedPrecondition(
            options_.file + " was deleted; nothing was sent. Its last synced "
            "text is kept in " + options_.state_path +
            " (restore the file to go on, or remove the state to start over)");
      }
      *file = std::string();  // Not created yet: the document's text goes there.
    }
    const std::string& read = **file;
    if (read != state_.last_written_text) {
      doc_.SetText(*engine::Text::FromUtf8(read));  // The user's edit.
    }
    engine::Message request;
    request.documents.push_back(doc_.MakeRequest());
    request.documents.back().client_id = state_.client_id;
    // The request's edits are saved before they leave: if we stop now, the
    // next run sends them again and the server recognises them.
    if (Status s = Save(); !s.ok()) return s;
    Result<Exchanged> exchanged =
        gateway_.ExchangeMessage(request, options_.timeout);
    if (!exchanged.ok()) {
      if (exchanged.status().code() != StatusCode::kUnavailable) {
        return exchanged.status();
      }
      report.online = false;
      report.pending_edits = doc_.pending_edits();
      return report;
    }
    report.online = true;
    report.bytes_sent += static_cast<int64_t>(exchanged->bytes_sent);
    report.bytes_received += static_cast<int64_t>(exchanged->bytes_received);
    const engine::Message* decoded = &exchanged->reply;
    for (const engine::Error& e : decoded->errors) {
      report.errors.push_back(e.code + ": " + e.message);
    }
    for (const engine::DocumentBlock& block : decoded->documents) {
      if (block.document != options_.document) continue;
      Result<engine::ReplyEffects> fx = doc_.HandleReply(block);
      if (!fx.ok()) return fx.status();
      for (std::string& hunk : fx->dropped_hunks) {
        report.dropped_hunks.push_back(std::move(hunk));
      }
      // The server's reports of our hunks it dropped (c: lines) repeat until
      // acknowledged: each is told once.
      for (const engine::Conflict& c : fx->conflicts) {
        if (std::find(report.dropped_hunks.begin(), report.dropped_hunks.end(),
                      c.hunk) == report.dropped_hunks.end()) {
          report.dropped_hunks.push_back(c.hunk);
        }
      }
      for (const engine::Error& e : fx->errors) {
        report.errors.push_back(e.code + ": " + e.message);
      }
    }
    if (Status s = Save(); !s.ok()) return s;

    std::string merged = doc_.text().ToString();
    if (merged != read) {
      if (!joined && !read.empty()) {
        // Joining a document that already has other text: the server's wins
        // (there is no common base to merge); what the file held is kept
        // beside it.
        if (Status s = WriteFileAtomically(options_.file + ".local", read,
                                           ModeOf(options_.file));
            !s.ok()) {
          return s;
        }
        report.errors.push_back("joined: the document's text replaced " +
                                options_.file + "; its old content is in " +
                                options_.file + ".local");
      }
      // The user may have saved again while we talked to the server: merge
      // that edit into the result instead of overwriting it.
      Result<std::optional<std::string>> now = ReadFile(options_.file);
      if (!now.ok()) return now.status();
      if (now->has_value() && **now != read) {
        Result<dmp::Patches> edit = dmp::PatchMake(read, **now);
        if (!edit.ok()) return edit.status();
        Result<dmp::ApplyResult> applied = dmp::PatchApply(*edit, merged);
        if (!applied.ok()) return applied.status();
        merged = std::move(applied->text);
        doc_.SetText(*engine::Text::FromUtf8(merged));
      }
      if (Status s = WriteFileAtomically(options_.file, merged,
                                         ModeOf(options_.file));
          !s.ok()) {
        return s;
      }
      report.file_written = true;
    }
    state_.last_written_text = merged;
    if (Status s = Save(); !s.ok()) return s;
    report.pending_edits = doc_.pending_edits();
    // Done when the server has acknowledged everything and nothing typed
    // (or merged in) is waiting to be sent.
    if (doc_.in_sync() && doc_.pending_edits() == 0 &&
        doc_.text() == doc_.shadow()) {
      break;
    }
  }
  return report;
}

}  // namespace diffsync::client
