// Clock: where the engine reads the time (view expiry, timestamps), so tests
// can drive time by hand.
//
// Thread safety: SystemClock is thread-safe; ManualClock is not.
//
// Example:
//   diffsync::engine::ManualClock clock;
//   clock.Advance(std::chrono::hours(24));
#ifndef DIFFSYNC_ENGINE_CLOCK_H_
#define DIFFSYNC_ENGINE_CLOCK_H_

#include <chrono>
#include <cstdint>

namespace diffsync::engine {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowMillis() = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMillis() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_millis = 0) : now_(start_millis) {}
  int64_t NowMillis() override { return now_; }
  void Advance(std::chrono::milliseconds d) { now_ += d.count(); }

 private:
  int64_t now_;
};

}  // namespace diffsync::engine

#endif  // DIFFSYNC_ENGINE_CLOCK_H_
