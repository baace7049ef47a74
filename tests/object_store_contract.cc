// The ObjectStore contract (see object_store_contract.h).
#include "object_store_contract.h"

namespace flare {
namespace {

// Bytes that are not text: every value 0..255, then a counter.
std::string Binary(size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i * 7 + i / 256) & 0xff);
  return out;
}

std::vector<std::string> Keys(const ObjectPage& page) {
  std::vector<std::string> keys;
  for (const auto& o : page.objects) keys.push_back(o.key);
  return keys;
}

TEST_P(ObjectStoreContract, WhatIsPutComesBackWholeAndReplaced) {
  std::string data = Binary(70'000);
  ASSERT_TRUE(store_->Put("t1/media/a.bin", data).ok());
  auto got = store_->Get("t1/media/a.bin");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, data);
  auto head = store_->Head("t1/media/a.bin");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, data.size());
  ASSERT_TRUE(store_->Put("t1/media/a.bin", "short").ok());
  EXPECT_EQ(store_->Get("t1/media/a.bin").value(), "short");
  ASSERT_TRUE(store_->Put("t1/empty", "").ok());
  EXPECT_EQ(store_->Get("t1/empty").value(), "");
  EXPECT_EQ(store_->Head("t1/empty")->size, 0u);
}

TEST_P(ObjectStoreContract, RangesAreCutAtTheEndAndRefusedPastIt) {
  ASSERT_TRUE(store_->Put("k", "0123456789").ok());
  EXPECT_EQ(store_->Get("k", {2, 3}).value(), "234");
  EXPECT_EQ(store_->Get("k", {7, std::nullopt}).value(), "789");
  EXPECT_EQ(store_->Get("k", {8, 100}).value(), "89");
  EXPECT_EQ(store_->Get("k", {0, 0}).value(), "");
  auto past = store_->Get("k", {10, 1});
  EXPECT_EQ(past.status().code(), Code::kInvalidArgument);
  EXPECT_NE(past.status().message().find("past"), std::string::npos) << past.status().ToString();
}

TEST_P(ObjectStoreContract, MissingObjectsAreNotFoundAndDeletingIsIdempotent) {
  EXPECT_EQ(store_->Get("nope").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->Head("nope").status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->Delete("nope").ok());
  ASSERT_TRUE(store_->Put("t1/x", "x").ok());
  ASSERT_TRUE(store_->Delete("t1/x").ok());
  EXPECT_EQ(store_->Get("t1/x").status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->Delete("t1/x").ok());
  EXPECT_EQ(store_->Head("t1").status().code(), Code::kNotFound) << "a prefix is no object";
}

TEST_P(ObjectStoreContract, KeysThatCouldEscapeOrAreNotPlainAreRefusedNamingThem) {
  const std::vector<std::string> bad = {
      "",          "../etc/passwd",       "a/../b", "/abs", "a//b", "a/./b", "a/", "sp ace",
      "new\nline", std::string(1025, 'k')};
  for (const std::string& key : bad) {
    Status st = store_->Put(key, "x");
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << "'" << key << "'";
    EXPECT_EQ(store_->Get(key).status().code(), Code::kInvalidArgument) << key;
  }
  EXPECT_NE(store_->Put("a/../b", "x").message().find("a/../b"), std::string::npos);
  EXPECT_TRUE(store_->Put("Tenant_1/2026-11/file.v2.jpg", "ok").ok());
}

TEST_P(ObjectStoreContract, ListingIsByPrefixInKeyOrderAndPaged) {
  for (const char* key : {"t1/b", "t1/a", "t1/c/d", "t2/a", "t1x", "s1"}) {
    ASSERT_TRUE(store_->Put(key, key).ok());
  }
  auto first = store_->List("t1/", "", 2);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(Keys(*first), (std::vector<std::string>{"t1/a", "t1/b"}));
  EXPECT_EQ(first->objects[0].size, 4u);
  ASSERT_EQ(first->next_after, "t1/b");
  auto second = store_->List("t1/", first->next_after, 2);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(Keys(*second), (std::vector<std::string>{"t1/c/d"}));
  EXPECT_EQ(second->next_after, "");
  EXPECT_EQ(Keys(store_->List("", "", 1000).value()).size(), 6u);
  EXPECT_EQ(Keys(store_->List("t1/", "a", 10).value()).size(), 3u) << "`after` before the prefix";
  EXPECT_EQ(store_->List("t1/", "", 0).status().code(), Code::kInvalidArgument);
}

TEST_P(ObjectStoreContract, MultipartJoinsPartsInNumberOrderAndARetriedPartReplaces) {
  auto id = store_->StartMultipart("t1/big.bin");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  // Parts but the last of at least 5 MiB, as S3 requires (S3ObjectStore).
  std::string p1 = Binary(5 << 20), p2 = std::string(5 << 20, 'm'), p3 = Binary(3);
  ASSERT_TRUE(store_->PutPart("t1/big.bin", *id, 3, p3).ok());
  ASSERT_TRUE(store_->PutPart("t1/big.bin", *id, 1, "a first try that failed").ok());
  ASSERT_TRUE(store_->PutPart("t1/big.bin", *id, 2, p2).ok());
  ASSERT_TRUE(store_->PutPart("t1/big.bin", *id, 1, p1).ok());  // retried: replaces
  EXPECT_EQ(store_->Get("t1/big.bin").status().code(), Code::kNotFound) << "visible before done";
  Status missing = store_->CompleteMultipart("t1/big.bin", *id, 4);
  EXPECT_EQ(missing.code(), Code::kInvalidArgument);
  EXPECT_NE(missing.message().find("part 4"), std::string::npos) << missing.ToString();
  ASSERT_TRUE(store_->CompleteMultipart("t1/big.bin", *id, 3).ok());
  EXPECT_EQ(store_->Get("t1/big.bin").value(), p1 + p2 + p3);
  EXPECT_EQ(store_->PutPart("t1/big.bin", *id, 1, "late").code(), Code::kNotFound)
      << "a completed upload is over";
}

TEST_P(ObjectStoreContract, AbortedAndForeignUploadsAreNotFound) {
  auto id = store_->StartMultipart("t1/a");
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(store_->PutPart("t1/a", *id, 1, "x").ok());
  EXPECT_EQ(store_->PutPart("t1/other", *id, 1, "x").code(), Code::kNotFound)
      << "an upload belongs to its key";
  EXPECT_EQ(store_->PutPart("t1/a", *id, 0, "x").code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->PutPart("t1/a", *id, 10'001, "x").code(), Code::kInvalidArgument);
  ASSERT_TRUE(store_->AbortMultipart("t1/a", *id).ok());
  EXPECT_EQ(store_->CompleteMultipart("t1/a", *id, 1).code(), Code::kNotFound);
  EXPECT_EQ(store_->AbortMultipart("t1/a", *id).code(), Code::kNotFound);
  EXPECT_EQ(store_->PutPart("t1/a", "no-such-upload", 1, "x").code(), Code::kNotFound);
  EXPECT_EQ(store_->Get("t1/a").status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace flare
