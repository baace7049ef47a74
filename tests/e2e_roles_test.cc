// `flare serve --role`: the storage-reader and session roles as a real
// child process on a SQLite store the test wrote beforehand, asked through
// the gRPC clients of src/rpc/, the gRPC health checking protocol and the
// HTTP endpoints; and the role list's errors.
#include <curl/curl.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <sstream>

#include "app/roles/roles.h"
#include "media/v1/media.grpc.pb.h"
#include "ports/store_factory.h"
#include "rpc/common/rpc_server.h"
#include "rpc/session/session_grpc.h"
#include "rpc/storage_reader/storage_reader_grpc.h"
#include "support/child_process.h"
#include "support/group_texts.h"

namespace flare {
namespace {

namespace pb = ::flare::client::v1;
using namespace std::chrono_literals;

// grpc.health.v1.Health/Check by hand (no generated stub for health.proto
// is installed): HealthCheckRequest{string service = 1}, and the answer's
// HealthCheckResponse{ServingStatus status = 1} (0 UNKNOWN, 1 SERVING,
// 2 NOT_SERVING; an empty message is 0). Returns -1 when the call fails,
// e.g. NOT_FOUND for a service the server does not know.
int HealthStatus(int port, const std::string& service) {
  grpc::GenericStub stub(OpenRpcChannel("127.0.0.1:" + std::to_string(port)));
  std::string request = "\x0a" + std::string(1, static_cast<char>(service.size())) + service;
  grpc::Slice slice(request);
  grpc::ByteBuffer in(&slice, 1), out;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 10s);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &in, &out,
                 [&](grpc::Status st) { done.set_value(st); });
  if (!done.get_future().get().ok()) return -1;
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(out.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  if (bytes.empty()) return 0;
  EXPECT_EQ(bytes.size(), 2u);
  EXPECT_EQ(bytes[0], '\x08');
  return bytes.size() == 2 ? bytes[1] : -1;
}

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string HttpGet(int port, const std::string& path, long* status) {
  std::string body;
  CURL* curl = curl_easy_init();
  std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  EXPECT_EQ(curl_easy_perform(curl), CURLE_OK);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
  curl_easy_cleanup(curl);
  return body;
}

class E2eRoles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/flare-roles-XXXXXX";
    dir_ = mkdtemp(tmpl);
    config_path_ = dir_ + "/flare.toml";
    std::ofstream(config_path_) << "[server]\ndata_dir = \"" << dir_
                                << "\"\nbind_address = \"127.0.0.1\"\nhttp_port = 0\n"
                                << "roles = \"storage-reader,session\"\n"
                                << "[storage]\nbackend = \"sqlite\"\n"
                                << "[rpc]\nport = 0\n"
                                // A drain waits this long while a client keeps its
                                // connection open (docs/architecture.md).
                                << "drain_timeout_ms = 1000\n[log]\nlevel = \"warn\"\n";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Group g2 with alice and bob, three messages from bob, alice has read 2:
  // written with the store API before any role process runs.
  void WriteConversation() {
    auto config = LoadConfig(config_path_, {});
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    auto stores = OpenStores(*config);
    ASSERT_TRUE(stores.ok()) << stores.status().ToString();
    WriteBatch batch;
    for (const char* user : {"alice", "bob"}) {
      MembershipRecord member;
      member.tenant = "t";
      member.conversation_id = "g2";
      member.conversation_type = pb::CONVERSATION_TYPE_GROUP;
      member.user_id = user;
      batch.memberships.push_back(member);
    }
    testing::AppendGroupTexts(batch, "g2", 3, "bob");
    batch.cursors.push_back(CursorUpdate{"t", "g2", "alice", 2, 2});
    ASSERT_TRUE(stores->messages->Write(batch).ok());
    ASSERT_TRUE(stores->messages->Sync().ok());
  }

  // Starts `flare serve` with `extra` arguments and reads its ports from
  // its "flare listening" line.
  void StartRoles(const std::vector<std::string>& extra,
                  const std::string& expected_roles = "storage-reader,session") {
    std::vector<std::string> argv = {FLARE_BINARY, "serve", "--config", config_path_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ASSERT_TRUE(child_.Start(argv));
    auto line = child_.ReadLine(30s);
    ASSERT_TRUE(line.has_value()) << "no listening line";
    char roles[128] = {0};
    ASSERT_EQ(std::sscanf(line->c_str(), "flare listening roles=%127s rpc_port=%d http_port=%d",
                          roles, &rpc_port_, &http_port_),
              3)
        << *line;
    EXPECT_EQ(std::string(roles), expected_roles);
  }

  // Runs `flare serve ... --role <roles>` to its end: its exit status and
  // everything it wrote.
  int RunWithRoles(const std::string& roles, std::string* output) {
    std::string command = std::string(FLARE_BINARY) + " serve --config " + config_path_ +
                          " --role '" + roles + "' 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    char buffer[4096];
    size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output->append(buffer, n);
    int status = pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  std::string dir_, config_path_;
  testing::ChildProcess child_;
  int rpc_port_ = 0, http_port_ = 0;
  Principal alice_{"t", "alice", "laptop", "web"};
};

TEST_F(E2eRoles, StorageReaderAndSessionServeTheStoreOverGrpc) {
  WriteConversation();
  StartRoles({"--role", "storage-reader,session"});
  EXPECT_EQ(HealthStatus(rpc_port_, "storage.v1.StorageReaderService"), 1);
  EXPECT_EQ(HealthStatus(rpc_port_, "session.v1.SessionService"), 1);
  EXPECT_EQ(HealthStatus(rpc_port_, ""), 1);
  EXPECT_EQ(HealthStatus(rpc_port_, "message.v1.MessageOrchestratorService"), -1)
      << "a role this process does not run is unknown to its health service";

  RpcOptions options;
  options.deadline_ms = 10'000;
  auto channel = OpenRpcChannel("127.0.0.1:" + std::to_string(rpc_port_));
  auto reader = NewStorageReaderGrpcClient(channel, options);
  pb::SyncRequest sync;
  sync.set_conversation_id("g2");
  sync.set_after_seq(1);
  auto page = reader->Sync(alice_, sync);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->messages_size(), 2);
  EXPECT_EQ(page->messages(0).seq(), 2);
  EXPECT_EQ(page->messages(1).content().text(), "hi 3");
  EXPECT_EQ(page->messages(1).sender(), "bob");
  EXPECT_EQ(page->max_seq(), 3);
  EXPECT_EQ(reader->Sync(Principal{"t", "mallory", "d", "web"}, sync).status().detail(),
            pb::ERROR_CODE_NOT_MEMBER);
  pb::SearchRequest search;
  search.set_text("HI 2");
  auto found = reader->Search(alice_, search);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->messages_size(), 1) << "the role's reader searches the store";
  EXPECT_EQ(found->messages(0).seq(), 2);

  auto sessions = NewSessionGrpcClient(channel, options);
  auto boot = sessions->Bootstrap(alice_, pb::BootstrapRequest());
  ASSERT_TRUE(boot.ok()) << boot.status().ToString();
  ASSERT_EQ(boot->conversations_size(), 1);
  const pb::ConversationSummary& g2 = boot->conversations(0);
  EXPECT_EQ(g2.conversation_id(), "g2");
  EXPECT_EQ(g2.max_seq(), 3);
  EXPECT_EQ(g2.read_seq(), 2);
  EXPECT_EQ(g2.unread(), 1);
  EXPECT_EQ(g2.last_message().content().text(), "hi 3");

  long status = 0;
  EXPECT_EQ(HttpGet(http_port_, "/healthz", &status), "ok\n");
  EXPECT_EQ(status, 200);
  HttpGet(http_port_, "/readyz", &status);
  EXPECT_EQ(status, 200);
  std::string metrics = HttpGet(http_port_, "/metrics", &status);
  EXPECT_NE(metrics.find("process_resident_memory_bytes"), std::string::npos);
  EXPECT_EQ(status, 200);
  // Each series once: Prometheus drops a scrape's repeated samples.
  std::map<std::string, int> samples;
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] != '#') ++samples[line.substr(0, line.rfind(' '))];
  }
  for (const auto& [series, count] : samples) EXPECT_EQ(count, 1) << series;

  ASSERT_TRUE(child_.Signal(SIGTERM));
  EXPECT_EQ(child_.Wait(30s), std::optional<int>(0));
}

TEST_F(E2eRoles, ServerRolesFromConfigAndSigtermExitsZero) {
  StartRoles({});  // server.roles in the config file
  EXPECT_EQ(HealthStatus(rpc_port_, "session.v1.SessionService"), 1);
  ASSERT_TRUE(child_.Signal(SIGTERM));
  EXPECT_EQ(child_.Wait(30s), std::optional<int>(0));
}

TEST_F(E2eRoles, UnknownRoleExitsNonZeroNamingItAndTheValidRoles) {
  std::string output;
  EXPECT_NE(RunWithRoles("storage-reader,storage-raeder", &output), 0);
  EXPECT_NE(output.find("unknown role 'storage-raeder'"), std::string::npos) << output;
  EXPECT_NE(output.find("message-orchestrator"), std::string::npos) << output;
}

TEST_F(E2eRoles, CoreGatewayWithoutASignalingGatewayExitsNonZeroSayingWhy) {
  std::string output;
  EXPECT_NE(RunWithRoles("session,core-gateway", &output), 0);
  EXPECT_NE(output.find("list it with 'signaling-gateway'"), std::string::npos) << output;
}

TEST_F(E2eRoles, MediaServesUploadsAndReadsOverGrpc) {
  StartRoles({"--role", "media"}, "media");
  EXPECT_EQ(HealthStatus(rpc_port_, "media.v1.MediaService"), 1);
  auto stub =
      ::media::v1::MediaService::NewStub(OpenRpcChannel("127.0.0.1:" + std::to_string(rpc_port_)));
  auto as_alice = [] {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("x-tenant-id", "t");
    context->AddMetadata("x-user-id", "alice");
    context->set_deadline(std::chrono::system_clock::now() + 10s);
    return context;
  };
  ::media::v1::MediaInfo info;
  auto context = as_alice();
  auto writer = stub->Upload(context.get(), &info);
  ::media::v1::UploadChunk chunk;
  chunk.set_data("%PDF-1.7 a document");
  ASSERT_TRUE(writer->Write(chunk));
  writer->WritesDone();
  grpc::Status uploaded = writer->Finish();
  ASSERT_TRUE(uploaded.ok()) << uploaded.error_message();
  EXPECT_EQ(info.mime_type(), "application/pdf");
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/media.db"));
  ::media::v1::MediaRef ref;
  ref.set_media_id(info.media_id());
  ::media::v1::MediaInfo again;
  ASSERT_TRUE(stub->GetInfo(as_alice().get(), ref, &again).ok());
  EXPECT_EQ(again.sha256(), info.sha256());
  ASSERT_TRUE(child_.Signal(SIGTERM));
  EXPECT_EQ(child_.Wait(30s), std::optional<int>(0));
}

TEST_F(E2eRoles, PushServerWithoutAStorageWriterExitsNonZeroNamingIt) {
  std::string output;
  EXPECT_NE(RunWithRoles("session,push-server", &output), 0);
  EXPECT_NE(output.find("list it with 'storage-writer'"), std::string::npos) << output;
}

TEST_F(E2eRoles, AllCombinedWithOtherRolesIsAnError) {
  std::string output;
  EXPECT_NE(RunWithRoles("all,session", &output), 0);
  EXPECT_NE(output.find("cannot be combined"), std::string::npos) << output;
}

TEST(RoleNames, ParseRoles) {
  auto all = ParseRoles("all");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty()) << "all = embedded";
  auto two = ParseRoles("session, storage-reader,session");
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_EQ(*two, (std::vector<std::string>{"session", "storage-reader"}));
  EXPECT_FALSE(ParseRoles("").ok());
  EXPECT_FALSE(ParseRoles("session,").ok());
  EXPECT_EQ(KnownRoles().size(), 13u) << "every module of the seed";
}

// The example a cluster operator starts from loads and names runnable roles.
TEST(RoleNames, ClusterExampleConfigIsValid) {
  auto config = LoadConfig(std::string(FLARE_SOURCE_DIR) + "/config/cluster.toml", {});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto roles = ParseRoles(config->roles);
  ASSERT_TRUE(roles.ok()) << roles.status().ToString();
  EXPECT_EQ(*roles, (std::vector<std::string>{"storage-reader", "session"}));
  EXPECT_EQ(config->storage_backend, "postgres");
}

}  // namespace
}  // namespace flare
