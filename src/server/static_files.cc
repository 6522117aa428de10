#include "server/static_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace diffsync::server {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kIndex = "/index.html";

Result<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return Status::InvalidArgument("web root: cannot read " + path.string());
  }
  return out.str();
}

}  // namespace

std::string_view ContentTypeFor(std::string_view file_name) {
  struct Type {
    std::string_view extension;
    std::string_view content_type;
  };
  static constexpr Type kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".map", "application/json"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const Type& type : kTypes) {
    if (file_name.ends_with(type.extension)) return type.content_type;
  }
  return "application/octet-stream";
}

Result<StaticFiles> StaticFiles::Load(const std::string& root) {
  const fs::path base(root);
  std::error_code ec;
  if (!fs::is_regular_file(base / "index.html", ec)) {
    return Status::NotFound("web root: no index.html in " + root);
  }
  StaticFiles files;
  auto add = [&](const fs::path& path, std::string url) -> Status {
    Result<std::string> body = ReadFile(path);
    if (!body.ok()) return body.status();
    files.files_[std::move(url)] = {std::string(ContentTypeFor(path.string())),
                                    std::move(*body)};
    return Status::Ok();
  };
  if (Status s = add(base / "index.html", std::string(kIndex)); !s.ok()) {
    return s;
  }
  const fs::path assets = base / "assets";
  if (fs::is_directory(assets, ec)) {
    for (auto it = fs::recursive_directory_iterator(assets, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      const std::string relative =
          fs::relative(it->path(), base, ec).generic_string();
      if (ec) break;
      if (Status s = add(it->path(), "/" + relative); !s.ok()) return s;
    }
    if (ec) {
      return Status::InvalidArgument("web root: cannot list " +
                                     assets.string() + ": " + ec.message());
    }
  }
  return files;
}

const StaticFile* StaticFiles::Find(std::string_view path) const {
  if (files_.empty()) return nullptr;
  // The page routes itself: the document list at "/", an editor at "/d/…".
  if (path == "/" || (path.starts_with("/d/") && path.size() > 3)) {
    path = kIndex;
  }
  auto it = files_.find(path);
  return it == files_.end() ? nullptr : &it->second;
}

}  // namespace diffsync::server
