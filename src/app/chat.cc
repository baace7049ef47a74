// `flare chat`: a small terminal client on the client library. It signs its
// own token with the server's secret from the same data dir (or
// auth.jwt_secret), so two terminals can chat right after `flare serve`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>

#include "app/commands.h"
#include "app/config_loader.h"
#include "client/flare_client.h"
#include "services/signaling/online/token.h"

namespace flare {
namespace {

std::mutex g_print_mu;

void PrintMessage(const std::string& me, const pb::Message& m) {
  std::lock_guard lock(g_print_mu);
  const std::string who = m.sender() == me ? "you" : m.sender();
  std::printf("[%s #%lld] %s: %s\n", m.conversation_id().c_str(), static_cast<long long>(m.seq()),
              who.c_str(), m.content().text().c_str());
  std::fflush(stdout);
}

void PrintHelp() {
  std::printf(
      "commands:\n"
      "  /to USER        talk to USER (following lines go to them)\n"
      "  @USER TEXT      send TEXT to USER\n"
      "  TEXT            send TEXT to the current peer\n"
      "  /list           your conversations\n"
      "  /quit           leave\n");
}

}  // namespace

int RunChat(const ChatFlags& flags) {
  auto config = LoadCommandConfig(flags.common);
  if (!config.ok()) {
    std::fprintf(stderr, "flare: %s\n", config.status().message().c_str());
    return 2;
  }
  auto token = IssueToken(*config, {flags.tenant, flags.user, flags.device, "cli", 0}, 0);
  if (!token.ok()) {
    std::fprintf(stderr, "flare: %s\n", token.status().message().c_str());
    return 2;
  }
  ClientOptions options;
  options.token = *token;
  options.port = static_cast<uint16_t>(config->ws_port);
  if (flags.quic) {
    options.transport = ClientOptions::Transport::kQuic;
    options.port = static_cast<uint16_t>(std::max<int64_t>(config->quic_port, 0));
    options.quic_insecure = flags.quic_insecure;
    if (!flags.quic_insecure) {
      options.quic_pinned_cert_file = !flags.quic_cert.empty() ? flags.quic_cert
                                      : !config->quic_cert_file.empty()
                                          ? config->quic_cert_file
                                          : config->data_dir + "/quic-dev-cert.pem";
    }
  }
  if (!flags.server.empty()) {
    auto colon = flags.server.rfind(':');
    options.host = flags.server.substr(0, colon);
    if (colon != std::string::npos) options.port = std::stoi(flags.server.substr(colon + 1));
  }
  FlareClient client(options);
  client.OnMessage([&](const pb::Message& m) {
    // This device's own sends are printed when acked.
    if (m.sender() == flags.user && m.sender_device() == flags.device) return;
    PrintMessage(flags.user, m);
  });
  client.OnFrame([](const pb::ServerFrame& f) {
    std::lock_guard lock(g_print_mu);
    if (f.has_going_away())
      std::printf("* server going away: %s\n", f.going_away().reason().c_str());
    if (f.has_error()) std::printf("* error: %s\n", f.error().message().c_str());
  });
  if (Status st = client.Connect(); !st.ok()) {
    std::fprintf(stderr, "flare: cannot connect to %s:%u: %s\n", options.host.c_str(), options.port,
                 st.message().c_str());
    return 1;
  }
  std::printf("connected as %s (device %s). /help for commands\n", flags.user.c_str(),
              flags.device.c_str());
  std::string peer, line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    if (line == "/quit") break;
    if (line == "/help") {
      PrintHelp();
      continue;
    }
    if (line.rfind("/to ", 0) == 0) {
      peer = line.substr(4);
      continue;
    }
    if (line == "/list") {
      auto list = client.Bootstrap();
      std::lock_guard lock(g_print_mu);
      if (!list.ok()) {
        std::printf("* %s\n", list.status().message().c_str());
        continue;
      }
      for (const auto& c : list->conversations()) {
        std::printf("  %s  max_seq=%lld unread=%lld\n", c.conversation_id().c_str(),
                    static_cast<long long>(c.max_seq()), static_cast<long long>(c.unread()));
      }
      continue;
    }
    std::string to = peer, text = line;
    if (line[0] == '@') {
      auto space = line.find(' ');
      to = line.substr(1, space - 1);
      text = space == std::string::npos ? "" : line.substr(space + 1);
    }
    if (to.empty()) {
      std::printf("* say who to talk to: /to USER\n");
      continue;
    }
    auto ack = client.SendText(to, text);
    std::lock_guard lock(g_print_mu);
    if (!ack.ok()) {
      std::printf("* not sent: %s\n", ack.status().message().c_str());
    } else {
      std::printf("[%s #%lld] you: %s\n", ack->conversation_id().c_str(),
                  static_cast<long long>(ack->seq()), text.c_str());
    }
  }
  client.Close();
  return 0;
}

}  // namespace flare
