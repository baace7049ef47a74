// Records of the gateway inbox (flare.pipeline.v1.GatewayRecord) as bytes:
// what one process's storage writer and push-server hand to the gateway of
// another over bus.gateway_topic (keyed by the destination gateway's id).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"
#include "services/push/server/push_server.h"
#include "services/storage/writer/storage_writer.h"

namespace flare {

// A command's outcome for one session; `outcome.message` holds the result
// (`stored` is null).
struct InboxOutcome {
  uint64_t session_id = 0;
  std::string request_id;
  CommandOutcome outcome;
};

// One committed batch's pushes for the sessions of one gateway; sessions
// share the items they have in common, as on the sending side.
struct InboxDelivery {
  std::vector<SessionPushes> pushes;
};

struct InboxNotice {
  std::vector<uint64_t> session_ids;
  std::shared_ptr<const SharedFrame> frame;
};

// A session of the destination gateway to close: a login on another
// gateway displaced it.
struct InboxKick {
  uint64_t session_id = 0;
  std::string reason;
};

using InboxRecord = std::variant<InboxOutcome, InboxDelivery, InboxNotice, InboxKick>;

std::string EncodeInboxOutcome(const ReplyAddress& to, const CommandOutcome& outcome);
// Each distinct item is written once per record, its frame as the protobuf
// bytes the SharedFrame already holds (or makes once) for binary
// connections. Records stay under `max_record_bytes` (a broker refuses
// bigger ones) unless one item alone is bigger; they are cut between
// items, so a session's items keep their order across records published
// in the returned order.
std::vector<std::string> EncodeInboxDelivery(std::span<const SessionPushes> pushes,
                                             size_t max_record_bytes);
std::string EncodeInboxNotice(const std::vector<uint64_t>& session_ids, const SharedFrame& frame);
std::string EncodeInboxKick(uint64_t session_id, const std::string& reason);

// kInvalidArgument for bytes that are not a gateway record, have no body,
// or carry a frame that does not parse or an item index out of range.
Result<InboxRecord> DecodeInboxRecord(std::string_view bytes);

}  // namespace flare
