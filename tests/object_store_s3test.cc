// The S3 adapter against s3rver (tests/support/s3rver.h; needs node and
// scripts/setup's `npm ci` in tests/support/s3): the ObjectStore contract,
// and what only S3 does: signatures are checked, and a server that is
// gone, silent or refusing answers with the port's error codes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adapters/s3/s3_object_store.h"
#include "object_store_contract.h"
#include "support/free_port.h"
#include "support/s3rver.h"

namespace flare {
namespace {

S3Options OptionsFor(const testing::S3rverProcess& server, const std::string& bucket = "media") {
  S3Options options;
  options.endpoint = server.endpoint();
  options.bucket = bucket;
  options.access_key = testing::S3rverProcess::kAccessKey;
  options.secret_key = testing::S3rverProcess::kSecretKey;
  options.timeout_ms = 10'000;
  return options;
}

// Each store on a server of its own, which lives as long as the store.
std::shared_ptr<ObjectStore> OpenOnS3rver() {
  struct Holder {
    testing::S3rverProcess server{{"media"}};
    std::unique_ptr<S3ObjectStore> store;
  };
  auto holder = std::make_shared<Holder>();
  EXPECT_NE(holder->server.port(), 0) << "s3rver did not start: run scripts/setup";
  if (holder->server.port() == 0) return nullptr;
  auto store = S3ObjectStore::Open(OptionsFor(holder->server));
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return nullptr;
  holder->store = std::move(store).value();
  return std::shared_ptr<ObjectStore>(holder, holder->store.get());
}

const bool kGapsRegistered = [] {
  const std::string why =
      "s3rver 3.7 has no ListParts, AbortMultipartUpload or NoSuchUpload (MinIO and AWS do)";
  ObjectStoreContractGaps()[{"s3rver", "MultipartJoinsPartsInNumberOrderAndARetriedPartReplaces"}] =
      why;
  ObjectStoreContractGaps()[{"s3rver", "AbortedAndForeignUploadsAreNotFound"}] = why;
  return true;
}();

INSTANTIATE_TEST_SUITE_P(S3, ObjectStoreContract,
                         ::testing::Values(std::make_pair(std::string("s3rver"),
                                                          ObjectStoreFactory(OpenOnS3rver))),
                         [](const auto& info) { return info.param.first; });

// s3rver checks the access key but not Signature Version 4 signatures
// (s3_signer_test.cc checks those against AWS's examples).
TEST(S3ObjectStore, AnUnknownAccessKeyIsPermissionDeniedWithS3sCode) {
  testing::S3rverProcess server({"media"});
  ASSERT_NE(server.port(), 0);
  S3Options options = OptionsFor(server);
  options.access_key = "NOT-A-KEY";
  auto store = S3ObjectStore::Open(options);
  ASSERT_TRUE(store.ok());
  Status put = (*store)->Put("t1/a", "x");
  EXPECT_EQ(put.code(), Code::kPermissionDenied) << put.ToString();
  EXPECT_NE(put.message().find("InvalidAccessKeyId"), std::string::npos) << put.ToString();
}

TEST(S3ObjectStore, AMissingBucketIsNotFoundNamingIt) {
  testing::S3rverProcess server({"media"});
  ASSERT_NE(server.port(), 0);
  auto store = S3ObjectStore::Open(OptionsFor(server, "no-such-bucket"));
  ASSERT_TRUE(store.ok());
  Status put = (*store)->Put("t1/a", "x");
  EXPECT_EQ(put.code(), Code::kNotFound) << put.ToString();
  EXPECT_NE(put.message().find("NoSuchBucket"), std::string::npos) << put.ToString();
}

TEST(S3ObjectStore, NoServerIsUnavailable) {
  S3Options options;
  options.endpoint = "http://127.0.0.1:" + std::to_string(testing::FreePort());
  options.bucket = "media";
  options.access_key = options.secret_key = "k";
  auto store = S3ObjectStore::Open(options);
  ASSERT_TRUE(store.ok());
  ObjectStore& s3 = **store;
  EXPECT_EQ(s3.Put("t1/a", "x").code(), Code::kUnavailable);
  EXPECT_EQ(s3.Get("t1/a").status().code(), Code::kUnavailable);
}

TEST(S3ObjectStore, AServerThatNeverAnswersTimesOutAsUnavailable) {
  // A listening socket nobody accepts from: the connection completes in
  // the kernel's backlog and the request then waits for an answer.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  S3Options options;
  options.endpoint = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  options.bucket = "media";
  options.access_key = options.secret_key = "k";
  options.timeout_ms = 300;
  auto store = S3ObjectStore::Open(options);
  ASSERT_TRUE(store.ok());
  Status st = (*store)->Head("t1/a").status();
  EXPECT_EQ(st.code(), Code::kUnavailable) << st.ToString();
  EXPECT_NE(st.message().find("imeout"), std::string::npos) << st.ToString();
  ::close(fd);
}

TEST(S3ObjectStore, OptionsAreChecked) {
  S3Options options;
  options.endpoint = "127.0.0.1:9000";
  options.bucket = "media";
  options.access_key = options.secret_key = "k";
  EXPECT_EQ(S3ObjectStore::Open(options).status().code(), Code::kInvalidArgument);
  options.endpoint = "http://127.0.0.1:9000/";
  options.timeout_ms = 0;
  EXPECT_EQ(S3ObjectStore::Open(options).status().code(), Code::kInvalidArgument);
  options.timeout_ms = 1000;
  options.bucket = "";
  EXPECT_EQ(S3ObjectStore::Open(options).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace flare
