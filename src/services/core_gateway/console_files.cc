#include "services/core_gateway/console_files.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "services/core_gateway/api_call.h"

namespace flare {
namespace {

constexpr size_t kMaxFileBytes = 8 << 20;

std::string MimeOf(const std::string& path) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"}};
  for (const auto& [ext, type] : kTypes) {
    if (path.size() >= std::strlen(ext) &&
        path.compare(path.size() - std::strlen(ext), std::string::npos, ext) == 0)
      return type;
  }
  return "application/octet-stream";
}

HttpServerResponse NotFound() { return {404, "text/plain; charset=utf-8", "not found\n"}; }

}  // namespace

HttpServerResponse ConsoleFiles::Serve(const HttpServerRequest& request) const {
  if (request.method != "GET")
    return {405, "text/plain; charset=utf-8", "only GET\n", {{"Allow", "GET"}}};
  auto decoded = PercentDecode(request.path, false);
  if (!enabled() || !decoded || decoded->empty() || (*decoded)[0] != '/') return NotFound();
  std::string relative = *decoded == "/" ? "index.html" : decoded->substr(1);
  // Only plain names: no "..", no hidden files, no NUL, nothing absolute
  // ("//etc/passwd" would make the path absolute and drop the root).
  std::filesystem::path rel(relative);
  if (rel.has_root_path() || relative.find('\\') != std::string::npos) return NotFound();
  for (const auto& part : rel) {
    std::string p = part.string();
    if (p.empty() || p[0] == '.' || p.find('/') != std::string::npos ||
        p.find('\0') != std::string::npos)
      return NotFound();
  }
  std::filesystem::path full = std::filesystem::path(root_) / rel;
  std::error_code ec;
  if (std::filesystem::is_directory(full, ec)) full /= "index.html";
  // Nothing outside the root, symbolic links included.
  auto root = std::filesystem::canonical(root_, ec);
  auto real = std::filesystem::canonical(full, ec);
  if (ec || real.string().rfind(root.string() + "/", 0) != 0) return NotFound();
  if (!std::filesystem::is_regular_file(real, ec)) return NotFound();
  full = real;
  if (std::filesystem::file_size(full, ec) > kMaxFileBytes) return NotFound();
  std::ifstream in(full, std::ios::binary);
  if (!in) return NotFound();
  std::ostringstream body;
  body << in.rdbuf();
  return {200, MimeOf(full.string()), body.str(), {{"Cache-Control", "no-cache"}}};
}

std::string ResolveConsoleRoot(const std::string& configured) {
  if (!configured.empty()) return configured;
#ifdef FLARE_SOURCE_DIR
  std::string web = std::string(FLARE_SOURCE_DIR) + "/web";
  std::error_code ec;
  if (std::filesystem::is_regular_file(web + "/index.html", ec)) return web;
#endif
  return {};
}

}  // namespace flare
