// The write-side bookkeeping of one WebSocket connection: frames queued by
// any thread, the one write in flight, the close request and the end of the
// connection. No Beast here, so the orderings the I/O thread can produce
// (a write completing after the connection finished, for one) are unit-tested
// without a socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "services/signaling/gateway/transport.h"

namespace flare {

class WriteQueue {
 public:
  // What a sender learns: the bytes now queued, and whether it must start
  // the writer (schedule WriteNext on the I/O thread).
  struct Queued {
    size_t bytes = 0;
    bool start_writer = false;
  };
  enum class Next { kWrite, kClose, kIdle };
  struct CloseRequest {
    uint16_t code = 1000;
    std::string reason;
  };

  explicit WriteQueue(const FrameBatching* batching) : batching_(batching) {}

  // Thread-safe.
  Queued Push(std::shared_ptr<const std::string> frame, bool binary);
  Queued PushMany(std::vector<std::shared_ptr<const std::string>>& frames, bool binary);
  // Asks for a close frame after what is queued; true when the caller must
  // start the writer. Later requests are ignored.
  bool RequestClose(uint16_t code, std::string reason);

  // I/O thread. The handshake finished: writes may start. True when the
  // caller must run the writer now (frames or a close were queued before).
  bool Open();
  // I/O thread, with the writer started. kWrite: `frames` (cleared first)
  // holds the next batch, all of encoding `binary`. kClose: send `close`,
  // once. kIdle: nothing to do; the writer stops until the next Push.
  Next TakeNext(std::vector<std::shared_ptr<const std::string>>& frames, bool& binary,
                CloseRequest& close);
  // I/O thread: the write TakeNext returned has completed (either way).
  void WriteCompleted();
  // Any thread: the connection is gone. Drops what is queued; later pushes
  // are refused and the writer stops at its next TakeNext.
  void Finish();

  size_t queued_bytes() const;

 private:
  void TakeBatch(std::vector<std::shared_ptr<const std::string>>& frames, bool& binary);
  bool Fits(size_t taken, size_t taken_bytes, size_t next_bytes) const;

  struct Outgoing {
    std::shared_ptr<const std::string> bytes;
    bool binary;
  };
  const FrameBatching* batching_;
  mutable std::mutex mu_;        // guards the fields below
  std::vector<Outgoing> queue_;  // a vector: an empty std::deque still costs ~600 bytes
  size_t queue_head_ = 0;        // frames before it were taken
  size_t queued_bytes_ = 0;      // queued and in flight
  size_t in_flight_bytes_ = 0;
  bool writing_ = false;
  bool open_ = false;
  bool closing_ = false;
  bool close_sent_ = false;
  bool finished_ = false;
  CloseRequest close_;
};

}  // namespace flare
