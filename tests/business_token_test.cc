// Client tokens the business server signs itself (RS256, ES256) with the
// public key named by "kid", and admin tokens, which never log a client in.
#include <gtest/gtest.h>
#include <jwt.h>

#include <cstdlib>
#include <filesystem>

#include "services/signaling/online/token.h"
#include "support/test_crypto.h"

namespace flare {
namespace {

constexpr int64_t kNow = 1'800'000'000;
const std::string kSecret(40, 's');

// A token signed with `key` (a PEM private key, or an HMAC secret) by libjwt.
std::string Sign(jwt_alg_t alg, const std::string& key, const std::string& kid,
                 const std::string& tenant, const std::string& user, int64_t exp = kNow + 60) {
  jwt_t* j = nullptr;
  EXPECT_EQ(jwt_new(&j), 0);
  jwt_add_grant(j, "sub", user.c_str());
  jwt_add_grant(j, "tenant", tenant.c_str());
  jwt_add_grant(j, "device", "phone");
  jwt_add_grant_int(j, "exp", exp);
  if (!kid.empty()) jwt_add_header(j, "kid", kid.c_str());
  EXPECT_EQ(jwt_set_alg(j, alg, reinterpret_cast<const unsigned char*>(key.data()),
                        static_cast<int>(key.size())),
            0);
  char* encoded = jwt_encode_str(j);
  std::string token = encoded ? encoded : "";
  free(encoded);
  jwt_free(j);
  return token;
}

class BusinessTokens : public ::testing::Test {
 protected:
  BusinessTokens() : rsa_(testing::MakeRsaKey()), ec_(testing::MakeEcP256Key()) {
    std::filesystem::create_directories(dir_.path() + "/acme");
    dir_.Write("acme/rsa-2026.pem", rsa_.public_pem);
    dir_.Write("acme/ec-1.pem", ec_.public_pem);
  }
  testing::TempDir dir_;
  testing::TestKeyPair rsa_, ec_;
  TokenSigner signer_{kSecret, dir_.path()};
};

TEST_F(BusinessTokens, Rs256AndEs256TokensVerifyWithTheKeyTheirKidNames) {
  auto rs = signer_.Verify(Sign(JWT_ALG_RS256, rsa_.private_pem, "rsa-2026", "acme", "alice"), kNow);
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_EQ(rs->user_id, "alice");
  EXPECT_EQ(rs->tenant, "acme");
  auto es = signer_.Verify(Sign(JWT_ALG_ES256, ec_.private_pem, "ec-1", "acme", "bob"), kNow);
  ASSERT_TRUE(es.ok()) << es.status().ToString();
  EXPECT_EQ(es->user_id, "bob");
}

TEST_F(BusinessTokens, WrongKeysAlgorithmsTenantsAndKidsAreRefused) {
  // Signed by another key than the one kid names.
  auto other = testing::MakeRsaKey();
  EXPECT_FALSE(signer_.Verify(Sign(JWT_ALG_RS256, other.private_pem, "rsa-2026", "acme", "a"), kNow).ok());
  // The EC key named for an RS256 token: the key decides the algorithm.
  EXPECT_FALSE(signer_.Verify(Sign(JWT_ALG_RS256, rsa_.private_pem, "ec-1", "acme", "a"), kNow).ok());
  // The public key used as an HS256 secret (algorithm confusion).
  EXPECT_FALSE(signer_.Verify(Sign(JWT_ALG_HS256, rsa_.public_pem, "rsa-2026", "acme", "a"), kNow).ok());
  // Another tenant has no such key; a kid may not leave the folder.
  EXPECT_FALSE(signer_.Verify(Sign(JWT_ALG_RS256, rsa_.private_pem, "rsa-2026", "globex", "a"), kNow).ok());
  EXPECT_FALSE(signer_.Verify(Sign(JWT_ALG_RS256, rsa_.private_pem, "../acme/rsa-2026", "acme", "a"), kNow).ok());
  EXPECT_FALSE(signer_.Verify(Sign(JWT_ALG_RS256, rsa_.private_pem, "", "acme", "a"), kNow).ok());
  // Expired.
  EXPECT_FALSE(signer_.Verify(Sign(JWT_ALG_RS256, rsa_.private_pem, "rsa-2026", "acme", "a", kNow - 1), kNow).ok());
  // Without a keys folder only HS256 is accepted.
  TokenSigner hs_only(kSecret);
  EXPECT_FALSE(hs_only.Verify(Sign(JWT_ALG_RS256, rsa_.private_pem, "rsa-2026", "acme", "a"), kNow).ok());
  EXPECT_TRUE(hs_only.Verify(Sign(JWT_ALG_HS256, kSecret, "", "acme", "a"), kNow).ok());
}

TEST_F(BusinessTokens, AKeyAddedLaterWorksWithoutRestart) {
  auto next = testing::MakeEcP256Key();
  std::string token = Sign(JWT_ALG_ES256, next.private_pem, "ec-2", "acme", "carol");
  EXPECT_FALSE(signer_.Verify(token, kNow).ok());
  dir_.Write("acme/ec-2.pem", next.public_pem);
  EXPECT_TRUE(signer_.Verify(token, kNow).ok());
}

TEST(AdminTokens, AreNeverClientTokensNorTheOtherWayRound) {
  TokenSigner signer(kSecret);
  auto admin = signer.IssueAdmin({"*", "ops", 0}, kNow, 60);
  ASSERT_TRUE(admin.ok());
  auto claims = signer.VerifyAdmin(*admin, kNow);
  ASSERT_TRUE(claims.ok()) << claims.status().ToString();
  EXPECT_EQ(claims->tenant, "*");
  EXPECT_FALSE(signer.Verify(*admin, kNow).ok());
  auto client = signer.Issue({"acme", "alice", "d", "web", 0}, kNow, 60);
  ASSERT_TRUE(client.ok());
  EXPECT_FALSE(signer.VerifyAdmin(*client, kNow).ok());
  EXPECT_FALSE(signer.VerifyAdmin(*admin, kNow + 61).ok());
  EXPECT_FALSE(TokenSigner(std::string(40, 'x')).VerifyAdmin(*admin, kNow).ok());
}

}  // namespace
}  // namespace flare
