// diffsync_file_trace: one client keeps a file in sync with a running
// diffsyncd (client::FileSync, as `diffsync sync` does) while a real editing
// trace is typed into the file: every --every keystrokes the file is saved
// and synced. Reports end-to-end time, syncs, and bytes on the wire; checks
// that the server's document ends equal to the trace's final text.
//
//   diffsync_file_trace --server http://127.0.0.1:8080 --every 100
//       [--transport ws|http]
//       [--trace ../shared/data/traces/sequential/automerge-paper.json.gz]
#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "diffsync/client/file_sync.h"
#include "diffsync/client/http_gateway.h"
#include "diffsync/engine/client.h"
#include "diffsync/engine/text.h"
#include "engine/trace.h"

namespace {

using diffsync::engine::Text;

bool Save(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  std::string server;
  std::string trace_path = std::string(DIFFSYNC_SHARED_DATA_DIR) +
                           "/traces/sequential/automerge-paper.json.gz";
  int every = 100;
  std::string transport = "ws";
  CLI::App app{
      "diffsync_file_trace: an editing trace typed into a synced file"};
  app.add_option("--server", server, "http://HOST:PORT of a diffsyncd")
      ->required();
  app.add_option("--trace", trace_path);
  app.add_option("--every", every, "Keystrokes per save and sync")
      ->check(CLI::PositiveNumber);
  app.add_option("--transport", transport, "ws (WebSocket) or http (gateway)")
      ->check(CLI::IsMember({"ws", "http"}));
  CLI11_PARSE(app, argc, argv);

  auto trace = diffsync::engine::LoadTrace(trace_path);
  if (!trace.ok()) {
    std::cerr << trace.status().ToString() << "\n";
    return 2;
  }
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("diffsync_file_trace_" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "paper.txt").string();
  const std::string document = "trace-" + dir.filename().string();
  Text text = *Text::FromUtf8(trace->start_content);
  Save(file, text.ToString());
  diffsync::client::FileSyncOptions options;
  options.file = file;
  options.server = server;
  options.document = document;
  options.websocket = transport == "ws";
  options.http_fallback = false;
  auto sync = diffsync::client::FileSync::Open(options);
  if (!sync.ok()) {
    std::cerr << sync.status().ToString() << "\n";
    return 2;
  }
  int64_t syncs = 0, sent = 0, received = 0;
  const auto start = std::chrono::steady_clock::now();
  auto step = [&]() -> bool {
    auto report = (*sync)->SyncOnce();
    if (!report.ok() || !report->online) {
      std::cerr << "sync failed: "
                << (report.ok() ? "offline" : report.status().ToString())
                << "\n";
      return false;
    }
    ++syncs;
    sent += report->bytes_sent;
    received += report->bytes_received;
    return true;
  };
  if (!step()) return 1;
  size_t edit = 0;
  for (size_t txn = 0; txn < trace->txn_ends.size(); ++txn) {
    for (; edit < trace->txn_ends[txn]; ++edit) {
      const auto& e = trace->edits[edit];
      text = std::move(text).Replace(e.pos16, e.del16, e.insert);
    }
    if ((txn + 1) % static_cast<size_t>(every) == 0 ||
        txn + 1 == trace->txn_ends.size()) {
      if (!Save(file, text.ToString()) || !step()) return 1;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  // The server's copy, read by a fresh client.
  diffsync::engine::ClientDocument reader(document);
  diffsync::engine::Message request;
  request.documents.push_back(reader.MakeRequest());
  request.documents.back().client_id = "reader-" + dir.filename().string();
  auto gateway = diffsync::client::HttpGateway::Parse(server);
  auto exchanged = gateway->ExchangeMessage(request, std::chrono::seconds(30));
  const bool equal = exchanged.ok() && !exchanged->reply.documents.empty() &&
                     reader.HandleReply(exchanged->reply.documents[0]).ok() &&
                     reader.text().Equals(trace->end_content);
  std::cout << "transport " << transport << "\n"
            << "trace " << trace_path << ": " << trace->txn_ends.size()
            << " keystrokes, a save and sync every " << every << "\n"
            << syncs << " syncs in " << seconds << " s ("
            << seconds * 1000 / static_cast<double>(syncs) << " ms per sync)\n"
            << "bytes sent " << sent << ", received " << received << " ("
            << static_cast<double>(sent + received) /
                   static_cast<double>(trace->txn_ends.size())
            << " per keystroke)\n"
            << "server text equals the trace's final text: "
            << (equal ? "yes" : "NO") << "\n";
  std::filesystem::remove_all(dir);
  return equal ? 0 : 1;
}
