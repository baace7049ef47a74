// flare: one executable for every role. This file only parses flags.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "app/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Flare instant-messaging core"};
  app.set_version_flag("--version", std::string("flare ") + FLARE_VERSION);
  app.require_subcommand(1);

  auto add_common = [](CLI::App* cmd, flare::CommonFlags& f) {
    cmd->add_option("--config", f.config_path, "TOML config file")->check(CLI::ExistingFile);
    cmd->add_option("--data-dir", f.data_dir, "data directory (overrides server.data_dir)");
  };

  flare::ServeFlags serve;
  auto* serve_cmd = app.add_subcommand(
      "serve", "run every service in one process (embedded), or some roles (--role)");
  add_common(serve_cmd, serve.common);
  serve_cmd->add_option("--http-port", serve.http_port, "HTTP port")->check(CLI::Range(0, 65535));
  serve_cmd->add_option("--ws-port", serve.ws_port, "WebSocket port")->check(CLI::Range(0, 65535));
  serve_cmd->add_option("--role", serve.roles,
                        "roles to run, comma-separated seed module names (storage-reader, "
                        "session, ...); \"all\" = embedded (overrides server.roles)");

  flare::TokenFlags token;
  auto* token_cmd = app.add_subcommand("token", "print a signed login token (JWT)");
  add_common(token_cmd, token.common);
  auto* user_opt = token_cmd->add_option("--user", token.user, "user id");
  token_cmd
      ->add_flag("--admin", token.admin,
                 "an admin token for the HTTP API (of --tenant; \"*\" = every tenant)")
      ->excludes(user_opt);
  token_cmd->add_option("--tenant", token.tenant, "tenant id");
  token_cmd->add_option("--device", token.device, "device id");
  token_cmd->add_option("--platform", token.platform, "platform (ios, android, web, ...)");
  token_cmd->add_option("--ttl", token.ttl_s, "lifetime in seconds")->check(CLI::PositiveNumber);

  flare::ChatFlags chat;
  auto* chat_cmd = app.add_subcommand("chat", "interactive terminal client");
  add_common(chat_cmd, chat.common);
  chat_cmd->add_option("--user", chat.user, "your user id")->required();
  chat_cmd->add_option("--device", chat.device, "your device id");
  chat_cmd->add_option("--tenant", chat.tenant, "tenant id");
  chat_cmd->add_option("--server", chat.server, "HOST:PORT of the gateway (WebSocket, or QUIC)");
  chat_cmd->add_flag("--quic", chat.quic, "connect over QUIC (UDP server.quic_port) instead of WebSocket");
  chat_cmd->add_option("--quic-cert", chat.quic_cert,
                       "PEM certificate the server must present (default: server.quic_cert_file, "
                       "else <data_dir>/quic-dev-cert.pem)");
  chat_cmd->add_flag("--quic-insecure", chat.quic_insecure,
                     "accept any server certificate (development only)");

  flare::CommonFlags migrate;
  auto* migrate_cmd =
      app.add_subcommand("migrate", "bring the configured store's schema to this version");
  add_common(migrate_cmd, migrate);

  flare::ApiKeyFlags apikey;
  auto* apikey_cmd = app.add_subcommand("apikey", "create, revoke or list HTTP API keys");
  add_common(apikey_cmd, apikey.common);
  apikey_cmd->add_option("action", apikey.action, "create | revoke | list")
      ->required()
      ->check(CLI::IsMember({"create", "revoke", "list"}));
  apikey_cmd->add_option("--tenant", apikey.tenant, "the key's tenant (create; list filter)");
  apikey_cmd
      ->add_option("--scope", apikey.scopes,
                   "scopes (create): *, tokens, messages:write, messages:read, groups, "
                   "presence, push, hooks, metrics, media")
      ->delimiter(',');
  apikey_cmd->add_option("--id", apikey.id, "the key's id (revoke)");

  CLI11_PARSE(app, argc, argv);
  if (token_cmd->parsed() && !token.admin && token.user.empty()) {
    std::fprintf(stderr, "flare token: --user is required (or --admin)\n");
    return 2;
  }
  if (apikey_cmd->parsed()) return flare::RunApiKey(apikey);
  if (migrate_cmd->parsed()) return flare::RunMigrate(migrate);
  if (serve_cmd->parsed()) return flare::RunServe(serve);
  if (token_cmd->parsed()) return flare::RunToken(token);
  if (chat_cmd->parsed()) return flare::RunChat(chat);
  return 2;
}
