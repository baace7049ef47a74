// Commands as bytes on the ingest stream (flare.pipeline.v1.Command), and
// the stream key that sends every command of one conversation to the same
// partition, so the writer that owns the partition sees them in order.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "services/storage/writer/storage_writer.h"

namespace flare {

std::string EncodeCommand(const Command& command);
// kInvalidArgument for bytes that are not a command (or have no body).
// The decoded command's received_mono_ms and queued_bytes are left 0.
Result<Command> DecodeCommand(std::string_view bytes);

// The conversation a command changes ("" for a group create that has not
// been given an id).
const std::string& CommandConversation(const Command& command);
// ConversationKey(tenant, conversation): the ingest stream's key.
std::string CommandStreamKey(const Command& command);

}  // namespace flare
