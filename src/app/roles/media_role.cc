// media as a process: media.v1.MediaService over the media service built
// from config as the embedded server builds it (OpenMediaService): objects
// on media.backend, metadata on storage.backend, limits in the settings
// store, presigned URLs keyed from the JWT secret. Its thread aborts
// stale multipart uploads but deletes no orphaned media: references are
// counted by a storage writer with a MediaReferenceListener (the embedded
// server's), which the storage-writer role does not have yet, so in a
// cluster every media would look orphaned.
#include "app/media_wiring.h"
#include "app/roles/role.h"
#include "rpc/media/media_grpc.h"
#include "services/signaling/online/token.h"

namespace flare {
namespace {

class MediaRole final : public Role {
 public:
  explicit MediaRole(std::unique_ptr<MediaService> media)
      : media_(std::move(media)), service_(NewMediaGrpcService(*media_)) {}
  ~MediaRole() override { Stop(); }

  grpc::Service* service() override { return service_.get(); }
  std::string grpc_service_name() const override { return "media.v1.MediaService"; }
  Status Start() override {
    media_->Start();
    return Status::Ok();
  }
  void Stop() override { media_->Stop(); }

 private:
  std::unique_ptr<MediaService> media_;
  RpcServicePtr service_;  // uses media_
};

}  // namespace

Result<std::unique_ptr<Role>> MakeMediaRole(RoleDeps& deps) {
  auto secret = ResolveJwtSecret(deps.config);
  if (!secret.ok()) return secret.status();
  auto settings = OpenSettingsStore(deps.config);
  if (!settings.ok()) return settings.status();
  auto media = OpenMediaService(deps.config, SystemClock::Instance(), *secret,
                                std::move(settings).value(), /*delete_orphans=*/false);
  if (!media.ok()) return media.status();
  return std::unique_ptr<Role>(new MediaRole(std::move(media).value()));
}

}  // namespace flare
