// One lean WebSocket connection: the opening handshake, then frames read
// from the I/O thread's buffer and messages written as gathered buffers.
// Everything but the Connection calls runs on the session's I/O thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "adapters/lean_ws/ws_protocol.h"
#include "adapters/net/write_queue.h"
#include "adapters/net/write_scheduler.h"
#include "common/connection_quota.h"
#include "services/signaling/gateway/transport.h"

namespace flare::lean_ws {

// How long the peer has to answer or hang up once a close is under way.
inline constexpr std::chrono::seconds kCloseTimeout{5};

// The most one session reads (and so handles) before the thread's other
// sessions get their turn. A peer that sends faster than it is served
// always has this much waiting; with 256 KiB turns, three such peers kept a
// new connection's handshake waiting about a second for each of its steps.
inline constexpr size_t kReadTurn = 16 * 1024;

class Session;

// What the sessions of one I/O thread share.
struct ThreadState {
  ThreadState(boost::asio::io_context& io, const TransportOptions* o, ConnectionHandler* h)
      : scheduler(io), options(o), handler(h), read_buffer(kReadTurn) {}
  WriteScheduler<Session> scheduler;
  const TransportOptions* options;
  ConnectionHandler* handler;
  // Every read of the thread's sessions lands here: one turn's worth.
  std::vector<uint8_t> read_buffer;
};

class Session final : public Connection, public std::enable_shared_from_this<Session> {
 public:
  // `upgrading`: the address's upgrade slot, given back once upgraded.
  Session(boost::asio::ip::tcp::socket socket, uint64_t id, ThreadState* thread,
          QuotaSlot upgrading);
  ~Session() override;
  void Start();

  uint64_t id() const override { return id_; }
  std::string RemoteAddress() const override;
  size_t Send(std::shared_ptr<const std::string> bytes, bool binary) override;
  size_t SendMany(std::vector<std::shared_ptr<const std::string>>& frames, bool binary) override;
  void Close(uint16_t code, std::string reason) override;

  void WriteNext();  // I/O thread; one write in flight at a time

 private:
  enum class State : uint8_t { kHandshake, kOpen, kClosing, kFailed, kDone };
  // The request so far and the answer, until established.
  struct Handshake {
    std::string request;
    std::string response;
  };
  // A frame cut short and a fragmented message so far.
  struct Partial {
    std::string bytes;    // the start of a frame not complete yet
    std::string message;  // the fragments of a message so far
    uint8_t opcode = 0;   // the fragmented message's opcode; 0: none
    Utf8Validator utf8;
  };

  void ReadSoon();
  void WaitReadable();
  void OnReadable(boost::system::error_code ec);
  bool OnBytes(uint8_t* data, size_t n);  // false: stop reading for now
  bool OnHandshakeBytes(const uint8_t* data, size_t n);
  void Answer(std::string response, bool accepted, std::string token);
  void Established(std::string token);
  void Refused();
  void OnFrameBytes(uint8_t* data, size_t n);
  size_t ConsumeFrames(uint8_t* p, size_t n);
  size_t CompletePartial(const uint8_t* data, size_t n);
  void KeepPartial(const uint8_t* p, size_t n);
  void OnDataFrame(const FrameHeader& h, uint8_t* payload);
  void OnControlFrame(uint8_t opcode, const uint8_t* payload, size_t n);
  void Deliver(std::string_view message, bool binary);
  void Fail(uint16_t code);
  bool Reading() const { return state_ == State::kOpen || state_ == State::kClosing; }
  Partial& partial();
  void DropMessage();
  void TidyPartial();

  void OnCloseRequested();  // I/O thread
  void WriteControl(uint8_t opcode, std::string_view payload, bool is_close);
  void OnCloseWritten(boost::system::error_code ec);
  void BuildBuffers();
  void StartTimer(std::chrono::milliseconds after);
  void Finish();

  boost::asio::ip::tcp::socket socket_;
  ThreadState* const thread_;
  const uint64_t id_;
  boost::asio::ip::tcp::endpoint remote_;  // formatted when asked
  std::unique_ptr<Handshake> handshake_;
  // Held until upgraded; apart, so an idle connection pays 8 bytes for it.
  std::unique_ptr<QuotaSlot> upgrading_;
  std::unique_ptr<Partial> partial_;
  std::unique_ptr<boost::asio::steady_timer> timer_;  // handshake, then closing
  std::unique_ptr<std::string> pong_;                 // the pong owed, if any
  WriteQueue writes_;
  // The write in flight.
  std::vector<std::shared_ptr<const std::string>> in_flight_;
  std::vector<boost::asio::const_buffer> buffers_;
  std::string envelope_;  // batching bytes, or a whole control frame
  std::array<uint8_t, 10> header_{};
  State state_ = State::kHandshake;
  bool writing_ = false;
  bool in_flight_binary_ = true;
  bool opened_ = false;
  bool peer_closed_ = false;
  bool close_written_ = false;
  bool close_requested_ = false;  // a close was asked for: its deadline runs
  std::atomic<bool> finished_{false};
};

}  // namespace flare::lean_ws
