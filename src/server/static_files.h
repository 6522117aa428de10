// StaticFiles: the browser editor's files, which diffsyncd serves from a web
// root directory (the bundle that web/build.mjs writes, by default
// build/web/). The page is one file, `index.html`, answered at `/` (the
// document list and new-document entry) and at `/d/<name>` (the editor for
// document <name>; the page reads the name from its URL); everything under
// `assets/` is answered at `/assets/...`.
//
// The files are read once, at Load: serving never touches the disk, and a
// path can never reach outside the root (only names Load found are served).
//
// Thread safety: immutable after Load; Find may be called from any thread.
//
// Example:
//   Result<StaticFiles> web = StaticFiles::Load("build/web");
//   if (const StaticFile* f = web->Find("/d/notes")) Send(f->content_type,
//   f->body);
#ifndef DIFFSYNC_SERVER_STATIC_FILES_H_
#define DIFFSYNC_SERVER_STATIC_FILES_H_

#include <map>
#include <string>
#include <string_view>

#include "diffsync/status.h"

namespace diffsync::server {

struct StaticFile {
  std::string content_type;
  std::string body;
};

class StaticFiles {
 public:
  // No files: Find answers nothing.
  StaticFiles() = default;

  // Reads `root`/index.html and every regular file under `root`/assets/.
  // Errors (kNotFound, kInvalidArgument) name the path: a missing root or
  // index.html, an unreadable file.
  static Result<StaticFiles> Load(const std::string& root);

  // The file for a request path (without the query), or null.
  const StaticFile* Find(std::string_view path) const;

  bool empty() const { return files_.empty(); }
  size_t size() const { return files_.size(); }

 private:
  // Keyed by the URL path ("/index.html", "/assets/app.js").
  std::map<std::string, StaticFile, std::less<>> files_;
};

// The Content-Type for a file name, by its extension
// (application/octet-stream for one it does not know).
std::string_view ContentTypeFor(std::string_view file_name);

}  // namespace diffsync::server

#endif  // DIFFSYNC_SERVER_STATIC_FILES_H_
