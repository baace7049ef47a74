// The few S3 XML documents the adapter reads and writes, with a small
// parser that is enough for them: S3's responses are flat, without
// comments, CDATA or repeated nesting of one element name. Text is
// XML-unescaped (&amp; &lt; &gt; &quot; &apos; and numeric references).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/xml_escape.h"
#include "ports/object_store.h"

namespace flare {

// nullopt for a malformed or unknown entity.
std::optional<std::string> XmlUnescape(std::string_view text);

// The raw contents of each <name>...</name> (or empty for <name/>) in
// document order; a name matches whole (<Key> is not <KeyCount>).
std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view name);
// The unescaped text of the first <name>, or nullopt.
std::optional<std::string> XmlText(std::string_view xml, std::string_view name);

struct S3ListObjects {
  std::vector<ObjectInfo> objects;
  bool truncated = false;
};
// ListObjectsV2's ListBucketResult.
Result<S3ListObjects> ParseListObjects(std::string_view xml);

struct S3ListParts {
  std::map<int, std::string> etags;  // part number -> ETag (with its quotes)
  bool truncated = false;
  int next_marker = 0;
};
// ListParts' ListPartsResult.
Result<S3ListParts> ParseListParts(std::string_view xml);

// CompleteMultipartUpload's request body for parts 1..n of `etags`.
std::string CompleteMultipartXml(const std::map<int, std::string>& etags);

// "Code: Message" of an S3 <Error> document, or "" when there is none.
std::string S3ErrorText(std::string_view xml);

}  // namespace flare
