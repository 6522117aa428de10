#include "diffsync/client/file_sync.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "diffsync/client/client_id.h"
#include "diffsync/client/state_file.h"
#include "diffsync/dmp/patch.h"
#include "dmp/utf.h"

namespace diffsync::client {
namespace {

namespace fs = std::filesystem;

// The file's content; nullopt if it does not exist.
Result<std::optional<std::string>> ReadFile(const std::string& path) {
  // A directory opens as a stream that reads nothing: it would pass for an
  // empty file.
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!ec && fs::exists(status) && !fs::is_regular_file(status)) {
    return Status::IoError(path + ": not a regular file");
  }
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

Result<std::unique_ptr<FileSync>> FileSync::Open(FileSyncOptions options) {
  std::error_code ec;
  const fs::path file = fs::absolute(options.file, ec);
  if (ec) return Status::InvalidArgument(options.file + ": " + ec.message());
  if (options.state_path.empty()) {
    options.state_path = (file.parent_path() / ".diffsync" /
                          (file.filename().string() + ".state.json"))
                             .string();
  }
  std::unique_ptr<FileSync> sync(new FileSync(options));
  FileSync* self = sync.get();
  ClientEvents events;
  events.on_conflict = [self](const Conflict& c) {
    self->report_.dropped_hunks.push_back(c.hunk);
  };
  events.on_error = [self](const Status& e) {
    self->report_.errors.push_back(e.message());
  };
  events.on_synced = [self](const SyncEvent& e) { self->OnSynced(e); };
  events.on_connection = options.on_connection;
  ClientOptions client_options;
  client_options.server = options.server;
  client_options.document = options.document;
  client_options.token = options.token;
  client_options.state_path = options.state_path;
  client_options.local_path = file.string();
  client_options.client_id = NewClientId("file");
  client_options.websocket = options.websocket;
  client_options.http_fallback = options.http_fallback;
  client_options.timeout = options.timeout;
  client_options.poll_interval = options.poll_interval;
  Result<std::unique_ptr<Client>> client =
      Client::Open(std::move(client_options), std::move(events));
  if (!client.ok()) return client.status();
  sync->client_ = std::move(*client);
  sync->joined_ = sync->client_->joined();
  return sync;
}

Status FileSync::ReadLocal() {
  Result<std::optional<std::string>> file = ReadFile(options_.file);
  if (!file.ok()) return file.status();
  if (!file->has_value()) {
    if (client_->joined()) {
      return Status::FailedPrecondition(
          options_.file +
          " was deleted; nothing was sent. Its last synced "
          "text is kept in " +
          options_.state_path +
          " (restore the file to go on, or remove the state to start over)");
    }
    // Not created yet: the document's text goes there.
    return Status::Ok();
  }
  if (**file == client_->written_text()) return Status::Ok();
  // The user's edit; from now on the text the file is known to hold.
  if (Status s = client_->SetText(**file); !s.ok()) return s;
  client_->SetWrittenText(std::move(**file));
  return Status::Ok();
}

Status FileSync::WriteBack() {
  const std::string& written = client_->written_text();
  std::string merged = client_->text().ToString();
  if (!joined_ && client_->joined()) {
    joined_ = true;
    if (!written.empty() && merged != written) {
      // Joining a document that already has other text: the server's wins
      // (there is no common base to merge); what the file held is kept
      // beside it.
      if (Status s = WriteFileAtomically(options_.file + ".local", written,
                                         ModeOf(options_.file));
          !s.ok()) {
        return s;
      }
      report_.errors.push_back("joined: the document's text replaced " +
                               options_.file + "; its old content is in " +
                               options_.file + ".local");
    }
  }
  if (merged == written) return Status::Ok();
  // The user may have saved again since we read the file: merge that edit
  // into the result instead of overwriting it.
  Result<std::optional<std::string>> now = ReadFile(options_.file);
  if (!now.ok()) return now.status();
  if (now->has_value() && **now != written) {
    Result<dmp::Patches> edit = dmp::PatchMake(written, **now);
    if (!edit.ok()) return edit.status();
    Result<dmp::ApplyResult> applied = dmp::PatchApply(*edit, merged);
    if (!applied.ok()) return applied.status();
    merged = std::move(applied->text);
    if (Status s = client_->SetText(merged); !s.ok()) return s;
  }
  if (Status s =
          WriteFileAtomically(options_.file, merged, ModeOf(options_.file));
      !s.ok()) {
    return s;
  }
  report_.file_written = true;
  client_->SetWrittenText(std::move(merged));
  return Status::Ok();
}

void FileSync::OnSynced(const SyncEvent& event) {
  stepped_ = true;
  report_.online = true;
  report_.push = report_.push || event.push;
  report_.bytes_sent += event.bytes_sent;
  report_.bytes_received += event.bytes_received;
  if (step_error_.ok()) step_error_ = WriteBack();
  report_.pending_edits = client_->pending_edits();
}

Result<FileSyncReport> FileSync::SyncOnce() {
  report_ = {};
  file_changed_ = false;
  if (Status s = ReadLocal(); !s.ok()) return s;
  Result<bool> online = client_->SyncNow();
  if (!online.ok()) return online.status();
  if (!step_error_.ok()) return std::exchange(step_error_, Status::Ok());
  report_.online = *online;
  report_.pending_edits = client_->pending_edits();
  if (report_.file_written) {
    // What was written into the file, for the next run.
    if (Status s = client_->Save(); !s.ok()) return s;
  }
  return std::move(report_);
}

Result<std::optional<FileSyncReport>> FileSync::Poll(
    std::chrono::milliseconds max_wait) {
  if (file_changed_) {
    file_changed_ = false;
    if (Status s = ReadLocal(); !s.ok()) return s;
  }
  report_ = {};
  stepped_ = false;
  if (Status s = client_->Poll(max_wait); !s.ok()) return s;
  if (!step_error_.ok()) return std::exchange(step_error_, Status::Ok());
  if (!stepped_) return std::optional<FileSyncReport>();
  return std::optional<FileSyncReport>(std::move(report_));
}

}  // namespace diffsync::client
