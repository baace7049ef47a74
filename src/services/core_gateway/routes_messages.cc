// Messages: send as a user or as the system, and read history by seq or by time.
#include "common/ids.h"
#include "flare/client/v1/client.pb.h"
#include "services/core_gateway/command_waiter.h"
#include "services/core_gateway/http_api.h"
#include "services/core_gateway/route_support.h"
#include "services/message_orchestrator/message_orchestrator.h"
#include "services/storage/reader/storage_reader.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;

constexpr const char* kSystemSender = "system";

// The send's answer once the writer stored it (or refused it).
void AnswerSend(const std::shared_ptr<ApiCall>& call, const CommandOutcome& outcome) {
  if (!outcome.status.ok()) return call->Fail(outcome.status);
  const Message& m = outcome.result();
  call->Reply(200, {{"server_msg_id", m.server_msg_id()},
                    {"conversation_id", m.conversation_id()},
                    {"seq", m.seq()},
                    {"server_time_ms", m.server_time_ms()},
                    {"duplicate", outcome.duplicate}});
}

void Send(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call) {
  auto body = call->JsonBody();
  if (!body.ok()) return call->Fail(body.status());
  bool system = body->value("system", false);
  body->erase("system");
  auto sender = StringField(*body, "sender", !system);
  if (!sender.ok()) return call->Fail(sender.status());
  body->erase("sender");
  if (system && !sender->empty()) {
    return call->Fail(InvalidArgument("give either 'system': true or a 'sender', not both"));
  }
  auto who =
      ActingUser(*call, system ? std::optional<std::string>(kSystemSender) : *sender, "sender");
  if (!who.ok()) return call->Fail(who.status());
  pb::SendRequest request;
  if (Status st = JsonToProto(*body, request); !st.ok()) return call->Fail(st);
  if (request.client_msg_id().empty()) {
    // Without it a retry after a timeout could store the message twice.
    return call->Fail(InvalidArgument(
        "client_msg_id is required: a retry with the same one is recognised and stored once"));
  }
  ReplyAddress address = deps.waiter.Expect(
      [call](const CommandOutcome& outcome) { AnswerSend(call, outcome); }, call->request_id());
  if (Status st = deps.messages.Send(*who, request, address); !st.ok()) {
    deps.waiter.Forget(address);
    call->Fail(st);
  }
}

nlohmann::json Page(const pb::SyncResult& page) {
  nlohmann::json messages = nlohmann::json::array();
  for (const auto& m : page.messages()) messages.push_back(ProtoToJson(m));
  return {{"messages", messages}, {"has_more", page.has_more()}, {"max_seq", page.max_seq()}};
}

// The server time of message `seq` as `who` sees it; nullopt when it is
// not visible (before the join point, or not stored).
std::optional<int64_t> TimeOf(StorageReader& reader, const Principal& who,
                              const std::string& conversation_id, int64_t seq) {
  GetMessagesQuery query{conversation_id, "", {seq}};
  auto page = reader.GetMessages(who, query);
  if (!page.ok() || page->messages_size() == 0) return std::nullopt;
  return page->messages(0).server_time_ms();
}

// The first seq whose message is at or after `since_ms` (seqs are stored
// in time order), by binary search: about log2(max_seq) reads.
int64_t FirstSeqSince(StorageReader& reader, const Principal& who,
                      const std::string& conversation_id, int64_t max_seq, int64_t since_ms) {
  int64_t lo = 1, hi = max_seq + 1;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    auto time = TimeOf(reader, who, conversation_id, mid);
    if (time && *time >= since_ms)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

void History(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call) {
  auto who = ActingUser(*call, call->Query("user"), "user");
  if (!who.ok()) return call->Fail(who.status());
  const std::string& conversation = call->Param("conversation_id");
  auto after = call->QueryInt("after_seq", -1, 0, INT64_MAX);
  auto before = call->QueryInt("before_seq", 0, 1, INT64_MAX);
  auto since = call->QueryInt("since_ms", -1, 0, INT64_MAX);
  auto until = call->QueryInt("until_ms", INT64_MAX, 0, INT64_MAX);
  auto limit = call->QueryInt("limit", 0, 1, 500);
  for (const auto* r : {&after, &before, &since, &until, &limit})
    if (!r->ok()) return call->Fail(r->status());
  if (*before > 0 && (*after >= 0 || *since >= 0))
    return call->Fail(InvalidArgument("before_seq cannot be combined with after_seq or since_ms"));
  if (*before > 0) {
    auto page = deps.reader.History(*who, {conversation, "", *before, static_cast<int>(*limit)});
    if (!page.ok()) return call->Fail(page.status());
    return call->Reply(200, Page(*page));
  }
  pb::SyncRequest sync;
  sync.set_conversation_id(conversation);
  sync.set_after_seq(std::max<int64_t>(0, *after));
  sync.set_limit(static_cast<int32_t>(*limit));
  if (*since >= 0) {
    auto probe = deps.reader.Sync(*who, sync);
    if (!probe.ok()) return call->Fail(probe.status());
    int64_t first = FirstSeqSince(deps.reader, *who, conversation, probe->max_seq(), *since);
    sync.set_after_seq(std::max(sync.after_seq(), first - 1));
  }
  auto page = deps.reader.Sync(*who, sync);
  if (!page.ok()) return call->Fail(page.status());
  if (*until != INT64_MAX) {
    auto* messages = page->mutable_messages();
    int keep = 0;
    while (keep < messages->size() && messages->Get(keep).server_time_ms() <= *until) ++keep;
    if (keep < messages->size()) {
      messages->DeleteSubrange(keep, messages->size() - keep);
      page->set_has_more(false);
    }
  }
  call->Reply(200, Page(*page));
}

void Search(CoreGatewayDeps& deps, const std::shared_ptr<ApiCall>& call) {
  auto who = ActingUser(*call, call->Query("user"), "user");
  if (!who.ok()) return call->Fail(who.status());
  auto limit = call->QueryInt("limit", 0, 1, 100);
  if (!limit.ok()) return call->Fail(limit.status());
  pb::SearchRequest request;
  request.set_text(call->Query("q").value_or(""));
  request.set_conversation_id(call->Query("conversation_id").value_or(""));
  request.set_limit(static_cast<int32_t>(*limit));
  request.set_page_token(call->Query("page_token").value_or(""));
  auto page = deps.reader.Search(*who, request);
  if (!page.ok()) return call->Fail(page.status());
  nlohmann::json messages = nlohmann::json::array();
  for (const auto& m : page->messages()) messages.push_back(ProtoToJson(m));
  call->Reply(200, {{"messages", messages}, {"next_page_token", page->next_page_token()}});
}

}  // namespace

void AddMessageRoutes(HttpApi& api, CoreGatewayDeps& deps) {
  api.Add({.method = "GET",
           .path = "/v1/search",
           .tag = "messages",
           .summary = "Full-text search over the messages a user may read (every word of q must "
                      "start a word of the text; recalled and deleted-for-me messages are left "
                      "out), newest first; page with next_page_token.",
           .access = kAccessApiKey | kAccessAdmin | kAccessUser,
           .scope = "messages:read",
           .query = {{"q", "string", true, "the words to find (1..256 bytes)"},
                     {"user", "string", false, "the user to search as (not with a client token)"},
                     {"conversation_id", "string", false, "only this conversation"},
                     {"limit", "integer", false, "1..100 (default 20)"},
                     {"page_token", "string", false, "next_page_token of the previous page"}},
           .response_example = R"({"messages":[{"seq":"3","sender":"alice",
             "content":{"text":"the invoice is attached"}}],"next_page_token":""})",
           .handler = [&deps](const auto& call) { Search(deps, call); }});
  api.Add({.method = "POST",
           .path = "/v1/messages",
           .tag = "messages",
           .summary = "Send a message as a user, or as the system (\"system\": true; sender "
                      "\"system\", e.g. MESSAGE_TYPE_NOTIFICATION). Answered once the message is "
                      "durably stored. Fields as the client protocol's send (proto3 JSON); "
                      "client_msg_id is required, so that a retry is recognised.",
           .scope = "messages:write",
           .request_example = R"({"sender":"alice","peer_user_id":"bob","client_msg_id":"order-42",
             "type":"MESSAGE_TYPE_TEXT","content":{"text":"Your order shipped"}})",
           .response_example = R"({"server_msg_id":"01J...","conversation_id":"p2p:alice:bob",
             "seq":7,"server_time_ms":1764500000000,"duplicate":false})",
           .handler = [&deps](const auto& call) { Send(deps, call); }});
  api.Add({.method = "GET",
           .path = "/v1/conversations/{conversation_id}/messages",
           .tag = "messages",
           .summary = "History as a member sees it: after_seq (ascending), before_seq "
                      "(descending), or a time window since_ms..until_ms (ascending).",
           .access = kAccessApiKey | kAccessAdmin | kAccessUser,
           .scope = "messages:read",
           .query = {{"user", "string", false, "the member to read as (not with a client token)"},
                     {"after_seq", "integer", false, "messages after this seq"},
                     {"before_seq", "integer", false, "messages before this seq, newest first"},
                     {"since_ms", "integer", false, "messages stored at or after this time"},
                     {"until_ms", "integer", false, "messages stored at or before this time"},
                     {"limit", "integer", false, "1..500 (default 100)"}},
           .response_example = R"({"messages":[{"seq":"1","sender":"alice",
             "content":{"text":"hi"}}],"has_more":false,"max_seq":1})",
           .handler = [&deps](const auto& call) { History(deps, call); }});
}

}  // namespace flare
