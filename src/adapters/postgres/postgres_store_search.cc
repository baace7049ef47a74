// The PostgreSQL store's message search: PostgreSQL's full-text search with
// the 'simple' configuration (lowercased words, no stemming, no stop
// words, like the other adapters) over messages.search_text, through the
// GIN expression index of schema migration 8. The writer fills search_text
// and hides_seq in the batch's own COPY and updates, so the index changes
// in the batch's transaction.
#include <spdlog/spdlog.h>

#include "adapters/postgres/postgres_store.h"
#include "adapters/storage_record.h"
#include "adapters/stored_message.h"

namespace flare {
namespace {

// Newest first. The member join keeps the user's conversations from the
// join point on; NOT EXISTS drops what the user deleted for themself. The
// text condition repeats the index's expression and predicate so the
// planner can use it.
constexpr const char* kSearch =
    "SELECT m.format, m.body FROM messages m JOIN members mb ON mb.tenant = m.tenant "
    "AND mb.conversation_id = m.conversation_id AND mb.user_id = $2 "
    "WHERE m.tenant = $1 AND ($3 = '' OR m.conversation_id = $3) AND m.search_text <> '' "
    "AND to_tsvector('simple'::regconfig, m.search_text) @@ to_tsquery('simple'::regconfig, $4) "
    "AND m.seq >= mb.joined_seq "
    "AND NOT EXISTS (SELECT 1 FROM messages e WHERE e.tenant = m.tenant "
    "AND e.conversation_id = m.conversation_id AND e.hides_seq = m.seq AND e.sender = $2) "
    "AND ($5::int = 0 OR (m.server_time_ms, m.conversation_id, m.seq) < "
    "($6::bigint, $7::text, $8::bigint)) "
    "ORDER BY m.server_time_ms DESC, m.conversation_id DESC, m.seq DESC LIMIT $9";

constexpr const char* kUnsearched =
    "SELECT tenant, conversation_id, seq, server_time_ms, format, body FROM messages "
    "WHERE search_text IS NULL LIMIT 500";
constexpr const char* kSetSearchColumns =
    "UPDATE messages SET search_text = $5, hides_seq = NULLIF($6::bigint, 0) "
    "WHERE tenant = $1 AND conversation_id = $2 AND seq = $3 AND server_time_ms = $4";

// Each word quoted as a tsquery operand with a prefix match, joined by AND.
// Words hold only letters, digits and non-ASCII bytes, so they cannot
// carry an operator; the quoting keeps it so should that ever change.
std::string TsQuery(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& word : words) {
    if (!out.empty()) out += " & ";
    out += '\'';
    for (char c : word) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    out += "':*";
  }
  return out;
}

}  // namespace

Result<SearchPage> PostgresStore::Search(const SearchQuery& query) {
  SearchPage page;
  if (query.words.empty() || query.limit <= 0) return page;
  const SearchPosition after = query.after.value_or(SearchPosition{});
  // One row more than asked tells whether another page exists.
  auto res = Read(
      kSearch, {query.tenant, query.user_id, query.conversation_id, TsQuery(query.words),
                query.after ? "1" : "0", std::to_string(after.server_time_ms),
                after.conversation_id, std::to_string(after.seq), std::to_string(query.limit + 1)});
  if (!res.ok()) return res.status();
  int rows = PQntuples(res->get());
  page.more = rows > query.limit;
  for (int i = 0; i < rows && i < query.limit; ++i) {
    auto format = static_cast<storage_record::Format>(pg::Int(res->get(), i, 0));
    auto m = storage_record::Decode(format, pg::Bytea(res->get(), i, 1));
    if (!m.ok()) return m.status();
    page.hits.push_back(std::move(m).value());
  }
  return page;
}

// In chunks, one transaction each, so the writer's batches never wait long.
Result<int64_t> PostgresStore::BackfillSearch(PGconn* conn) {
  int64_t total = 0;
  for (;;) {
    auto res = pg::Exec(conn, server_, kUnsearched);
    if (!res.ok()) return res.status();
    const PGresult* rows = res->get();
    int n = PQntuples(rows);
    if (n == 0) break;
    std::vector<pg::Statement> statements;
    statements.push_back({"BEGIN", {}});
    for (int i = 0; i < n; ++i) {
      std::string text;
      int64_t hides = 0;
      auto format = static_cast<storage_record::Format>(pg::Int(rows, i, 4));
      auto m = storage_record::Decode(format, pg::Bytea(rows, i, 5));
      if (m.ok()) {
        text = stored::SearchText(*m);
        hides = stored::HiddenSeq(*m);
      } else {  // '' all the same: it is not looked at again
        spdlog::warn("PostgreSQL at {}: a message body of {} does not decode; not searchable",
                     server_, pg::Text(rows, i, 1));
      }
      statements.push_back({kSetSearchColumns,
                            {{pg::Text(rows, i, 0)},
                             {pg::Text(rows, i, 1)},
                             {pg::Text(rows, i, 2)},
                             {pg::Text(rows, i, 3)},
                             {std::move(text)},
                             {std::to_string(hides)}}});
    }
    statements.push_back({"COMMIT", {}});
    Status st = pg::ExecPipeline(conn, server_, statements);
    if (!st.ok()) {
      if (!pg::Broken(conn)) (void)pg::Exec(conn, server_, "ROLLBACK");
      return st;
    }
    total += n;
  }
  if (total > 0)
    spdlog::info("PostgreSQL at {}: {} stored messages made searchable", server_, total);
  return total;
}

}  // namespace flare
