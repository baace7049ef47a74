#include "adapters/s3/s3_object_store.h"

#include <curl/curl.h>

#include <mutex>

#include "adapters/s3/s3_signer.h"
#include "adapters/s3/s3_xml.h"

namespace flare {
namespace {

size_t AppendBody(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// "127.0.0.1:9000" of "http://127.0.0.1:9000/": sent as Host and signed.
std::string HostOf(const std::string& endpoint) {
  size_t start = endpoint.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  return endpoint.substr(start, endpoint.find('/', start) - start);
}

Status NoUpload(const std::string& key, const std::string& upload_id) {
  return NotFound("no upload '" + upload_id + "' of '" + key + "'");
}

}  // namespace

Result<std::unique_ptr<S3ObjectStore>> S3ObjectStore::Open(S3Options options) {
  while (!options.endpoint.empty() && options.endpoint.back() == '/') options.endpoint.pop_back();
  if (options.endpoint.rfind("http://", 0) != 0 && options.endpoint.rfind("https://", 0) != 0) {
    return InvalidArgument("S3 endpoint must start with http:// or https://: '" + options.endpoint +
                           "'");
  }
  if (options.bucket.empty() || options.region.empty() || options.access_key.empty() ||
      options.secret_key.empty()) {
    return InvalidArgument("S3 needs a bucket, a region, an access key and a secret key");
  }
  if (options.timeout_ms <= 0) return InvalidArgument("S3 timeout must be positive");
  static std::once_flag curl_initialised;
  std::call_once(curl_initialised, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return std::unique_ptr<S3ObjectStore>(new S3ObjectStore(std::move(options)));
}

Result<S3ObjectStore::Response> S3ObjectStore::Send(const Request& request) const {
  std::string path = "/" + UriEncode(options_.bucket, false);
  if (!request.key.empty()) path += "/" + UriEncode(request.key, true);
  SigV4Request to_sign;
  to_sign.method = request.method;
  to_sign.canonical_uri = path;
  to_sign.query = request.query;
  to_sign.payload_sha256 = Sha256Hex(request.body);
  to_sign.headers = {{"host", HostOf(options_.endpoint)},
                     {"x-amz-content-sha256", to_sign.payload_sha256},
                     {"x-amz-date", AmzDate(options_.clock->NowMs())}};
  std::string authorization =
      SigV4Authorization(to_sign, {options_.access_key, options_.secret_key, options_.region});

  curl_slist* headers = nullptr;
  for (const auto& [name, value] : to_sign.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  headers = curl_slist_append(headers, ("Authorization: " + authorization).c_str());
  headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  if (!request.range.empty()) {
    headers = curl_slist_append(headers, ("Range: " + request.range).c_str());
  }
  std::string query = CanonicalQuery(request.query);
  std::string url = options_.endpoint + path + (query.empty() ? "" : "?" + query);

  Response response;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Internal("S3: curl_easy_init failed");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  std::string method = request.method;
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method);
  }
  if (method == "PUT" || method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM (threads)
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    curl_off_t length = -1;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    response.content_length = length < 0 ? 0 : static_cast<uint64_t>(length);
  }
  curl_easy_cleanup(curl);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    return Unavailable("S3 " + options_.endpoint + ": " + method + " " + path + ": " +
                       curl_easy_strerror(rc));
  }
  return response;
}

Status S3ObjectStore::Check(const Response& response, const std::string& what) const {
  long code = response.status;
  // CompleteMultipartUpload may answer 200 with an <Error> document.
  std::string error = S3ErrorText(response.body);
  if (code >= 200 && code < 300 && error.empty()) return Status::Ok();
  std::string message = what + ": HTTP " + std::to_string(code) +
                        (error.empty() ? "" : " " + error) + " (S3 " + options_.endpoint + ")";
  if (code >= 200 && code < 300) return Internal(message);
  if (code == 404) return NotFound(message);
  if (code == 403) return PermissionDenied(message);
  if (code >= 500) return Unavailable(message);
  if (code >= 400) return InvalidArgument(message);
  return Internal(message);
}

Status S3ObjectStore::Put(const std::string& key, std::string_view data) {
  if (Status st = CheckObjectKey(key); !st.ok()) return st;
  auto response = Send({"PUT", key, {}, data, ""});
  if (!response.ok()) return response.status();
  return Check(*response, "put '" + key + "'");
}

Result<std::string> S3ObjectStore::Get(const std::string& key, const ByteRange& range) {
  if (Status st = CheckObjectKey(key); !st.ok()) return st;
  // A zero-length range needs no bytes, only the object's size.
  if (range.length && *range.length == 0) {
    auto head = Head(key);
    if (!head.ok()) return head.status();
    auto resolved = ResolveRange(key, head->size, range);
    if (!resolved.ok()) return resolved.status();
    return std::string();
  }
  std::string header;
  if (range.offset > 0 || range.length) {
    header = "bytes=" + std::to_string(range.offset) + "-" +
             (range.length ? std::to_string(range.offset + *range.length - 1) : "");
  }
  auto response = Send({"GET", key, {}, {}, header});
  if (!response.ok()) return response.status();
  if (response->status == 416) {
    // Past the end, or any range of an empty object (which the port allows
    // at offset 0): the size tells which, in the port's own words.
    auto head = Head(key);
    if (!head.ok()) return head.status();
    auto resolved = ResolveRange(key, head->size, range);
    if (!resolved.ok()) return resolved.status();
    if (head->size == 0) return std::string();
  }
  if (Status st = Check(*response, "get '" + key + "'"); !st.ok()) return st;
  if (response->status == 200 && !header.empty()) {  // a server that ignored the Range
    auto resolved = ResolveRange(key, response->body.size(), range);
    if (!resolved.ok()) return resolved.status();
    return response->body.substr(resolved->first, resolved->second - resolved->first);
  }
  return std::move(response->body);
}

Result<ObjectInfo> S3ObjectStore::Head(const std::string& key) {
  if (Status st = CheckObjectKey(key); !st.ok()) return st;
  auto response = Send({"HEAD", key, {}, {}, ""});
  if (!response.ok()) return response.status();
  if (response->status == 404) return NotFound("no object '" + key + "'");
  if (Status st = Check(*response, "head '" + key + "'"); !st.ok()) return st;
  return ObjectInfo{key, response->content_length};
}

Status S3ObjectStore::Delete(const std::string& key) {
  if (Status st = CheckObjectKey(key); !st.ok()) return st;
  auto response = Send({"DELETE", key, {}, {}, ""});
  if (!response.ok()) return response.status();
  if (response->status == 404) return Status::Ok();
  return Check(*response, "delete '" + key + "'");
}

Result<ObjectPage> S3ObjectStore::List(const std::string& prefix, const std::string& after,
                                       size_t limit) {
  if (limit < 1 || limit > 1000) return InvalidArgument("list limit must be 1..1000");
  std::map<std::string, std::string> query = {
      {"list-type", "2"}, {"prefix", prefix}, {"max-keys", std::to_string(limit)}};
  if (!after.empty()) query["start-after"] = after;
  auto response = Send({"GET", "", query, {}, ""});
  if (!response.ok()) return response.status();
  if (Status st = Check(*response, "list '" + prefix + "'"); !st.ok()) return st;
  auto listed = ParseListObjects(response->body);
  if (!listed.ok()) return listed.status();
  ObjectPage page;
  page.objects = std::move(listed->objects);
  if (listed->truncated && !page.objects.empty()) page.next_after = page.objects.back().key;
  return page;
}

Result<std::string> S3ObjectStore::StartMultipart(const std::string& key) {
  if (Status st = CheckObjectKey(key); !st.ok()) return st;
  auto response = Send({"POST", key, {{"uploads", ""}}, {}, ""});
  if (!response.ok()) return response.status();
  if (Status st = Check(*response, "start upload of '" + key + "'"); !st.ok()) return st;
  auto upload_id = XmlText(response->body, "UploadId");
  if (!upload_id || upload_id->empty()) {
    return Internal("S3 start upload of '" + key + "': no UploadId in the answer");
  }
  return *upload_id;
}

Status S3ObjectStore::PutPart(const std::string& key, const std::string& upload_id, int part_number,
                              std::string_view data) {
  if (Status st = CheckObjectKey(key); !st.ok()) return st;
  if (Status st = CheckPartNumber(part_number); !st.ok()) return st;
  if (upload_id.empty()) return NoUpload(key, upload_id);
  auto response = Send({"PUT",
                        key,
                        {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}},
                        data,
                        ""});
  if (!response.ok()) return response.status();
  return Check(*response, "part " + std::to_string(part_number) + " of upload '" + upload_id +
                              "' of '" + key + "'");
}

Result<std::map<int, std::string>> S3ObjectStore::ListPartETags(
    const std::string& key, const std::string& upload_id) const {
  std::map<int, std::string> etags;
  int marker = 0;
  while (true) {
    std::map<std::string, std::string> query = {{"uploadId", upload_id}};
    if (marker > 0) query["part-number-marker"] = std::to_string(marker);
    auto response = Send({"GET", key, query, {}, ""});
    if (!response.ok()) return response.status();
    if (Status st = Check(*response, "parts of upload '" + upload_id + "' of '" + key + "'");
        !st.ok()) {
      return st;
    }
    auto parts = ParseListParts(response->body);
    if (!parts.ok()) return parts.status();
    etags.merge(parts->etags);
    if (!parts->truncated || parts->next_marker <= marker) return etags;
    marker = parts->next_marker;
  }
}

Status S3ObjectStore::CompleteMultipart(const std::string& key, const std::string& upload_id,
                                        int part_count) {
  if (Status st = CheckObjectKey(key); !st.ok()) return st;
  if (Status st = CheckPartNumber(part_count); !st.ok()) return st;
  if (upload_id.empty()) return NoUpload(key, upload_id);
  auto etags = ListPartETags(key, upload_id);
  if (!etags.ok()) return etags.status();
  std::map<int, std::string> joined;
  for (int n = 1; n <= part_count; ++n) {
    auto part = etags->find(n);
    if (part == etags->end()) {
      return InvalidArgument("upload '" + upload_id + "' has no part " + std::to_string(n));
    }
    joined.insert(*part);
  }
  std::string body = CompleteMultipartXml(joined);
  auto response = Send({"POST", key, {{"uploadId", upload_id}}, body, ""});
  if (!response.ok()) return response.status();
  return Check(*response, "complete upload '" + upload_id + "' of '" + key + "'");
}

Status S3ObjectStore::AbortMultipart(const std::string& key, const std::string& upload_id) {
  if (Status st = CheckObjectKey(key); !st.ok()) return st;
  if (upload_id.empty()) return NoUpload(key, upload_id);
  auto response = Send({"DELETE", key, {{"uploadId", upload_id}}, {}, ""});
  if (!response.ok()) return response.status();
  return Check(*response, "abort upload '" + upload_id + "' of '" + key + "'");
}

}  // namespace flare
