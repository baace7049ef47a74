// `flare serve --role hook-engine`: the cluster's hook admin API as a real
// child process on a SQLite data dir. A hook put through it is saved in
// <data_dir>/settings.db (read back here with the store, as another process
// of the deployment would), a list saved by another process reaches its
// ListHooks within hook_admin.reload_interval_ms, and without
// hook_admin.token it refuses to start, naming the key.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "adapters/sqlite/sqlite_settings_store.h"
#include "hooks/v1/hooks.grpc.pb.h"
#include "services/hooks/hook_list_codec.h"
#include "support/child_process.h"

namespace flare {
namespace {

namespace hpb = ::hooks::v1;
using namespace std::chrono_literals;

const std::string kToken = "role-admin-token-0123456789";

class E2eHookEngineRole : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/flare-hook-role-XXXXXX";
    dir_ = mkdtemp(tmpl);
    config_path_ = dir_ + "/flare.toml";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void WriteConfig(const std::string& token) {
    std::ofstream(config_path_)
        << "[server]\ndata_dir = \"" << dir_ << "\"\nbind_address = \"127.0.0.1\"\nhttp_port = 0\n"
        << "[storage]\nbackend = \"sqlite\"\n[rpc]\nport = 0\ndrain_timeout_ms = 1000\n"
        << "[hook_admin]\ntoken = \"" << token
        << "\"\nreload_interval_ms = 100\n[log]\nlevel = \"warn\"\n";
  }

  std::unique_ptr<grpc::ClientContext> Admin() const {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + kToken);
    context->set_deadline(std::chrono::system_clock::now() + 10s);
    return context;
  }

  std::vector<std::string> ListedNames(hpb::HookAdminService::Stub& stub) const {
    hpb::ListHooksResponse list;
    grpc::Status st = stub.ListHooks(Admin().get(), {}, &list);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::vector<std::string> names;
    for (const auto& h : list.hooks()) names.push_back(h.name());
    return names;
  }

  std::string dir_, config_path_;
  testing::ChildProcess child_;
};

TEST_F(E2eHookEngineRole, ServesTheAdminApiOverTheSharedHookList) {
  WriteConfig(kToken);
  ASSERT_TRUE(
      child_.Start({FLARE_BINARY, "serve", "--config", config_path_, "--role", "hook-engine"}));
  auto line = child_.ReadLine(30s);
  ASSERT_TRUE(line.has_value()) << "no listening line";
  int rpc_port = 0, http_port = 0;
  char roles[128] = {0};
  ASSERT_EQ(std::sscanf(line->c_str(), "flare listening roles=%127s rpc_port=%d http_port=%d",
                        roles, &rpc_port, &http_port),
            3)
      << *line;
  EXPECT_STREQ(roles, "hook-engine");
  auto stub = hpb::HookAdminService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(rpc_port), grpc::InsecureChannelCredentials()));

  hpb::ListHooksResponse list;
  grpc::ClientContext bare;
  EXPECT_EQ(stub->ListHooks(&bare, {}, &list).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(ListedNames(*stub).empty());

  hpb::PutHookRequest put;
  put.mutable_hook()->set_name("moderation");
  put.mutable_hook()->set_point("pre_send");
  put.mutable_hook()->set_url("https://biz.example/pre-send");
  put.mutable_hook()->set_secret("role-hook-secret-0123456789");
  hpb::PutHookResponse put_response;
  grpc::Status put_status = stub->PutHook(Admin().get(), put, &put_response);
  ASSERT_TRUE(put_status.ok()) << put_status.error_message();
  EXPECT_EQ(ListedNames(*stub), std::vector<std::string>{"moderation"});

  // Saved where the other processes of the deployment read it.
  auto store = SqliteSettingsStore::Open(dir_ + "/settings.db");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto saved = (*store)->Get("hooks");
  ASSERT_TRUE(saved.ok());
  ASSERT_EQ(saved->version, 1);
  auto hooks = DecodeHookList(saved->value);
  ASSERT_TRUE(hooks.ok()) << hooks.status().ToString();
  ASSERT_EQ(hooks->size(), 1u);
  EXPECT_EQ((*hooks)[0].secret, "role-hook-secret-0123456789");

  // Another process saves a new list: the role applies it on its next reload.
  HookConfig other = (*hooks)[0];
  other.name = "audit";
  other.point = "post_send";
  ASSERT_TRUE((*store)->Put("hooks", 1, EncodeHookList({other})).ok());
  auto deadline = std::chrono::steady_clock::now() + 10s;
  std::vector<std::string> names;
  do {
    names = ListedNames(*stub);
  } while (names != std::vector<std::string>{"audit"} &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(names, std::vector<std::string>{"audit"});

  ASSERT_TRUE(child_.Signal(SIGTERM));
  EXPECT_EQ(child_.Wait(30s), std::optional<int>(0));
}

TEST_F(E2eHookEngineRole, WithoutATokenItRefusesToStartNamingTheKey) {
  WriteConfig("");
  std::string command =
      std::string(FLARE_BINARY) + " serve --config " + config_path_ + " --role hook-engine 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  int status = pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << output;
  EXPECT_NE(output.find("hook_admin.token"), std::string::npos) << output;
}

}  // namespace
}  // namespace flare
