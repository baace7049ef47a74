#include "rpc/session/session_grpc.h"

#include "rpc/common/client_call.h"
#include "rpc/common/server_call.h"
#include "session/v1/session.grpc.pb.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;
namespace sv = ::session::v1;
using GrpcSessionService = sv::SessionService;

MembersQuery FromProto(const sv::MembersRequest& r) {
  return MembersQuery{{r.conversation_id(), r.peer_user_id()}, r.cursor(), r.limit()};
}

sv::MembersRequest ToProto(const MembersQuery& q) {
  sv::MembersRequest r;
  r.set_conversation_id(q.target.conversation_id);
  r.set_peer_user_id(q.target.peer_user_id);
  r.set_cursor(q.cursor);
  r.set_limit(q.limit);
  return r;
}

sv::MembersResult ToProto(MemberPage&& page) {
  sv::MembersResult r;
  r.set_conversation_id(std::move(page.conversation_id));
  for (auto& m : page.members) r.add_members()->Swap(&m);
  r.set_member_count(page.member_count);
  r.set_has_more(page.has_more);
  r.set_next_cursor(std::move(page.next_cursor));
  return r;
}

MemberPage FromProto(sv::MembersResult&& r) {
  MemberPage page;
  page.conversation_id = r.conversation_id();
  page.members.assign(std::make_move_iterator(r.mutable_members()->begin()),
                      std::make_move_iterator(r.mutable_members()->end()));
  page.member_count = r.member_count();
  page.has_more = r.has_more();
  page.next_cursor = r.next_cursor();
  return page;
}

class SessionGrpcService final : public GrpcSessionService::Service {
 public:
  explicit SessionGrpcService(SessionService& sessions) : sessions_(sessions) {}

  grpc::Status Bootstrap(grpc::ServerContext* context, const pb::BootstrapRequest* request,
                         pb::BootstrapResult* response) override {
    return rpc::ServeRead(*context, "session.v1.SessionService/Bootstrap", response,
                          [&](const Principal& who) { return sessions_.Bootstrap(who, *request); });
  }

  grpc::Status Members(grpc::ServerContext* context, const sv::MembersRequest* request,
                       sv::MembersResult* response) override {
    return rpc::ServeRead(*context, "session.v1.SessionService/Members", response,
                          [&](const Principal& who) -> Result<sv::MembersResult> {
                            auto page = sessions_.Members(who, FromProto(*request));
                            if (!page.ok()) return page.status();
                            return ToProto(std::move(*page));
                          });
  }

  grpc::Status Cursor(grpc::ServerContext* context, const sv::CursorRequest* request,
                      pb::ConversationSummary* response) override {
    return rpc::ServeRead(
        *context, "session.v1.SessionService/Cursor", response, [&](const Principal& who) {
          return sessions_.Cursor(who, {request->conversation_id(), request->peer_user_id()});
        });
  }

  grpc::Status Group(grpc::ServerContext* context, const sv::GroupInfoRequest* request,
                     pb::GroupInfo* response) override {
    return rpc::ServeRead(
        *context, "session.v1.SessionService/Group", response,
        [&](const Principal& who) { return sessions_.Group(who, request->conversation_id()); });
  }

 private:
  SessionService& sessions_;
};

class SessionGrpcClient final : public SessionService {
 public:
  SessionGrpcClient(std::shared_ptr<grpc::Channel> channel, const RpcOptions& options,
                    RpcSeams seams)
      : stub_(GrpcSessionService::NewStub(std::move(channel))),
        caller_("session.v1.SessionService", options, seams) {}

  using SessionService::Bootstrap;
  Result<pb::BootstrapResult> Bootstrap(const Principal& who,
                                        const pb::BootstrapRequest& request) override {
    return caller_.Read<pb::BootstrapResult>("Bootstrap", who, [&](auto& context, auto* response) {
      return stub_->Bootstrap(&context, request, response);
    });
  }

  Result<MemberPage> Members(const Principal& who, const MembersQuery& query) override {
    auto request = ToProto(query);
    auto result = caller_.Read<sv::MembersResult>(
        "Members", who,
        [&](auto& context, auto* response) { return stub_->Members(&context, request, response); });
    if (!result.ok()) return result.status();
    return FromProto(std::move(*result));
  }

  Result<pb::ConversationSummary> Cursor(const Principal& who,
                                         const ConversationTarget& target) override {
    sv::CursorRequest request;
    request.set_conversation_id(target.conversation_id);
    request.set_peer_user_id(target.peer_user_id);
    return caller_.Read<pb::ConversationSummary>("Cursor", who, [&](auto& context, auto* response) {
      return stub_->Cursor(&context, request, response);
    });
  }

  Result<pb::GroupInfo> Group(const Principal& who, const std::string& conversation_id) override {
    sv::GroupInfoRequest request;
    request.set_conversation_id(conversation_id);
    return caller_.Read<pb::GroupInfo>("Group", who, [&](auto& context, auto* response) {
      return stub_->Group(&context, request, response);
    });
  }

 private:
  std::unique_ptr<GrpcSessionService::Stub> stub_;
  rpc::RpcCaller caller_;
};

}  // namespace

RpcServicePtr NewSessionGrpcService(SessionService& sessions) {
  return RpcServicePtr(new SessionGrpcService(sessions));
}

std::unique_ptr<SessionService> NewSessionGrpcClient(std::shared_ptr<grpc::Channel> channel,
                                                     const RpcOptions& options, RpcSeams seams) {
  return std::make_unique<SessionGrpcClient>(std::move(channel), options, seams);
}

}  // namespace flare
