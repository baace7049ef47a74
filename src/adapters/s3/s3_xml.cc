#include "adapters/s3/s3_xml.h"

#include <charconv>

namespace flare {
namespace {

bool ParseUint(std::string_view text, uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// One entity's text between '&' and ';' appended to `out`; false if unknown.
bool AppendEntity(std::string_view entity, std::string& out) {
  if (entity == "amp") return out += '&', true;
  if (entity == "lt") return out += '<', true;
  if (entity == "gt") return out += '>', true;
  if (entity == "quot") return out += '"', true;
  if (entity == "apos") return out += '\'', true;
  if (entity.size() < 2 || entity[0] != '#') return false;
  uint32_t cp = 0;
  bool hex = entity[1] == 'x' || entity[1] == 'X';
  std::string_view digits = entity.substr(hex ? 2 : 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
      cp > 0x10FFFF) {
    return false;
  }
  AppendUtf8(cp, out);
  return true;
}

}  // namespace

std::optional<std::string> XmlUnescape(std::string_view text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '&') {
      out += text[i++];
      continue;
    }
    size_t semi = text.find(';', i);
    if (semi == std::string_view::npos || !AppendEntity(text.substr(i + 1, semi - i - 1), out)) {
      return std::nullopt;
    }
    i = semi + 1;
  }
  return out;
}

std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view name) {
  std::vector<std::string_view> found;
  std::string open = "<" + std::string(name);
  std::string close = "</" + std::string(name) + ">";
  size_t pos = 0;
  while ((pos = xml.find(open, pos)) != std::string_view::npos) {
    size_t after = pos + open.size();
    if (after >= xml.size()) break;
    char next = xml[after];
    if (next != '>' && next != ' ' && next != '/' && next != '\t' && next != '\n') {
      pos = after;  // a longer name that starts with this one
      continue;
    }
    size_t tag_end = xml.find('>', after);
    if (tag_end == std::string_view::npos) break;
    if (xml[tag_end - 1] == '/') {  // <name/>
      found.emplace_back();
      pos = tag_end + 1;
      continue;
    }
    size_t end = xml.find(close, tag_end + 1);
    if (end == std::string_view::npos) break;
    found.push_back(xml.substr(tag_end + 1, end - tag_end - 1));
    pos = end + close.size();
  }
  return found;
}

std::optional<std::string> XmlText(std::string_view xml, std::string_view name) {
  auto elements = XmlElements(xml, name);
  if (elements.empty()) return std::nullopt;
  return XmlUnescape(elements.front());
}

Result<S3ListObjects> ParseListObjects(std::string_view xml) {
  if (XmlElements(xml, "ListBucketResult").empty()) {
    return Internal("S3 ListObjectsV2: no ListBucketResult in the response");
  }
  S3ListObjects result;
  for (std::string_view contents : XmlElements(xml, "Contents")) {
    auto key = XmlText(contents, "Key");
    auto size_text = XmlText(contents, "Size");
    uint64_t size = 0;
    if (!key || !size_text || !ParseUint(*size_text, size)) {
      return Internal("S3 ListObjectsV2: an entry without a valid Key and Size");
    }
    result.objects.push_back({std::move(*key), size});
  }
  result.truncated = XmlText(xml, "IsTruncated").value_or("false") == "true";
  return result;
}

Result<S3ListParts> ParseListParts(std::string_view xml) {
  if (XmlElements(xml, "ListPartsResult").empty()) {
    return Internal("S3 ListParts: no ListPartsResult in the response");
  }
  S3ListParts result;
  for (std::string_view part : XmlElements(xml, "Part")) {
    auto number_text = XmlText(part, "PartNumber");
    auto etag = XmlText(part, "ETag");
    uint64_t number = 0;
    if (!number_text || !etag || !ParseUint(*number_text, number) || number < 1 ||
        number > 10'000) {
      return Internal("S3 ListParts: a part without a valid PartNumber and ETag");
    }
    result.etags[static_cast<int>(number)] = std::move(*etag);
  }
  result.truncated = XmlText(xml, "IsTruncated").value_or("false") == "true";
  uint64_t marker = 0;
  if (ParseUint(XmlText(xml, "NextPartNumberMarker").value_or(""), marker)) {
    result.next_marker = static_cast<int>(marker);
  }
  return result;
}

std::string CompleteMultipartXml(const std::map<int, std::string>& etags) {
  std::string out = "<CompleteMultipartUpload>";
  for (const auto& [number, etag] : etags) {
    out += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>" + XmlEscape(etag) +
           "</ETag></Part>";
  }
  return out + "</CompleteMultipartUpload>";
}

std::string S3ErrorText(std::string_view xml) {
  auto error = XmlElements(xml, "Error");
  if (error.empty()) return "";
  std::string code = XmlText(error.front(), "Code").value_or("");
  std::string message = XmlText(error.front(), "Message").value_or("");
  return message.empty() ? code : code + ": " + message;
}

}  // namespace flare
