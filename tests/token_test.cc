#include <gtest/gtest.h>
#include <jwt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "services/signaling/online/token.h"

namespace flare {
namespace {

constexpr int64_t kNow = 1'800'000'000;
const std::string kSecret(40, 's');

TEST(Token, IssuedTokenVerifies) {
  TokenSigner signer(kSecret);
  auto token = signer.Issue({"acme", "alice", "phone", "ios", 0}, kNow, 60);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  auto who = signer.Verify(*token, kNow + 10);
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_EQ(who->user_id, "alice");
  EXPECT_EQ(who->tenant, "acme");
  EXPECT_EQ(who->device, "phone");
  EXPECT_EQ(who->platform, "ios");
  EXPECT_EQ(who->expires_s, kNow + 60);
  EXPECT_EQ(who->issued_at_s, kNow);
}

TEST(Token, ExpiredTokenIsRejected) {
  TokenSigner signer(kSecret);
  auto token = signer.Issue({"default", "alice", "d", "web", 0}, kNow, 60);
  ASSERT_TRUE(token.ok());
  auto who = signer.Verify(*token, kNow + 60);
  ASSERT_FALSE(who.ok());
  EXPECT_EQ(who.status().code(), Code::kUnauthenticated);
  EXPECT_NE(who.status().message().find("expired"), std::string::npos);
}

TEST(Token, TokenSignedWithAnotherSecretIsRejected) {
  auto forged =
      TokenSigner(std::string(40, 'x')).Issue({"default", "alice", "d", "web", 0}, kNow, 60);
  ASSERT_TRUE(forged.ok());
  EXPECT_FALSE(TokenSigner(kSecret).Verify(*forged, kNow).ok());
}

TEST(Token, TamperedAndUnsignedTokensAreRejected) {
  TokenSigner signer(kSecret);
  auto token = signer.Issue({"default", "alice", "d", "web", 0}, kNow, 60);
  ASSERT_TRUE(token.ok());
  std::string tampered = *token;
  tampered[tampered.find('.') + 5] ^= 1;
  EXPECT_FALSE(signer.Verify(tampered, kNow).ok());
  // {"alg":"none"} header with the same payload and no signature.
  std::string payload = token->substr(token->find('.') + 1);
  payload = payload.substr(0, payload.find('.'));
  EXPECT_FALSE(signer.Verify("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + payload + ".", kNow).ok());
  EXPECT_FALSE(signer.Verify("", kNow).ok());
  EXPECT_FALSE(signer.Verify("not a token", kNow).ok());
}

TEST(Token, InvalidUserIdsCannotBeIssued) {
  EXPECT_FALSE(TokenSigner(kSecret).Issue({"default", "a:b", "d", "web", 0}, kNow, 60).ok());
}

// A token with every claim right but signed with `alg` over the same secret.
std::string SignedWith(jwt_alg_t alg, const std::string& secret) {
  jwt_t* j = nullptr;
  EXPECT_EQ(jwt_new(&j), 0);
  jwt_add_grant(j, "sub", "alice");
  jwt_add_grant(j, "tenant", "default");
  jwt_add_grant(j, "device", "d");
  jwt_add_grant_int(j, "exp", kNow + 60);
  jwt_set_alg(j, alg, reinterpret_cast<const unsigned char*>(secret.data()),
              static_cast<int>(secret.size()));
  char* encoded = jwt_encode_str(j);
  std::string token = encoded ? encoded : "";
  free(encoded);
  jwt_free(j);
  return token;
}

TEST(Token, ATokenWithoutIatHasNoIssueTime) {
  auto who = TokenSigner(kSecret).Verify(SignedWith(JWT_ALG_HS256, kSecret), kNow);
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_EQ(who->issued_at_s, 0);
}

TEST(Token, TokensWithAnotherAlgorithmAreRejected) {
  TokenSigner signer(kSecret);
  ASSERT_TRUE(signer.Verify(SignedWith(JWT_ALG_HS256, kSecret), kNow).ok());
  for (jwt_alg_t alg : {JWT_ALG_HS384, JWT_ALG_HS512}) {
    std::string token = SignedWith(alg, kSecret);
    ASSERT_FALSE(token.empty());
    auto who = signer.Verify(token, kNow);
    ASSERT_FALSE(who.ok()) << "alg " << alg;
    EXPECT_EQ(who.status().code(), Code::kUnauthenticated);
  }
}

TEST(JwtSecret, ConfiguredSecretShorterThan32BytesIsRefused) {
  Config config;
  config.jwt_secret = std::string(31, 'k');
  auto secret = ResolveJwtSecret(config);
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().code(), Code::kInvalidArgument);
  EXPECT_NE(secret.status().message().find("auth.jwt_secret"), std::string::npos);
  config.jwt_secret = std::string(32, 'k');
  EXPECT_TRUE(ResolveJwtSecret(config).ok());
}

class GeneratedSecret : public ::testing::Test {
 protected:
  GeneratedSecret() {
    std::string pattern = ::testing::TempDir() + "/flare-secret-XXXXXX";
    root_ = mkdtemp(pattern.data());
    config_.data_dir = root_ + "/data";
  }
  ~GeneratedSecret() override { std::filesystem::remove_all(root_); }
  static mode_t ModeOf(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
  }
  std::string root_;
  Config config_;
};

TEST_F(GeneratedSecret, IsCreatedPrivateAndReused) {
  auto first = ResolveJwtSecret(config_);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->size(), 64u);
  EXPECT_EQ(ModeOf(config_.data_dir + "/jwt.secret"), 0600u);
  EXPECT_EQ(ModeOf(config_.data_dir), 0700u);
  auto again = ResolveJwtSecret(config_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);
}

TEST_F(GeneratedSecret, APlantedFileBesideItIsNotWrittenThrough) {
  std::filesystem::create_directories(config_.data_dir);
  std::string elsewhere = root_ + "/elsewhere";
  ASSERT_EQ(symlink(elsewhere.c_str(), (config_.data_dir + "/jwt.secret.tmp").c_str()), 0);
  auto secret = ResolveJwtSecret(config_);
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(elsewhere)) << "the secret was written through a symlink";
  EXPECT_EQ(ModeOf(config_.data_dir + "/jwt.secret"), 0600u);
}

TEST_F(GeneratedSecret, ASecretFileOthersCanReadIsRefused) {
  std::filesystem::create_directories(config_.data_dir);
  std::string path = config_.data_dir + "/jwt.secret";
  std::ofstream(path) << std::string(64, 'a') << "\n";
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  auto secret = ResolveJwtSecret(config_);
  ASSERT_FALSE(secret.ok());
  EXPECT_NE(secret.status().message().find("0600"), std::string::npos);
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  EXPECT_EQ(*ResolveJwtSecret(config_), std::string(64, 'a'));
}

}  // namespace
}  // namespace flare
