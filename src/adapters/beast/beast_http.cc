// Boost.Beast HTTP server: health, metrics and the core-gateway API on
// http_port, whichever WebSocket server runs on ws_port. One of the few
// translation units that include Beast (it is slow to compile).
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cctype>
#include <optional>

#include "adapters/beast/beast_listeners.h"

namespace flare {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

class HttpSession final : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, const HttpHandler& handler, const TransportOptions& options)
      : stream_(std::move(socket)), handler_(handler), options_(options) {}

  void Read() {
    parser_.emplace();
    parser_->body_limit(options_.max_http_body_bytes);
    stream_.expires_after(std::chrono::milliseconds(options_.http_timeout_ms));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (!ec) return self->Dispatch();
                       if (ec == http::error::body_limit) self->RefuseTooLarge();
                     });
  }

 private:
  // Hands the request to the handler; its answer may come from any thread
  // and is written on this connection's own executor.
  void Dispatch() {
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    HttpServerRequest request;
    request.method = std::string(req.method_string());
    std::string_view target(req.target().data(), req.target().size());
    request.path = std::string(PathOf(target));
    if (auto q = target.find('?'); q != std::string_view::npos)
      request.query = std::string(target.substr(q + 1));
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    request.body = std::move(req.body());
    request.remote_address = PeerAddress(request.from_loopback);
    parser_.reset();
    auto executor = stream_.get_executor();
    handler_(std::move(request),
             [self = shared_from_this(), executor](HttpServerResponse response) {
               asio::post(executor, [self, response = std::move(response)]() mutable {
                 self->Write(std::move(response));
               });
             });
  }

  void RefuseTooLarge() {
    keep_alive_ = false;  // the rest of the body is still on the wire
    version_ = 11;
    Write({413, "application/json",
           "{\"error\":{\"code\":\"payload_too_large\",\"message\":\"the request body is "
           "larger than " +
               std::to_string(options_.max_http_body_bytes) + " bytes\",\"request_id\":\"\"}}\n"});
  }

  void Write(HttpServerResponse r) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), version_);
    res->set(http::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) res->set(name, value);
    res->keep_alive(keep_alive_);
    res->body() = std::move(r.body);
    res->prepare_payload();
    stream_.expires_after(std::chrono::milliseconds(options_.http_timeout_ms));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (!ec && res->keep_alive()) return self->Read();
                        beast::error_code ignored;
                        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                      });
  }

  std::string PeerAddress(bool& loopback) {
    beast::error_code ec;
    auto address = stream_.socket().remote_endpoint(ec).address();
    loopback = false;
    if (ec) return {};
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    loopback = address.is_loopback();
    return address.to_string();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const HttpHandler& handler_;
  const TransportOptions& options_;
  bool keep_alive_ = false;
  unsigned version_ = 11;
};

class BeastHttpListener final : public Listener {
 public:
  BeastHttpListener(const TransportOptions& options, HttpHandler handler)
      : options_(options), handler_(std::move(handler)) {}

  Result<uint16_t> Start(IoPool& pool) override {
    return accept_.Start(
        pool, options_.bind_address, options_.http_port, [this](tcp::socket socket, size_t) {
          std::make_shared<HttpSession>(std::move(socket), handler_, options_)->Read();
        });
  }

  void StopAccepting() override { accept_.Close(); }

 private:
  TransportOptions options_;
  HttpHandler handler_;
  AcceptLoop accept_;
};

}  // namespace

std::unique_ptr<Listener> MakeBeastHttpListener(const TransportOptions& options,
                                                HttpHandler handler) {
  return std::make_unique<BeastHttpListener>(options, std::move(handler));
}

}  // namespace flare
