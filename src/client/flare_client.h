// The Flare C++ client library: authenticates, sends with retry (the same
// client_msg_id across reconnects, so a retry never makes a second message),
// acks pushes, reconnects with backoff and keeps every conversation gap- and
// duplicate-free by syncing whenever a seq is missing — also when a live
// push overtakes a sync in flight.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "flare/client/v1/client.pb.h"

namespace flare {

namespace pb = ::flare::client::v1;

struct ClientOptions {
  // How the client reaches the gateway: WebSocket (ws://host:port/ws) or
  // QUIC (UDP host:port, ALPN "flare/1", docs/protocol.md).
  enum class Transport { kWebSocket, kQuic };
  Transport transport = Transport::kWebSocket;
  // QUIC: by default the server's certificate must chain to the system's
  // CAs and name `host`. quic_pinned_cert_file: accept exactly the
  // certificate in this PEM file instead (a server's development
  // certificate, <data_dir>/quic-dev-cert.pem). quic_insecure: accept any
  // certificate — development only, anyone on the path can read the session.
  std::string quic_pinned_cert_file;
  bool quic_insecure = false;
  std::string host = "127.0.0.1";
  uint16_t port = 8081;
  std::string token;
  bool json = false;          // text frames with proto3 JSON instead of protobuf
  bool fetch_history = true;  // sync conversations from seq 0 on first sight
  bool auto_ack = true;       // ack pushes as they are delivered to the application
  int64_t request_timeout_ms = 15'000;
  int64_t backoff_min_ms = 50;
  int64_t backoff_max_ms = 3'000;
  int sync_page = 200;
  // Other gateways of the same cluster on `host`: after a lost connection
  // (a gateway that died or drained with going_away) the client tries the
  // next one in turn, `port` included.
  std::vector<uint16_t> failover_ports;
};

class FlareClient {
 public:
  // Called on the client's I/O thread, once per (conversation, seq), in seq
  // order within a conversation.
  using MessageHandler = std::function<void(const pb::Message&)>;
  // Server-initiated frames other than pushes (going_away, errors without a
  // request id).
  using FrameHandler = std::function<void(const pb::ServerFrame&)>;

  explicit FlareClient(ClientOptions options);
  ~FlareClient();
  FlareClient(const FlareClient&) = delete;
  FlareClient& operator=(const FlareClient&) = delete;

  // Install (or, with an empty function, remove) a handler. Safe while
  // connected: the change is made on the I/O thread, and once the call
  // returns the previous handler is not running and is never called again.
  // Not to be called from inside a handler.
  void OnMessage(MessageHandler handler);
  void OnFrame(FrameHandler handler);

  // Connects and authenticates; afterwards the client reconnects by itself.
  Status Connect();
  void Close();
  // Drops the connection and stays offline, keeping what it has received;
  // Reconnect() comes back and catches up.
  void Disconnect();
  Status Reconnect();

  // Sends and waits for the SendAck, retrying across reconnects until the
  // request timeout. A missing client_msg_id is generated.
  Result<pb::SendAck> Send(pb::SendRequest request);
  Result<pb::SendAck> SendText(const std::string& peer_user_id, const std::string& text);
  Result<pb::SyncResult> Sync(const std::string& conversation_id, int64_t after_seq, int limit);
  // Every conversation of this user: fetches bootstrap pages until the last.
  Result<pb::BootstrapResult> Bootstrap();
  // One page of full-text search hits (newest first); pass the result's
  // next_page_token in the request for the next page.
  Result<pb::SearchResult> Search(pb::SearchRequest request);
  Result<pb::GroupResult> Group(pb::GroupRequest request);
  Result<pb::SendAck> MessageOp(pb::MessageOpRequest request);
  Status MarkRead(const std::string& conversation_id, int64_t seq);
  // Push notifications for this device while it is offline ("ios",
  // "android" or "webhook" with the provider's token).
  Status RegisterDevice(const std::string& platform, const std::string& token,
                        const std::string& locale = "");
  Status UnregisterDevice();
  // until_ms: a time to mute until, -1 for good, 0 unmutes.
  Status MuteConversation(const std::string& conversation_id, int64_t until_ms);
  // Local minutes of the day [start, end) at UTC + utc_offset_minutes.
  Status SetDoNotDisturb(int start_minute, int end_minute, int utc_offset_minutes);
  Status ClearDoNotDisturb();
  // Any request frame; returns the reply (which may be an error frame).
  Result<pb::ServerFrame> Call(pb::ClientFrame frame);

  // Highest seq delivered contiguously to the application.
  int64_t DeliveredSeq(const std::string& conversation_id) const;
  // This user's read cursor as this device knows it (bootstrap, read
  // notices from the user's other devices, its own MarkRead).
  int64_t ReadSeq(const std::string& conversation_id) const;
  bool authenticated() const;
  int reconnects() const;

 private:
  class Impl;
  const ClientOptions& options() const;
  void NoteRead(const std::string& conversation_id, int64_t seq);
  std::shared_ptr<Impl> impl_;
};

// The Status an error reply stands for.
Status StatusFromReply(const pb::ServerFrame& reply);

// A new random client_msg_id.
std::string NewClientMsgId();

}  // namespace flare
