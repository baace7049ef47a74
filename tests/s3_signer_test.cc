// The S3 adapter's pure parts: Signature Version 4 against AWS's published
// examples (S3 API reference, "Signature Calculations for the
// Authorization Header"), and the XML it reads and writes.
#include <gtest/gtest.h>

#include "adapters/s3/s3_signer.h"
#include "adapters/s3/s3_xml.h"

namespace flare {
namespace {

const SigV4Credentials kExampleCredentials = {
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
const char* kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(S3Signer, MatchesAwsGetObjectExample) {
  SigV4Request request;
  request.method = "GET";
  request.canonical_uri = "/test.txt";
  request.payload_sha256 = Sha256Hex("");
  ASSERT_EQ(request.payload_sha256, kEmptySha256);
  request.headers = {{"host", "examplebucket.s3.amazonaws.com"},
                     {"range", "bytes=0-9"},
                     {"x-amz-content-sha256", kEmptySha256},
                     {"x-amz-date", "20130524T000000Z"}};
  EXPECT_EQ(SigV4Authorization(request, kExampleCredentials),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(S3Signer, MatchesAwsListObjectsExampleWithASortedQuery) {
  SigV4Request request;
  request.method = "GET";
  request.canonical_uri = "/";
  request.query = {{"prefix", "J"}, {"max-keys", "2"}};
  request.payload_sha256 = kEmptySha256;
  request.headers = {{"host", "examplebucket.s3.amazonaws.com"},
                     {"x-amz-content-sha256", kEmptySha256},
                     {"x-amz-date", "20130524T000000Z"}};
  EXPECT_EQ(CanonicalQuery(request.query), "max-keys=2&prefix=J");
  std::string authorization = SigV4Authorization(request, kExampleCredentials);
  EXPECT_NE(authorization.find("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef"
                               "69dc6f7"),
            std::string::npos)
      << authorization;
}

TEST(S3Signer, EncodesAllButUnreservedBytesAndDatesInUtc) {
  EXPECT_EQ(UriEncode("a/b c~d.e_f-g", true), "a/b%20c~d.e_f-g");
  EXPECT_EQ(UriEncode("a/b+c=", false), "a%2Fb%2Bc%3D");
  EXPECT_EQ(UriEncode("\xC3\xA9", false), "%C3%A9");
  EXPECT_EQ(CanonicalQuery({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(AmzDate(1369353600000), "20130524T000000Z");
}

TEST(S3Xml, ListObjectsKeysAreUnescapedAndKeyCountIsNoKey) {
  auto listed = ParseListObjects(
      "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Name>media</Name><Prefix>t1/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
      "<IsTruncated>true</IsTruncated><Contents><Key>t1/a&amp;b&#x3C;c&#62;</Key>"
      "<Size>4</Size><ETag>&quot;x&quot;</ETag></Contents>"
      "<Contents><Key>t1/b</Key><LastModified>2026</LastModified><Size>12345678901</Size>"
      "</Contents></ListBucketResult>");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->objects.size(), 2u);
  EXPECT_EQ(listed->objects[0].key, "t1/a&b<c>");
  EXPECT_EQ(listed->objects[0].size, 4u);
  EXPECT_EQ(listed->objects[1].size, 12345678901u);
  EXPECT_TRUE(listed->truncated);
  auto empty = ParseListObjects(
      "<ListBucketResult><IsTruncated>false</IsTruncated>"
      "<KeyCount>0</KeyCount></ListBucketResult>");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->objects.empty());
  EXPECT_FALSE(empty->truncated);
}

TEST(S3Xml, MalformedDocumentsAreErrorsNotGuesses) {
  EXPECT_FALSE(ParseListObjects("<html>proxy error</html>").ok());
  EXPECT_FALSE(ParseListObjects("<ListBucketResult><Contents><Key>k</Key></Contents>"
                                "</ListBucketResult>")
                   .ok())
      << "no Size";
  EXPECT_FALSE(ParseListObjects("<ListBucketResult><Contents><Key>k&bogus;</Key><Size>1</Size>"
                                "</Contents></ListBucketResult>")
                   .ok());
  EXPECT_FALSE(XmlUnescape("a & b").has_value());
  EXPECT_FALSE(XmlUnescape("&#x110000;").has_value());
}

TEST(S3Xml, ListPartsAndTheCompleteBody) {
  auto parts = ParseListParts(
      "<ListPartsResult><UploadId>u</UploadId><PartNumberMarker>0</PartNumberMarker>"
      "<NextPartNumberMarker>3</NextPartNumberMarker><IsTruncated>true</IsTruncated>"
      "<Part><PartNumber>3</PartNumber><ETag>&quot;c3&quot;</ETag><Size>3</Size></Part>"
      "<Part><PartNumber>1</PartNumber><ETag>\"a1\"</ETag><Size>5</Size></Part>"
      "</ListPartsResult>");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  EXPECT_EQ(parts->etags, (std::map<int, std::string>{{1, "\"a1\""}, {3, "\"c3\""}}));
  EXPECT_TRUE(parts->truncated);
  EXPECT_EQ(parts->next_marker, 3);
  EXPECT_EQ(CompleteMultipartXml({{1, "\"a1\""}, {2, "\"b2\""}}),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;a1&quot;</ETag>"
            "</Part><Part><PartNumber>2</PartNumber><ETag>&quot;b2&quot;</ETag></Part>"
            "</CompleteMultipartUpload>");
}

TEST(S3Xml, ErrorCodeAndMessage) {
  EXPECT_EQ(S3ErrorText("<?xml version=\"1.0\"?><Error><Code>NoSuchUpload</Code><Message>The "
                        "upload &apos;x&apos; does not exist</Message></Error>"),
            "NoSuchUpload: The upload 'x' does not exist");
  EXPECT_EQ(S3ErrorText("<CompleteMultipartUploadResult/>"), "");
}

}  // namespace
}  // namespace flare
