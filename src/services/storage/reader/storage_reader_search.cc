// LocalStorageReader::Search: checks the request, asks the store's
// MessageSearch, keeps back what is not durable yet, cuts the page by size
// and hands out an opaque token for the next one.
#include <algorithm>
#include <charconv>

#include "services/storage/reader/storage_reader.h"

namespace flare {

namespace pb = ::flare::client::v1;

namespace {

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64UrlEncode(std::string_view in) {
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (unsigned char c : in) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += kBase64Url[(bits >> count) & 63];
    }
  }
  if (count > 0) out += kBase64Url[(bits << (6 - count)) & 63];
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view in) {
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : in) {
    const char* p = std::find(kBase64Url, kBase64Url + 64, c);
    if (p == kBase64Url + 64) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(p - kBase64Url);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

// The token is the last hit's place, "<server_time_ms>.<seq>.<conversation>",
// base64url: opaque to clients, and nothing in it is trusted (the search is
// checked for membership whatever the token says).
std::string EncodePageToken(const SearchPosition& p) {
  return Base64UrlEncode(std::to_string(p.server_time_ms) + "." + std::to_string(p.seq) + "." +
                         p.conversation_id);
}

bool ParseInt(std::string_view s, int64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

Result<SearchPosition> DecodePageToken(const std::string& token) {
  const Status bad = InvalidArgument("page_token is not one this server issued");
  auto raw = Base64UrlDecode(token);
  if (!raw) return bad;
  size_t first = raw->find('.');
  size_t second = first == std::string::npos ? first : raw->find('.', first + 1);
  if (second == std::string::npos) return bad;
  SearchPosition p;
  std::string_view view(*raw);
  if (!ParseInt(view.substr(0, first), p.server_time_ms) ||
      !ParseInt(view.substr(first + 1, second - first - 1), p.seq) || p.seq <= 0) {
    return bad;
  }
  p.conversation_id = raw->substr(second + 1);
  if (p.conversation_id.empty()) return bad;
  return p;
}

// Well-formed UTF-8 (a client frame's text always is; an HTTP query string
// need not be, and PostgreSQL refuses malformed text).
bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t extra = 0;  // continuation bytes after the lead byte
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
    } else if (c >= 0x80) {
      return false;
    }
    if (s.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += 1 + extra;
  }
  return true;
}

Status CheckSearchRequest(const pb::SearchRequest& request) {
  if (request.text().find_first_not_of(" \t\r\n") == std::string::npos) {
    return InvalidArgument("search text is empty");
  }
  if (request.text().size() > SearchLimits::kMaxTextBytes) {
    return InvalidArgument("search text is longer than " +
                           std::to_string(SearchLimits::kMaxTextBytes) + " bytes");
  }
  if (!IsUtf8(request.text())) return InvalidArgument("search text is not valid UTF-8");
  if (request.limit() < 0) return InvalidArgument("limit must not be negative");
  return Status::Ok();
}

}  // namespace

Result<pb::SearchResult> LocalStorageReader::Search(const Principal& who,
                                                    const pb::SearchRequest& request) {
  FLARE_RETURN_IF_ERROR(CheckSearchRequest(request));
  if (search_ == nullptr) return Internal("this server's store does not support search");
  SearchQuery query{who.tenant, who.user_id, SearchWords(request.text())};
  query.limit = request.limit() == 0 ? SearchLimits::kDefaultLimit
                                     : std::min(request.limit(), SearchLimits::kMaxLimit);
  if (!request.page_token().empty()) {
    auto after = DecodePageToken(request.page_token());
    if (!after.ok()) return after.status();
    query.after = std::move(after).value();
  }
  if (!request.conversation_id().empty() || !request.peer_user_id().empty()) {
    auto conv = access_.Resolve(who, request.peer_user_id(), request.conversation_id());
    if (!conv.ok()) return conv.status();
    query.conversation_id = conv->conversation_id;
  }
  pb::SearchResult result;
  if (query.words.empty()) return result;  // only separators: nothing to find
  auto page = search_->Search(query);
  if (!page.ok()) return page.status();
  if (page->hits.empty()) return result;
  // Where the next page starts: after the last hit the store examined,
  // unless the size cut the page short of it.
  SearchPosition next = PositionOf(page->hits.back());
  bool more = page->more;
  size_t bytes = 0;
  for (auto& hit : page->hits) {
    // Asked after the store read: a row it saw was held before it was
    // committed, so a hit not held now is durable.
    if (fence_ && hit.seq() > fence_->VisibleUpTo(who.tenant, hit.conversation_id())) continue;
    size_t size = hit.ByteSizeLong();
    if (result.messages_size() > 0 && bytes + size > limits_.max_page_bytes) {
      next = PositionOf(result.messages(result.messages_size() - 1));
      more = true;
      break;
    }
    bytes += size;
    result.add_messages()->Swap(&hit);
  }
  if (more) result.set_next_page_token(EncodePageToken(next));
  return result;
}

}  // namespace flare
