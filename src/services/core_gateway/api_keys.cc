#include "services/core_gateway/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace flare {
namespace {

constexpr const char* kDocument = "api_keys";
constexpr std::string_view kPrefix = "flk_";
constexpr int kMaxSaveAttempts = 5;
constexpr int64_t kForcedReloadGapMs = 1'000;

std::string Hex(const unsigned char* data, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 15]);
  }
  return out;
}

std::string Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), digest, &n, EVP_sha256(), nullptr);
  return Hex(digest, n);
}

Result<std::string> RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    return Internal("no random bytes for an API key");
  return Hex(reinterpret_cast<const unsigned char*>(raw.data()), bytes);
}

nlohmann::json ToJson(const std::vector<ApiKeyRecord>& records) {
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& r : records) {
    keys.push_back({{"id", r.id},
                    {"tenant", r.tenant},
                    {"scopes", r.scopes},
                    {"secret_sha256", r.secret_sha256},
                    {"created_ms", r.created_ms},
                    {"revoked_ms", r.revoked_ms}});
  }
  return {{"keys", keys}};
}

Result<std::vector<ApiKeyRecord>> FromJson(const std::string& text) {
  std::vector<ApiKeyRecord> out;
  if (text.empty()) return out;
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.contains("keys") || !doc["keys"].is_array())
    return Internal("the saved API key list is not readable");
  for (const auto& k : doc["keys"]) {
    ApiKeyRecord r;
    r.id = k.value("id", "");
    r.tenant = k.value("tenant", "");
    if (k.contains("scopes") && k["scopes"].is_array()) {
      for (const auto& s : k["scopes"])
        if (s.is_string()) r.scopes.push_back(s.get<std::string>());
    }
    r.secret_sha256 = k.value("secret_sha256", "");
    r.created_ms = k.value("created_ms", int64_t{0});
    r.revoked_ms = k.value("revoked_ms", int64_t{0});
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

bool ApiKeyRecord::Allows(std::string_view scope) const {
  return std::any_of(scopes.begin(), scopes.end(),
                     [&](const std::string& s) { return s == "*" || s == scope; });
}

const std::vector<std::string>& ApiKeyScopes() {
  static const std::vector<std::string> scopes = {
      "*",        "tokens", "messages:write", "messages:read", "groups",
      "presence", "push",   "hooks",          "metrics",       "media"};
  return scopes;
}

Result<ApiKeys::Loaded> ApiKeys::Load() {
  auto doc = store_.Get(kDocument);
  if (!doc.ok()) return doc.status();
  auto records = FromJson(doc->value);
  if (!records.ok()) return records.status();
  return Loaded{doc->version, std::make_shared<const Records>(std::move(records).value())};
}

Status ApiKeys::Update(const std::function<Status(Records&)>& change) {
  for (int attempt = 0; attempt < kMaxSaveAttempts; ++attempt) {
    auto loaded = Load();
    if (!loaded.ok()) return loaded.status();
    Records records = *loaded->records;
    if (Status st = change(records); !st.ok()) return st;
    auto saved = store_.Put(kDocument, loaded->version, ToJson(records).dump());
    if (saved.ok()) {
      std::lock_guard lock(mu_);
      cached_ = std::make_shared<const Records>(std::move(records));
      loaded_at_ms_ = clock_.MonotonicMs();
      return Status::Ok();
    }
    if (saved.status().code() != Code::kAborted) return saved.status();
  }
  return Unavailable("the API key list changed under every attempt to save it; try again");
}

Result<CreatedApiKey> ApiKeys::Create(const std::string& tenant, std::vector<std::string> scopes) {
  if (tenant.empty()) return InvalidArgument("an API key needs a tenant");
  if (scopes.empty()) return InvalidArgument("an API key needs at least one scope");
  const auto& known = ApiKeyScopes();
  for (const auto& s : scopes) {
    if (std::find(known.begin(), known.end(), s) == known.end())
      return InvalidArgument("unknown scope '" + s + "'");
  }
  auto id = RandomHex(8);
  auto secret = RandomHex(24);
  if (!id.ok()) return id.status();
  if (!secret.ok()) return secret.status();
  CreatedApiKey created;
  created.record = {*id, tenant, std::move(scopes), Sha256(*secret), clock_.NowMs(), 0};
  created.key = std::string(kPrefix) + *id + "_" + *secret;
  Status st = Update([&](Records& records) {
    records.push_back(created.record);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return created;
}

Status ApiKeys::Revoke(const std::string& id) {
  const int64_t now = clock_.NowMs();
  return Update([&](Records& records) {
    for (auto& r : records) {
      if (r.id != id) continue;
      if (r.revoked_ms == 0) r.revoked_ms = now;
      return Status::Ok();
    }
    return NotFound("no API key '" + id + "'");
  });
}

Result<std::vector<ApiKeyRecord>> ApiKeys::List(const std::string& tenant) {
  auto loaded = Load();
  if (!loaded.ok()) return loaded.status();
  std::vector<ApiKeyRecord> out;
  for (const auto& r : *loaded->records) {
    if (tenant.empty() || r.tenant == tenant) out.push_back(r);
  }
  return out;
}

std::shared_ptr<const ApiKeys::Records> ApiKeys::Current(bool id_unknown_before) {
  const int64_t now = clock_.MonotonicMs();
  {
    std::lock_guard lock(mu_);
    bool stale = cached_ == nullptr || now - loaded_at_ms_ >= reload_interval_ms_;
    bool forced =
        id_unknown_before && (forced_at_ms_ < 0 || now - forced_at_ms_ >= kForcedReloadGapMs);
    if (!stale && !forced) return cached_;
    if (forced) forced_at_ms_ = now;
  }
  auto loaded = Load();
  std::lock_guard lock(mu_);
  if (loaded.ok()) {
    cached_ = loaded->records;
    loaded_at_ms_ = now;
  }
  return cached_;  // the last good list when the store cannot be read
}

Result<ApiKeyRecord> ApiKeys::Authenticate(std::string_view presented) {
  if (presented.substr(0, kPrefix.size()) != kPrefix) return Unauthenticated("not an API key");
  std::string_view rest = presented.substr(kPrefix.size());
  size_t sep = rest.find('_');
  if (sep == std::string_view::npos) return Unauthenticated("malformed API key");
  std::string id(rest.substr(0, sep));
  std::string digest = Sha256(rest.substr(sep + 1));
  for (bool retried : {false, true}) {
    auto records = Current(retried);
    if (records == nullptr) return Unavailable("the API key list cannot be read");
    for (const auto& r : *records) {
      if (r.id != id) continue;
      bool same = r.secret_sha256.size() == digest.size() &&
                  CRYPTO_memcmp(r.secret_sha256.data(), digest.data(), digest.size()) == 0;
      if (!same || r.revoked_ms != 0) return Unauthenticated("API key refused");
      return r;
    }
  }
  return Unauthenticated("API key refused");
}

}  // namespace flare
