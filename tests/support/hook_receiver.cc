#include "support/hook_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "adapters/webhook/webhook_signature.h"

namespace flare::testing {

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool SendAll(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

HookReceiver::HookReceiver(std::string secret, int64_t window_s)
    : secret_(std::move(secret)), window_s_(window_s) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));  // port 0: the kernel picks
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  ::listen(listen_fd_, 64);
  handler_ = [](const ReceivedCall&) { return ReceiverReply{}; };
  acceptor_ = std::thread([this] { Accept(); });
}

HookReceiver::~HookReceiver() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    cv_.notify_all();
  }
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  for (auto& t : threads_) t.join();
}

std::string HookReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void HookReceiver::SetHandler(Handler handler) {
  std::lock_guard lock(mu_);
  handler_ = std::move(handler);
}

std::vector<ReceivedCall> HookReceiver::Calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

size_t HookReceiver::CallCount() const {
  std::lock_guard lock(mu_);
  return calls_.size();
}

bool HookReceiver::WaitForCalls(size_t n, int64_t timeout_ms) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [&] { return calls_.size() >= n; });
}

void HookReceiver::Accept() {
  while (true) {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;  // shut down
    std::lock_guard lock(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    open_fds_.push_back(fd);
    threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

bool HookReceiver::ReadRequest(int fd, std::string& buffer, ReceivedCall& call) {
  char chunk[8192];
  size_t header_end;
  while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
  }
  std::string head = buffer.substr(0, header_end);
  size_t pos = head.find("\r\n");  // the request line: METHOD path HTTP/1.1
  std::string request_line = head.substr(0, pos);
  size_t sp = request_line.find(' ');
  call.path = request_line.substr(sp + 1, request_line.rfind(' ') - sp - 1);
  while (pos != std::string::npos && pos < head.size()) {
    size_t next = head.find("\r\n", pos + 2);
    std::string line =
        head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    if (auto colon = line.find(':'); colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      call.headers[Lower(line.substr(0, colon))] = value;
    }
    pos = next;
  }
  size_t length =
      std::stoul(call.headers.count("content-length") ? call.headers["content-length"] : "0");
  size_t body_start = header_end + 4;
  while (buffer.size() < body_start + length) {
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
  }
  call.body = buffer.substr(body_start, length);
  buffer.erase(0, body_start + length);
  return true;
}

void HookReceiver::Serve(int fd) {
  std::string buffer;
  while (true) {
    ReceivedCall call;
    if (!ReadRequest(fd, buffer, call)) break;
    Status verified = VerifyWebhookSignature(secret_, call.headers["x-flare-timestamp"],
                                             call.headers["x-flare-signature"], call.body,
                                             NowSeconds() + clock_offset_s_.load(), window_s_);
    call.signature_ok = verified.ok();
    call.signature_error = verified.message();
    ReceiverReply reply{401, R"({"error":"bad signature"})", 0};
    {
      std::unique_lock lock(mu_);
      if (verified.ok() || !verify_signatures_) reply = handler_(call);
      calls_.push_back(call);
      cv_.notify_all();
      // A slow business server; ends early when the receiver is destroyed.
      cv_.wait_for(lock, std::chrono::milliseconds(reply.delay_ms), [&] { return stopping_; });
    }
    std::string response = "HTTP/1.1 " + std::to_string(reply.status) +
                           " X\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(reply.body.size()) + "\r\n\r\n" + reply.body;
    if (!SendAll(fd, response)) break;
    if (Lower(call.headers["connection"]) == "close") break;
  }
  std::lock_guard lock(mu_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  ::close(fd);
}

int HookReceiver::Post(const std::map<std::string, std::string>& headers,
                       const std::string& body) const {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port_);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  std::string request = "POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) request += k + ": " + v + "\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  SendAll(fd, request);
  std::string response;
  char chunk[4096];
  ssize_t n;
  while ((n = ::recv(fd, chunk, sizeof(chunk), 0)) > 0) response.append(chunk, n);
  ::close(fd);
  if (response.rfind("HTTP/1.1 ", 0) != 0) return -1;
  return std::stoi(response.substr(9, 3));
}

}  // namespace flare::testing
