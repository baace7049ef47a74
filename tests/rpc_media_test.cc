// media.v1.MediaService on a real gRPC server in the test process, over a
// MediaService on memory stores: the caller's identity comes from the
// call metadata, bytes travel in chunks both ways (more than gRPC's 4 MiB
// message limit in one upload and one read), and errors keep their
// details.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "adapters/memory/memory_media_store.h"
#include "adapters/memory/memory_object_store.h"
#include "adapters/memory/memory_settings_store.h"
#include "media/v1/media.grpc.pb.h"
#include "rpc/common/rpc_server.h"
#include "rpc/media/media_grpc.h"

namespace flare {
namespace {

namespace mpb = ::media::v1;

class RpcMedia : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RpcServer::Start("127.0.0.1:0", {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    stub_ = mpb::MediaService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }

  static std::unique_ptr<grpc::ClientContext> As(const std::string& tenant,
                                                 const std::string& user) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("x-tenant-id", tenant);
    context->AddMetadata("x-user-id", user);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return context;
  }

  grpc::Status Upload(const std::string& tenant, const std::string& bytes, mpb::MediaInfo& info) {
    auto context = As(tenant, "alice");
    auto writer = stub_->Upload(context.get(), &info);
    for (size_t at = 0; at < bytes.size(); at += kMediaChunkBytes) {
      mpb::UploadChunk chunk;
      chunk.set_data(bytes.substr(at, kMediaChunkBytes));
      if (!writer->Write(chunk)) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  ManualClock clock_;
  MediaService media_{{std::make_shared<MemoryObjectStore>(), std::make_shared<MemoryMediaStore>(),
                       std::make_shared<MemorySettingsStore>(), nullptr, &clock_, "secret"},
                      {}};
  RpcServicePtr service_ = NewMediaGrpcService(media_);
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<mpb::MediaService::Stub> stub_;
};

// ThreadSanitizer's runtime: linked only into a -fsanitize=thread build.
extern "C" void __tsan_init() __attribute__((weak));

TEST_F(RpcMedia, ABigUploadAndItsReadTravelInChunksForTheCallersTenant) {
  if (&__tsan_init != nullptr) {
    // Every 64 KiB chunk copied out of (uninstrumented) gRPC's buffers is a
    // suppressed report that TSan works out byte range by byte range before
    // it drops it: the upload alone takes minutes.
    GTEST_SKIP() << "too slow under ThreadSanitizer";
  }
  std::string bytes(6 << 20, 'x');  // text/plain, above gRPC's 4 MiB message limit
  bytes[5 << 20] = 'y';
  mpb::MediaInfo info;
  grpc::Status uploaded = Upload("t1", bytes, info);
  ASSERT_TRUE(uploaded.ok()) << uploaded.error_message();
  EXPECT_EQ(info.owner(), "alice");
  EXPECT_EQ(info.size(), bytes.size());
  EXPECT_EQ(info.mime_type(), "text/plain");
  EXPECT_EQ(info.url(), "/v1/media/" + info.media_id());
  EXPECT_TRUE(media_.Info("t1", info.media_id()).ok());
  EXPECT_EQ(media_.Info("t2", info.media_id()).status().code(), Code::kNotFound);

  mpb::ReadRequest read;
  read.set_media_id(info.media_id());
  auto context = As("t1", "bob");
  auto reader = stub_->Read(context.get(), read);
  std::string got;
  mpb::ReadChunk chunk;
  int chunks = 0;
  while (reader->Read(&chunk)) {
    if (chunks++ == 0) {
      EXPECT_EQ(chunk.total_size(), bytes.size());
      EXPECT_EQ(chunk.mime_type(), "text/plain");
    }
    EXPECT_EQ(chunk.offset(), got.size());
    got += chunk.data();
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(chunks, 6);
  EXPECT_EQ(got, bytes);

  read.set_has_range(true);
  read.set_offset(5 << 20);
  read.set_length(2);
  context = As("t1", "bob");
  reader = stub_->Read(context.get(), read);
  ASSERT_TRUE(reader->Read(&chunk));
  EXPECT_EQ(chunk.data(), "yx");
  EXPECT_FALSE(reader->Read(&chunk));
  EXPECT_TRUE(reader->Finish().ok());

  read.set_offset(bytes.size());
  context = As("t1", "bob");
  reader = stub_->Read(context.get(), read);
  EXPECT_FALSE(reader->Read(&chunk));
  grpc::Status past = reader->Finish();
  EXPECT_EQ(past.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(context->GetServerTrailingMetadata().find("x-flare-error-code")->second, "416");
}

TEST_F(RpcMedia, MultipartPresignAndLimitsOverGrpc) {
  mpb::BeginUploadResponse begun;
  ASSERT_TRUE(stub_->BeginUpload(As("t1", "carol").get(), {}, &begun).ok());
  for (int part : {2, 1}) {
    auto context = As("t1", "carol");
    mpb::PutPartResponse none;
    auto writer = stub_->PutPart(context.get(), &none);
    mpb::PartChunk chunk;
    chunk.set_upload_id(begun.upload_id());
    chunk.set_part_number(part);
    chunk.set_data(part == 1 ? "%PDF-1.7 " : "the end");
    ASSERT_TRUE(writer->Write(chunk));
    writer->WritesDone();
    ASSERT_TRUE(writer->Finish().ok());
  }
  mpb::UploadRef ref;
  ref.set_upload_id(begun.upload_id());
  mpb::MediaInfo info;
  ASSERT_TRUE(stub_->CompleteUpload(As("t1", "carol").get(), ref, &info).ok());
  EXPECT_EQ(info.mime_type(), "application/pdf");
  EXPECT_EQ(info.owner(), "carol");
  EXPECT_EQ(media_.Read("t1", info.media_id())->bytes, "%PDF-1.7 the end");

  mpb::PresignRequest presign;
  presign.set_id(info.media_id());
  presign.set_ttl_s(60);
  mpb::PresignResponse url;
  ASSERT_TRUE(stub_->Presign(As("t1", "carol").get(), presign, &url).ok());
  EXPECT_EQ(url.path(), "/v1/media/" + info.media_id());
  mpb::VerifyPresignedRequest verify;
  verify.set_tenant("t1");
  verify.set_id(info.media_id());
  verify.set_expires_s(url.expires_s());
  verify.set_signature(url.query().substr(url.query().find("signature=") + 10));
  mpb::VerifyPresignedResponse ok;
  EXPECT_TRUE(stub_->VerifyPresigned(As("t1", "any").get(), verify, &ok).ok());
  verify.set_tenant("t2");
  EXPECT_EQ(stub_->VerifyPresigned(As("t1", "any").get(), verify, &ok).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  mpb::SetTenantLimitsRequest set;
  set.set_tenant("t1");
  set.mutable_limits()->set_allowed_types("image/*");
  mpb::SetTenantLimitsResponse done;
  ASSERT_TRUE(stub_->SetTenantLimits(As("t1", "admin").get(), set, &done).ok());
  mpb::TenantRef tenant;
  tenant.set_tenant("t1");
  mpb::TenantLimits limits;
  ASSERT_TRUE(stub_->GetTenantLimits(As("t1", "admin").get(), tenant, &limits).ok());
  EXPECT_EQ(limits.allowed_types(), "image/*");
  EXPECT_FALSE(limits.has_max_bytes());
  mpb::MediaInfo refused;
  EXPECT_EQ(Upload("t1", "plain text", refused).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RpcMedia, ACallWithoutIdentityIsRefused) {
  grpc::ClientContext bare;
  mpb::MediaRef ref;
  mpb::MediaInfo info;
  EXPECT_EQ(stub_->GetInfo(&bare, ref, &info).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace flare
