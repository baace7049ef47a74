#include "hook_sink.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "adapters/webhook/webhook_signature.h"
#include "hooks/v1/hooks.grpc.pb.h"

namespace flare::bench {
namespace {

// The value of header `name` (lower case) in `head`, or "".
std::string Header(const std::string& head, const std::string& name) {
  std::string lower = head;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  size_t at = lower.find("\r\n" + name + ":");
  if (at == std::string::npos) return "";
  size_t start = head.find_first_not_of(' ', at + name.size() + 3);
  return head.substr(start, head.find("\r\n", start) - start);
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::unique_ptr<HookSink>> HookSink::Start(std::string secret, int delay_ms) {
  auto sink = std::unique_ptr<HookSink>(new HookSink(std::move(secret), delay_ms));
  sink->listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (sink->listen_fd_ < 0 ||
      ::bind(sink->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(sink->listen_fd_, 1024) != 0 ||
      ::getsockname(sink->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return IoError("hook sink: cannot listen");
  }
  sink->port_ = ntohs(addr.sin_port);
  sink->acceptor_ = std::thread([s = sink.get()] { s->Accept(); });
  return sink;
}

HookSink::~HookSink() {
  stopping_ = true;
  {
    std::lock_guard lock(mu_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  }
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  for (auto& t : threads_) t.join();
  ::close(listen_fd_);
}

std::string HookSink::url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }

void HookSink::Accept() {
  while (true) {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    std::lock_guard lock(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    fds_.push_back(fd);
    threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

void HookSink::Serve(int fd) {
  std::string buffer;
  char chunk[16384];
  const std::string reply =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\n\r\n{}";
  while (!stopping_) {
    size_t end;
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) return;
      buffer.append(chunk, static_cast<size_t>(n));
    }
    std::string head = buffer.substr(0, end);
    size_t length = std::stoul("0" + Header(head, "content-length"));
    while (buffer.size() < end + 4 + length) {
      ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) return;
      buffer.append(chunk, static_cast<size_t>(n));
    }
    std::string body = buffer.substr(end + 4, length);
    buffer.erase(0, end + 4 + length);
    calls_.fetch_add(1);
    if (!VerifyWebhookSignature(secret_, Header(head, "x-flare-timestamp"),
                                Header(head, "x-flare-signature"), body, NowSeconds())
             .ok()) {
      bad_signatures_.fetch_add(1);
    }
    // The business server's own work.
    if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
    if (::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(reply.size())) {
      return;
    }
  }
}

Status PutBenchHook(int admin_port, const std::string& token, const std::string& url,
                    const std::string& secret) {
  auto stub = ::hooks::v1::HookAdminService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(admin_port), grpc::InsecureChannelCredentials()));
  ::hooks::v1::PutHookRequest request;
  auto* hook = request.mutable_hook();
  hook->set_name("bench");
  hook->set_point("pre_send");
  hook->set_url(url);
  hook->set_secret(secret);
  hook->set_timeout_ms(5'000);
  hook->set_failure_policy("fail_closed");  // a failed call shows up as a bench error
  hook->set_max_concurrency(100'000);
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ::hooks::v1::PutHookResponse response;
  grpc::Status status = stub->PutHook(&context, request, &response);
  if (!status.ok()) return Unavailable("hook admin PutHook: " + status.error_message());
  return Status::Ok();
}

}  // namespace flare::bench
