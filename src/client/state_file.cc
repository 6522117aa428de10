#include "diffsync/client/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <utility>

#include "dmp/utf.h"

namespace diffsync::client {
namespace {

namespace json = boost::json;
using engine::ClientState;
using engine::Edit;

constexpr std::string_view kFormatName = "diffsync-sync-state";

// ---- Writing ----

Status CheckUtf8(std::string_view text, std::string_view field) {
  return dmp::internal::ValidateUtf8(text, field).WithContext("state file");
}

json::object EditToJson(const Edit& edit) {
  json::object o;
  o["kind"] = edit.kind == Edit::Kind::kDelta ? "delta" : "raw";
  o["overwrite"] = edit.overwrite;
  o["version"] = edit.version;
  o["data"] = edit.data;
  if (edit.checksum.has_value()) o["checksum"] = *edit.checksum;
  return o;
}

json::object ClientToJson(const ClientState& c) {
  json::object o;
  o["text"] = c.text;
  o["shadow"] = c.shadow;
  o["confirmed"] = c.confirmed;
  o["client_version"] = c.client_version;
  o["server_version"] = c.server_version;
  o["delta_ok"] = c.delta_ok;
  o["joined"] = c.joined;
  o["rebase"] = c.rebase;
  if (c.local_delta.has_value()) {
    o["local_delta"] = *c.local_delta;
  } else {
    o["local_delta"] = nullptr;
  }
  json::array stack;
  for (const Edit& edit : c.edit_stack) stack.push_back(EditToJson(edit));
  o["edit_stack"] = std::move(stack);
  return o;
}

// ---- Reading ----

// "state file: WHERE: PROBLEM", or without WHERE for the top level.
Status Corrupt(std::string_view where, std::string_view problem) {
  std::string message = "state file: ";
  if (!where.empty()) message += std::string(where) + ": ";
  return Status::Corruption(message + std::string(problem));
}

// Reads the keys of one JSON object into values. The first problem is kept
// (naming the key by its path in the file, e.g.
// "client.edit_stack[2].version") and later reads do nothing, so a caller
// reads every key and checks status() once.
class Reader {
 public:
  Reader(const json::object& object, std::string path)
      : object_(object), path_(std::move(path)) {}

  const Status& status() const { return status_; }

  // Refuses keys other than `known`: a file with keys we do not know was not
  // written by this version, and reading it would drop them silently.
  void OnlyKeys(std::initializer_list<std::string_view> known) {
    for (const auto& [key, value] : object_) {
      bool found = false;
      for (std::string_view k : known) found = found || k == key;
      if (!found) Fail("", "unknown key \"" + std::string(key) + "\"");
    }
  }

  void String(std::string_view key, std::string& out) {
    const json::value* v = Get(key);
    if (v == nullptr) return;
    const json::string* s = v->if_string();
    if (s == nullptr) return Fail(key, "not a string");
    out.assign(s->data(), s->size());
  }

  void OptionalString(std::string_view key, std::optional<std::string>& out) {
    const json::value* v = Get(key);
    if (v == nullptr) return;
    if (v->is_null()) return out.reset();
    const json::string* s = v->if_string();
    if (s == nullptr) return Fail(key, "neither a string nor null");
    out.emplace(s->data(), s->size());
  }

  void Bool(std::string_view key, bool& out) {
    const json::value* v = Get(key);
    if (v == nullptr) return;
    const bool* b = v->if_bool();
    if (b == nullptr) return Fail(key, "not true or false");
    out = *b;
  }

  // Any integer that fits int64_t; the engine checks the range it needs.
  void Int(std::string_view key, int64_t& out) {
    const json::value* v = Get(key);
    if (v == nullptr) return;
    if (const int64_t* i = v->if_int64()) {
      out = *i;
    } else if (const uint64_t* u = v->if_uint64();
               u != nullptr && *u <= static_cast<uint64_t>(INT64_MAX)) {
      out = static_cast<int64_t>(*u);
    } else {
      Fail(key, "not an integer in the 64-bit range");
    }
  }

  // Null after a failure.
  const json::object* Object(std::string_view key) {
    const json::value* v = Get(key);
    if (v == nullptr) return nullptr;
    if (!v->is_object()) Fail(key, "not an object");
    return v->if_object();
  }

  const json::array* Array(std::string_view key) {
    const json::value* v = Get(key);
    if (v == nullptr) return nullptr;
    if (!v->is_array()) Fail(key, "not an array");
    return v->if_array();
  }

  void Fail(std::string_view key, std::string_view problem) {
    if (!status_.ok()) return;
    std::string where = path_;
    if (!key.empty()) where += (where.empty() ? "" : ".") + std::string(key);
    status_ = Corrupt(where, problem);
  }

  void Fail(const Status& status) {
    if (status_.ok()) status_ = status;
  }

 private:
  const json::value* Get(std::string_view key) {
    if (!status_.ok()) return nullptr;
    const json::value* v = object_.if_contains(key);
    if (v == nullptr) Fail(key, "missing");
    return v;
  }

  const json::object& object_;
  std::string path_;
  Status status_;
};

Result<Edit> EditFromJson(const json::value& value, const std::string& path) {
  const json::object* o = value.if_object();
  if (o == nullptr) return Corrupt(path, "not an object");
  Reader r(*o, path);
  r.OnlyKeys({"kind", "overwrite", "version", "data", "checksum"});
  Edit edit;
  std::string kind;
  r.String("kind", kind);
  r.Bool("overwrite", edit.overwrite);
  r.Int("version", edit.version);
  r.String("data", edit.data);
  if (o->contains("checksum")) {
    int64_t checksum = 0;
    r.Int("checksum", checksum);
    if (checksum < 0 || checksum > int64_t{UINT32_MAX}) {
      r.Fail("checksum", "not a 32-bit unsigned number");
    }
    edit.checksum = static_cast<uint32_t>(checksum);
  }
  if (kind == "raw") {
    edit.kind = Edit::Kind::kRaw;
  } else if (kind != "delta") {
    r.Fail("kind", "\"" + kind + "\" is neither delta nor raw");
  }
  if (!r.status().ok()) return r.status();
  return edit;
}

Result<ClientState> ClientFromJson(const json::object& o) {
  Reader r(o, "client");
  r.OnlyKeys({"text", "shadow", "confirmed", "client_version", "server_version",
              "delta_ok", "joined", "rebase", "local_delta", "edit_stack"});
  ClientState c;
  r.String("text", c.text);
  r.String("shadow", c.shadow);
  r.String("confirmed", c.confirmed);
  r.Int("client_version", c.client_version);
  r.Int("server_version", c.server_version);
  r.Bool("delta_ok", c.delta_ok);
  r.Bool("joined", c.joined);
  r.Bool("rebase", c.rebase);
  r.OptionalString("local_delta", c.local_delta);
  const json::array* stack = r.Array("edit_stack");
  if (!r.status().ok()) return r.status();
  for (size_t i = 0; i < stack->size(); ++i) {
    Result<Edit> edit = EditFromJson(
        (*stack)[i], "client.edit_stack[" + std::to_string(i) + "]");
    if (!edit.ok()) return edit.status();
    c.edit_stack.push_back(std::move(*edit));
  }
  return c;
}

// ---- Files ----

Status IoError(const std::string& what, int error) {
  return Status::IoError(what + ": " + std::strerror(error));
}

// Returns 0 or the errno of the write that failed.
int WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Result<std::string> FormatStateFile(const SyncState& state) {
  if (state.client.document != state.document) {
    return Status::InvalidArgument(
        "state file: client.document \"" + state.client.document +
        "\" differs from document \"" + state.document + "\"");
  }
  const std::pair<std::string_view, std::string_view> strings[] = {
      {"server_url", state.server_url},
      {"document", state.document},
      {"client_id", state.client_id},
      {"file_path", state.file_path},
      {"last_written_text", state.last_written_text},
      {"client.text", state.client.text},
      {"client.shadow", state.client.shadow},
      {"client.confirmed", state.client.confirmed},
      {"client.local_delta", state.client.local_delta.has_value()
                                 ? std::string_view(*state.client.local_delta)
                                 : std::string_view()},
  };
  for (const auto& [field, text] : strings) {
    if (Status s = CheckUtf8(text, field); !s.ok()) return s;
  }
  for (size_t i = 0; i < state.client.edit_stack.size(); ++i) {
    if (Status s =
            CheckUtf8(state.client.edit_stack[i].data,
                      "client.edit_stack[" + std::to_string(i) + "].data");
        !s.ok()) {
      return s;
    }
  }
  json::object o;
  o["format"] = kFormatName;
  o["version"] = kStateFileVersion;
  o["server_url"] = state.server_url;
  o["document"] = state.document;
  o["client_id"] = state.client_id;
  o["file_path"] = state.file_path;
  o["last_written_text"] = state.last_written_text;
  o["client"] = ClientToJson(state.client);
  std::string out = json::serialize(o);
  out += '\n';
  return out;
}

Result<SyncState> ParseStateFile(std::string_view text) {
  json::parse_options options;
  options.max_depth = 8;  // The format nests 4 deep.
  json::parser parser({}, options);
  json::error_code ec;
  const size_t parsed = parser.write(text.data(), text.size(), ec);
  if (ec) {
    return Corrupt("JSON", ec.message() + " at byte " + std::to_string(parsed));
  }
  const json::value root = parser.release();
  const json::object* o = root.if_object();
  if (o == nullptr) return Corrupt("JSON", "not an object");
  Reader r(*o, "");
  std::string format;
  r.String("format", format);
  if (r.status().ok() && format != kFormatName) {
    r.Fail("format",
           "\"" + format + "\" is not \"" + std::string(kFormatName) + "\"");
  }
  int64_t version = 0;
  r.Int("version", version);
  if (r.status().ok() && version != kStateFileVersion) {
    r.Fail(Status::FailedPrecondition("state file: version " +
                                      std::to_string(version) +
                                      " (this diffsync reads version " +
                                      std::to_string(kStateFileVersion) + ")"));
  }
  r.OnlyKeys({"format", "version", "server_url", "document", "client_id",
              "file_path", "last_written_text", "client"});
  SyncState state;
  r.String("server_url", state.server_url);
  r.String("document", state.document);
  r.String("client_id", state.client_id);
  r.String("file_path", state.file_path);
  r.String("last_written_text", state.last_written_text);
  const json::object* client = r.Object("client");
  if (!r.status().ok()) return r.status();
  Result<ClientState> client_state = ClientFromJson(*client);
  if (!client_state.ok()) return client_state.status();
  state.client = std::move(*client_state);
  state.client.document = state.document;
  return state;
}

Status WriteFileAtomically(const std::string& path, std::string_view contents,
                           int mode) {
  const std::string tmp = path + ".tmp";
  // O_NOFOLLOW: a symlink planted at the temporary name is not written
  // through.
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
             static_cast<mode_t>(mode));
  if (fd < 0) return IoError("creating " + tmp, errno);
  // Until the rename, a failure leaves the old file as it was.
  auto fail = [&](const std::string& what, int error, bool close_fd) {
    if (close_fd) ::close(fd);
    ::unlink(tmp.c_str());
    return IoError(what, error);
  };
  // A leftover temporary file keeps its old mode through O_CREAT.
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
    return fail("setting the mode of " + tmp, errno, true);
  }
  if (int error = WriteAll(fd, contents); error != 0) {
    return fail("writing " + tmp, error, true);
  }
  if (::fsync(fd) != 0) return fail("syncing " + tmp, errno, true);
  if (::close(fd) != 0) return fail("closing " + tmp, errno, false);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail("renaming " + tmp + " to " + path, errno, false);
  }
  // The rename is durable only once the directory entry is.
  const std::string dir = DirectoryOf(path);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return IoError("opening directory " + dir, errno);
  const int synced = ::fsync(dir_fd);
  const int error = errno;
  ::close(dir_fd);
  if (synced != 0) return IoError("syncing directory " + dir, error);
  return Status::Ok();
}

Status SaveStateFile(const std::string& path, const SyncState& state) {
  Result<std::string> text = FormatStateFile(state);
  if (!text.ok()) return text.status();
  return WriteFileAtomically(path, *text);
}

Result<SyncState> LoadStateFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return Status::NotFound("state file " + path + " does not exist");
    }
    return IoError("opening " + path, errno);
  }
  std::string text;
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      return IoError("reading " + path, error);
    }
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  Result<SyncState> state = ParseStateFile(text);
  if (!state.ok()) return state.status().WithContext(path);
  return state;
}

}  // namespace diffsync::client
