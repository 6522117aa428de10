// diffsync_load: many WebSocket clients against a running diffsyncd, each
// making a small edit and syncing at a fixed rate, over many documents.
// Reports syncs/s, round-trip latency percentiles (request sent to reply
// received, which includes the server's wait for durability), bytes per
// sync, pushes, the server's memory per connected client, and CPU time per
// sync of the generator itself and (with --server-pid) of the server, with
// the load average before and after: on a shared machine CPU time judges a
// change better than latency does.
//
//   diffsync_load --port 8080 --clients 10000 --documents 1000 --rate 1
//       --seconds 30 --server-pid $(pgrep diffsyncd)
//
// Latency is reported twice: over the whole run, and over the steady
// state only (requests sent from one period after the last client
// connected), which leaves out the connection storm at the start.
//
// --converge runs the other scenario of docs/benchmarks.md: all clients on
// one document edit for --seconds, stop, and every client syncs once more;
// it reports whether all texts then agree and how long that took.
//
// Each client is a real engine::ClientDocument speaking the protocol of
// docs/PROTOCOL.md: a push that arrives while its request is outstanding is
// ignored (the server rolls that view back), otherwise applied.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "diffsync/engine/client.h"
#include "diffsync/engine/protocol.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  int clients = 100;
  int documents = 10;
  double rate = 1.0;  // Syncs per second per client.
  double seconds = 10;
  int threads = 1;
  int server_pid = 0;
  bool converge = false;
  uint32_t seed = 1;
};

// Log-linear latency histogram in microseconds (16 sub-buckets per power
// of two): exact merging across threads, ~4% resolution.
class Histogram {
 public:
  void Add(int64_t micros) {
    ++counts_[Bucket(std::max<int64_t>(micros, 1))];
    ++total_;
  }
  void Merge(const Histogram& o) {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
  }
  double Percentile(double p) const {
    const int64_t rank = static_cast<int64_t>(std::ceil(p * total_));
    int64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank && counts_[i] > 0) return Upper(i) / 1000.0;
    }
    return 0;
  }
  int64_t total() const { return total_; }

 private:
  static size_t Bucket(int64_t v) {
    const int exp = 63 - __builtin_clzll(static_cast<uint64_t>(v));
    if (exp < 4) return static_cast<size_t>(v);
    const int64_t mantissa = (v >> (exp - 4)) & 15;
    return static_cast<size_t>(16 + (exp - 4) * 16 + mantissa);
  }
  static double Upper(size_t b) {
    if (b < 16) return static_cast<double>(b);
    const int exp = static_cast<int>((b - 16) / 16) + 4;
    const int64_t mantissa = static_cast<int64_t>((b - 16) % 16);
    return static_cast<double>((16 + mantissa + 1) << (exp - 4));
  }
  std::array<int64_t, 16 + 60 * 16> counts_{};
  int64_t total_ = 0;
};

struct Stats {
  Histogram rtt;
  Histogram steady_rtt;
  int64_t syncs = 0;
  int64_t bytes_out = 0;
  int64_t bytes_in = 0;
  int64_t pushes_applied = 0;
  int64_t pushes_ignored = 0;
  int64_t errors = 0;
  int64_t connected = 0;
};

bool IsPush(const diffsync::engine::Message& m) {
  for (const auto& block : m.documents) {
    for (const auto& meta : block.metadata) {
      if (meta.key == "push") return true;
    }
  }
  return false;
}

// When every client has connected (or failed to): the steady state starts
// one period later. Shared by the generator's threads.
struct Settling {
  Settling(int clients, std::chrono::microseconds one_period)
      : remaining(clients), period(one_period) {}
  // Called once per client when its connection attempt ends.
  void Settled() {
    if (remaining.fetch_sub(1) == 1) {
      all_connected_at.store(Clock::now().time_since_epoch().count());
    }
  }
  bool done() const { return all_connected_at.load() != 0; }
  Clock::time_point all_connected() const {
    return Clock::time_point(Clock::duration(all_connected_at.load()));
  }
  Clock::time_point steady_from() const { return all_connected() + period; }
  bool IsSteady(Clock::time_point sent) const {
    return done() && sent >= steady_from();
  }
  std::atomic<int> remaining;
  const std::chrono::microseconds period;
  std::atomic<Clock::rep> all_connected_at{0};
};

// --converge: the clients wait here after their last edit, then each syncs
// once more.
struct Barrier {
  explicit Barrier(asio::io_context& io, int n) : remaining(n), timer(io) {
    timer.expires_at(Clock::time_point::max());
  }
  int remaining;
  asio::steady_timer timer;
  Clock::time_point released;
  int finished = 0;
  Clock::time_point last_reply;
};

// One client. Callbacks rather than coroutines (the generator shares the
// server's cores, so its own cost per sync matters): the read loop takes
// each reply and schedules the next edit on the client's one timer; the
// timer makes the edit and writes the request.
class LoadClient : public std::enable_shared_from_this<LoadClient> {
 public:
  LoadClient(asio::io_context& io, const Options& options, Stats& stats,
             int index, const std::string& run, std::string document,
             Clock::time_point until, Barrier* barrier, Settling& settling)
      : options_(options),
        stats_(stats),
        ws_(io),
        tick_(io),
        doc_(std::move(document)),
        id_("load-" + run + "-" + std::to_string(index)),
        rng_(options.seed * 7919u + static_cast<uint32_t>(index)),
        until_(until),
        barrier_(barrier),
        settling_(settling),
        period_(settling.period) {}

  static asio::awaitable<void> Connect(std::shared_ptr<LoadClient> self) {
    const tcp::endpoint endpoint(asio::ip::make_address(self->options_.host),
                                 self->options_.port);
    auto [ec] = co_await beast::get_lowest_layer(self->ws_).async_connect(
        endpoint, kNoThrow);
    if (!ec) {
      std::tie(ec) = co_await self->ws_.async_handshake(self->options_.host,
                                                        "/ws", kNoThrow);
    }
    self->settling_.Settled();
    if (ec) {
      ++self->stats_.errors;
      self->closed_ = true;
      self->EndEditing();
      co_return;
    }
    ++self->stats_.connected;
    self->connected_ = true;
    asio::co_spawn(self->ws_.get_executor(), ReadLoop(self), asio::detached);
    // Spread the clients' phases over one period.
    std::uniform_real_distribution<double> phase(0, 1.0 / self->options_.rate);
    self->next_ = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(
                                     phase(self->rng_) * 1e6));
    self->Schedule();
  }

  const diffsync::engine::ClientDocument& document() const { return doc_; }

 private:
  void Schedule() {
    tick_.expires_at(next_);
    tick_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->Tick();
    });
  }

  void Tick() {
    if (closed_ || Clock::now() >= until_) {
      EndEditing();
      return;
    }
    const int64_t size = doc_.text().size16();
    std::uniform_int_distribution<int64_t> pos(0, size);
    (void)doc_.Replace(pos(rng_), 0, "x");
    SendRequest();
  }

  // One request; its reply comes through the read loop.
  void SendRequest() {
    diffsync::engine::Message request;
    request.documents.push_back(doc_.MakeRequest());
    request.documents.back().client_id = id_;
    auto wire = diffsync::engine::EncodeMessage(request);
    if (!wire.ok()) {
      ++stats_.errors;
      Close();
      return;
    }
    wire_ = std::move(*wire);
    awaiting_ = true;
    sent_ = Clock::now();
    ws_.async_write(asio::buffer(wire_),
                    [self = shared_from_this()](beast::error_code ec, size_t n) {
                      if (ec) {
                        ++self->stats_.errors;
                        self->Close();
                        return;
                      }
                      self->stats_.bytes_out += static_cast<int64_t>(n);
                    });
  }

  void OnReply(const diffsync::engine::Message& reply) {
    awaiting_ = false;
    const int64_t rtt = std::chrono::duration_cast<std::chrono::microseconds>(
                            Clock::now() - sent_)
                            .count();
    stats_.rtt.Add(rtt);
    if (settling_.IsSteady(sent_)) stats_.steady_rtt.Add(rtt);
    ++stats_.syncs;
    if (!reply.documents.empty() &&
        !doc_.HandleReply(reply.documents[0]).ok()) {
      ++stats_.errors;
    }
    if (final_sync_) {
      ++barrier_->finished;
      barrier_->last_reply = Clock::now();
      Close();
      return;
    }
    // Behind schedule (a slow reply): go on from now rather than send a
    // burst, so the offered load stays at --rate.
    next_ = std::max(next_ + period_, Clock::now());
    Schedule();
  }

  // After the last edit: close, or (--converge) wait for every client to
  // get here and sync once more.
  void EndEditing() {
    if (editing_done_) return;
    editing_done_ = true;
    if (barrier_ == nullptr) {
      Close();
      return;
    }
    if (--barrier_->remaining == 0) {
      barrier_->released = Clock::now();
      barrier_->timer.cancel();
      FinalSync();
    } else {
      barrier_->timer.async_wait(
          [self = shared_from_this()](beast::error_code) { self->FinalSync(); });
    }
  }

  void FinalSync() {
    if (closed_) return;
    final_sync_ = true;
    SendRequest();
  }

  void Close() {
    if (closed_ && !connected_) return;
    closed_ = true;
    if (!connected_) return;
    connected_ = false;
    ws_.async_close(websocket::close_code::normal,
                    [self = shared_from_this()](beast::error_code) {
                      beast::error_code ignored;
                      beast::get_lowest_layer(self->ws_).close(ignored);
                    });
  }

  static asio::awaitable<void> ReadLoop(std::shared_ptr<LoadClient> self) {
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, n] = co_await self->ws_.async_read(buffer, kNoThrow);
      if (ec) break;
      self->stats_.bytes_in += static_cast<int64_t>(n);
      const asio::const_buffer data = buffer.cdata();
      auto message = diffsync::engine::DecodeMessage(
          std::string_view(static_cast<const char*>(data.data()), data.size()));
      buffer.consume(buffer.size());
      if (!message.ok()) {
        ++self->stats_.errors;
        continue;
      }
      if (IsPush(*message)) {
        if (self->awaiting_) {
          ++self->stats_.pushes_ignored;
        } else {
          ++self->stats_.pushes_applied;
          if (!self->doc_.HandleReply(message->documents.at(0)).ok()) {
            ++self->stats_.errors;
          }
        }
        continue;
      }
      if (self->awaiting_) self->OnReply(*message);
    }
    self->closed_ = true;
    self->connected_ = false;
    self->awaiting_ = false;
    self->tick_.cancel();
    // If the connection broke, this client is done (a --converge run still
    // counts it at the barrier).
    self->EndEditing();
  }

  const Options& options_;
  Stats& stats_;
  websocket::stream<tcp::socket> ws_;  // No per-operation timer.
  asio::steady_timer tick_;
  diffsync::engine::ClientDocument doc_;
  std::string id_;
  std::mt19937 rng_;
  const Clock::time_point until_;
  Barrier* const barrier_;
  Settling& settling_;
  const std::chrono::microseconds period_;
  Clock::time_point next_;
  Clock::time_point sent_;
  std::string wire_;  // The request being written.
  bool connected_ = false;
  bool awaiting_ = false;
  bool final_sync_ = false;
  bool editing_done_ = false;
  bool closed_ = false;
};

int64_t RssKiB(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

// CPU seconds (user + system) this process has used.
double OwnCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// CPU seconds (user + system) process `pid` has used, or -1.
double ProcessCpuSeconds(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return -1;
  // Fields after the command name, which is in parentheses and may hold
  // spaces: state is field 3, utime 14 and stime 15.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i >= 14) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

int RunLoad(const Options& options) {
  const int64_t rss_before = options.server_pid ? RssKiB(options.server_pid) : -1;
  const std::string load_before = LoadAverage();
  const double own_cpu_before = OwnCpuSeconds();
  const double server_cpu_before =
      options.server_pid ? ProcessCpuSeconds(options.server_pid) : -1;
  std::vector<Stats> stats(static_cast<size_t>(options.threads));
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<std::vector<std::shared_ptr<LoadClient>>> clients(
      static_cast<size_t>(options.threads));
  std::unique_ptr<Barrier> barrier;
  Settling settling(
      options.clients,
      std::chrono::microseconds(static_cast<int64_t>(1e6 / options.rate)));
  // Client ids are unique per run: an id names a client's state.
  const std::string run = std::to_string(
      std::chrono::system_clock::now().time_since_epoch().count() % 1000000007);
  const auto start = Clock::now();
  const auto until =
      start + std::chrono::milliseconds(static_cast<int64_t>(
                  options.seconds * 1000 + options.clients / 2));
  for (int t = 0; t < options.threads; ++t) {
    ios.push_back(std::make_unique<asio::io_context>(1));
  }
  if (options.converge) barrier = std::make_unique<Barrier>(*ios[0], options.clients);
  for (int i = 0; i < options.clients; ++i) {
    const size_t t = static_cast<size_t>(i % options.threads);
    auto client = std::make_shared<LoadClient>(
        *ios[t], options, stats[t], i, run,
        "load-doc-" + std::to_string(i % options.documents), until,
        barrier.get(), settling);
    clients[t].push_back(client);
    asio::co_spawn(*ios[t], LoadClient::Connect(client), asio::detached);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < options.threads; ++t) {
    threads.emplace_back([&, t] { ios[static_cast<size_t>(t)]->run(); });
  }
  // The server's memory while every client is connected: sampled at the
  // middle of the run.
  int64_t rss_connected = -1;
  if (options.server_pid) {
    std::this_thread::sleep_until(start + (until - start) / 2);
    rss_connected = RssKiB(options.server_pid);
  }
  for (auto& th : threads) th.join();
  const double elapsed =
      std::chrono::duration<double>(Clock::now() - start).count();
  const double own_cpu = OwnCpuSeconds() - own_cpu_before;
  const double server_cpu =
      options.server_pid ? ProcessCpuSeconds(options.server_pid) - server_cpu_before
                         : -1;

  Stats total;
  for (const Stats& s : stats) {
    total.rtt.Merge(s.rtt);
    total.steady_rtt.Merge(s.steady_rtt);
    total.syncs += s.syncs;
    total.bytes_in += s.bytes_in;
    total.bytes_out += s.bytes_out;
    total.pushes_applied += s.pushes_applied;
    total.pushes_ignored += s.pushes_ignored;
    total.errors += s.errors;
    total.connected += s.connected;
  }
  std::cout << "clients " << options.clients << " (connected "
            << total.connected << ") documents " << options.documents
            << " rate " << options.rate << "/s threads " << options.threads
            << "\n"
            << "syncs " << total.syncs << " in " << elapsed
            << " s = " << total.syncs / options.seconds << " syncs/s\n"
            << "rtt ms p50 " << total.rtt.Percentile(0.50) << " p99 "
            << total.rtt.Percentile(0.99) << " p99.9 "
            << total.rtt.Percentile(0.999) << "\n";
  if (settling.done()) {
    const auto since_start = [&](Clock::time_point t) {
      return std::chrono::duration<double>(t - start).count();
    };
    std::cout << "steady state from " << since_start(settling.steady_from())
              << " s (all connected at "
              << since_start(settling.all_connected())
              << " s): " << total.steady_rtt.total() << " syncs, rtt ms p50 "
              << total.steady_rtt.Percentile(0.50) << " p99 "
              << total.steady_rtt.Percentile(0.99) << " p99.9 "
              << total.steady_rtt.Percentile(0.999) << "\n";
  }
  std::cout << "bytes per sync (request + reply + pushes) "
            << static_cast<double>(total.bytes_in + total.bytes_out) /
                   std::max<int64_t>(total.syncs, 1)
            << "\npushes applied " << total.pushes_applied << " ignored "
            << total.pushes_ignored << "\nerrors " << total.errors << "\n";
  // CPU time per sync, immune to waiting for a core on a shared machine
  // (not to sharing its caches); the generator's includes connecting.
  const double per_sync = 1e6 / static_cast<double>(std::max<int64_t>(total.syncs, 1));
  std::cout << "cpu us per sync: generator " << own_cpu * per_sync;
  if (server_cpu >= 0) std::cout << " server " << server_cpu * per_sync;
  std::cout << "\nload average before " << load_before << " after "
            << LoadAverage() << "\n";
  int status = total.errors == 0 && total.connected == options.clients ? 0 : 1;
  if (barrier) {
    std::set<std::string> texts;
    for (const auto& c : clients[0]) texts.insert(c->document().text().ToString());
    const bool converged = texts.size() == 1 && barrier->finished == options.clients;
    std::cout << "converge: " << barrier->finished << " final syncs, "
              << texts.size() << " distinct texts ("
              << (converged ? "converged" : "NOT converged") << ") in "
              << std::chrono::duration<double, std::milli>(barrier->last_reply -
                                                           barrier->released)
                     .count()
              << " ms after the last edit\n";
    if (!converged) status = 1;
  }
  if (rss_before >= 0 && rss_connected >= 0) {
    std::cout << "server RSS KiB before " << rss_before << " after "
              << rss_connected << " = "
              << static_cast<double>(rss_connected - rss_before) /
                     std::max<int64_t>(total.connected, 1)
              << " KiB per client\n";
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"diffsync_load: WebSocket load against diffsyncd"};
  app.add_option("--host", options.host);
  app.add_option("--port", options.port)->required();
  app.add_option("--clients", options.clients)->check(CLI::PositiveNumber);
  app.add_option("--documents", options.documents)->check(CLI::PositiveNumber);
  app.add_option("--rate", options.rate, "Syncs per second per client")
      ->check(CLI::PositiveNumber);
  app.add_option("--seconds", options.seconds)->check(CLI::PositiveNumber);
  app.add_option("--threads", options.threads)->check(CLI::Range(1, 64));
  app.add_option("--server-pid", options.server_pid,
                 "diffsyncd's pid, to report its memory per client");
  app.add_option("--seed", options.seed);
  app.add_flag("--converge", options.converge,
               "All clients on one document; after the last edit each syncs "
               "once more and all texts must agree");
  CLI11_PARSE(app, argc, argv);
  if (options.converge) {
    options.documents = 1;
    options.threads = 1;
  }
  return RunLoad(options);
}
