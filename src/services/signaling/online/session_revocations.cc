#include "services/signaling/online/session_revocations.h"

#include <charconv>

namespace flare {
namespace {

std::string KeyOf(const std::string& tenant, const std::string& user_id) {
  return "sessions_revoked/" + tenant + "/" + user_id;
}

Result<int64_t> ParseSecond(const std::string& key, const std::string& value) {
  int64_t second = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), second);
  if (ec != std::errc() || end != value.data() + value.size() || second < 0) {
    return Internal("settings document " + key + " is not a revocation time: '" + value + "'");
  }
  return second;
}

}  // namespace

Result<int64_t> SessionRevocations::Revoke(const std::string& tenant, const std::string& user_id) {
  const std::string key = KeyOf(tenant, user_id);
  const int64_t now_s = clock_.NowMs() / 1000;
  // Compare-and-set, retried when another process saved first; a later
  // revocation already saved is kept (the time never goes back).
  for (int attempt = 0; attempt < 16; ++attempt) {
    auto doc = store_.Get(key);
    if (!doc.ok()) return doc.status();
    int64_t saved = 0;
    if (doc->version > 0) {
      auto parsed = ParseSecond(key, doc->value);
      if (parsed.ok()) saved = *parsed;
    }
    if (saved >= now_s) return saved;
    auto put = store_.Put(key, doc->version, std::to_string(now_s));
    if (put.ok()) return now_s;
    if (put.status().code() != Code::kAborted) return put.status();
  }
  return Unavailable("revoking the sessions of " + user_id + " kept losing races; retry");
}

Result<bool> SessionRevocations::Refuses(const Principal& who) {
  const std::string key = KeyOf(who.tenant, who.user_id);
  auto doc = store_.Get(key);
  if (!doc.ok()) {
    return Unavailable("cannot check whether the sessions of " + who.user_id +
                       " were revoked: " + doc.status().message());
  }
  if (doc->version == 0) return false;
  auto revoked_s = ParseSecond(key, doc->value);
  if (!revoked_s.ok()) return revoked_s.status();
  return who.issued_at_s < *revoked_s;
}

}  // namespace flare
