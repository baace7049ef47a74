#include <gtest/gtest.h>

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

}  // namespace
}  // namespace flare
