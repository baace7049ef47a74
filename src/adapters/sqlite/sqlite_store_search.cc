// The SQLite store's message search: an FTS5 index over the messages
// table's search_text column (external content: the text is not stored
// twice). New messages join it in bulk (search_index_batch at a time, in the
// write that reaches the count, and the rest before every search):
// search_progress holds the last message id indexed. Triggers keep indexed
// messages current when an edit or recall changes their text; a message not
// indexed yet is indexed with whatever text it has by then. Delete-for-me
// events carry the seq they hide in hides_seq; a search leaves out the
// messages its user hid.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "adapters/sqlite/sqlite_store.h"
#include "adapters/sqlite/sqlite_store_reader.h"
#include "adapters/stored_message.h"

namespace flare {
namespace {

// unicode61 folds case (and, with remove_diacritics 2, accents) and splits
// on every non-letter, non-digit character. Every row is indexed, also one
// without text (it adds no terms, but FTS5 counts it, and a 'delete' of a
// row it never took corrupts its counts): 'rebuild' and the bulk insert
// take them all, and the triggers act only on rows at or below
// indexed_upto.
constexpr const char* kSearchSchema = R"sql(
CREATE VIRTUAL TABLE message_fts USING fts5(search_text, content='messages',
  content_rowid='id', tokenize='unicode61 remove_diacritics 2');
INSERT INTO message_fts(message_fts) VALUES('rebuild');
CREATE INDEX messages_hides ON messages(tenant, conversation_id, hides_seq)
  WHERE hides_seq IS NOT NULL;
)sql";

// Every message stored so far is in the index when these are made.
constexpr const char* kSearchProgress = R"sql(
CREATE TABLE search_progress(
  id INTEGER PRIMARY KEY CHECK (id = 0), indexed_upto INTEGER NOT NULL);
INSERT INTO search_progress VALUES (0, (SELECT coalesce(max(id), 0) FROM messages));
CREATE TRIGGER messages_fts_update AFTER UPDATE OF search_text ON messages
  WHEN old.id <= (SELECT indexed_upto FROM search_progress) BEGIN
  INSERT INTO message_fts(message_fts, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
  INSERT INTO message_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
  WHEN old.id <= (SELECT indexed_upto FROM search_progress) BEGIN
  INSERT INTO message_fts(message_fts, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
END;
)sql";

// Messages are never deleted by Flare, but should an operator delete the
// newest ones, SQLite hands their ids out again (no AUTOINCREMENT), below
// indexed_upto where the bulk insert would never look: such a row is
// indexed as it is written.
constexpr const char* kReusedIdTrigger = R"sql(
CREATE TRIGGER IF NOT EXISTS messages_fts_reused_id AFTER INSERT ON messages
  WHEN new.id <= (SELECT indexed_upto FROM search_progress) BEGIN
  INSERT INTO message_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;
)sql";

// A database whose index was kept by an insert trigger, message by message.
constexpr const char* kDropPerMessageTriggers =
    "DROP TRIGGER IF EXISTS messages_fts_insert; DROP TRIGGER IF EXISTS messages_fts_update; "
    "DROP TRIGGER IF EXISTS messages_fts_delete;";

constexpr const char* kHasSearchProgress =
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'search_progress'";
constexpr const char* kUnindexed =
    "SELECT coalesce(max(id), 0) - (SELECT indexed_upto FROM search_progress) FROM messages";
constexpr const char* kIndexNew =
    "INSERT INTO message_fts(rowid, search_text) SELECT id, search_text FROM messages "
    "WHERE id > (SELECT indexed_upto FROM search_progress) ORDER BY id";
constexpr const char* kAdvanceProgress =
    "UPDATE search_progress SET indexed_upto = "
    "max(indexed_upto, (SELECT coalesce(max(id), 0) FROM messages))";

constexpr const char* kHasSearchIndex =
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'message_fts'";
constexpr const char* kHasSearchColumns =
    "SELECT count(*) FROM pragma_table_info('messages') WHERE name = 'search_text'";
constexpr const char* kBackfillRead =
    "SELECT id, body FROM messages WHERE id > ?1 ORDER BY id LIMIT 1000";
constexpr const char* kBackfillWrite =
    "UPDATE messages SET search_text = NULLIF(?2, ''), hides_seq = NULLIF(?3, 0) WHERE id = ?1";

// Newest first. The member join keeps the user's conversations from the
// join point on; NOT EXISTS drops what the user deleted for themself.
constexpr const char* kSearch =
    "SELECT m.body FROM message_fts JOIN messages m ON m.id = message_fts.rowid "
    "JOIN members mb ON mb.tenant = m.tenant AND mb.user_id = ?2 "
    "AND mb.conversation_id = m.conversation_id "
    "WHERE message_fts MATCH ?3 AND m.tenant = ?1 AND (?4 = '' OR m.conversation_id = ?4) "
    "AND m.seq >= mb.joined_seq "
    "AND NOT EXISTS (SELECT 1 FROM messages e WHERE e.tenant = m.tenant "
    "AND e.conversation_id = m.conversation_id AND e.hides_seq = m.seq AND e.sender = ?2) "
    "AND (?5 = 0 OR (m.server_time_ms, m.conversation_id, m.seq) < (?6, ?7, ?8)) "
    "ORDER BY m.server_time_ms DESC, m.conversation_id DESC, m.seq DESC LIMIT ?9";

// The first column of a one-row query.
Result<int64_t> CountOf(sqlite::Db& db, const char* sql) {
  auto stmt = db.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  auto row = (*stmt)->Step();
  if (!row.ok()) return row.status();
  if (!*row) return int64_t{0};
  return (*stmt)->Int(0);
}

// Each word as an FTS5 string (a phrase of one token) with a prefix star:
// whatever the word holds, it is never an operator (NEAR, AND, -, ^, :).
std::string Fts5Query(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& word : words) {
    if (!out.empty()) out += ' ';
    out += '"';
    for (char c : word) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    out += "\"*";
  }
  return out;
}

struct BackfillRow {
  int64_t id = 0;
  std::string text;
  int64_t hides = 0;
};

}  // namespace

Status SqliteStore::EnsureSearchIndexLocked() {
  auto has_index = CountOf(*writer_, kHasSearchIndex);
  if (!has_index.ok()) return has_index.status();
  if (*has_index == 0) {
    Status st = writer_->InTransaction([&] {
      Status built = BackfillSearchColumnsLocked();
      if (built.ok()) built = writer_->Exec(kSearchSchema);
      if (built.ok()) built = writer_->Exec(kSearchProgress);
      return built;
    });
    if (!st.ok()) {
      return Status(st.code(), "building the search index of " + path_ + ": " + st.message());
    }
  }
  FLARE_RETURN_IF_ERROR(DeferSearchIndexingLocked());
  FLARE_RETURN_IF_ERROR(writer_->Exec(kReusedIdTrigger));
  auto unindexed = UnindexedMessagesLocked();
  if (!unindexed.ok()) return unindexed.status();
  unindexed_ = *unindexed;
  return Status::Ok();
}

Status SqliteStore::DeferSearchIndexingLocked() {
  auto has_progress = CountOf(*writer_, kHasSearchProgress);
  if (!has_progress.ok()) return has_progress.status();
  if (*has_progress > 0) return Status::Ok();
  Status st = writer_->InTransaction([&] {
    Status moved = writer_->Exec(kDropPerMessageTriggers);
    return moved.ok() ? writer_->Exec(kSearchProgress) : moved;
  });
  if (!st.ok()) {
    return Status(st.code(), "moving the search index of " + path_ +
                                 " to bulk indexing: " + st.message());
  }
  return Status::Ok();
}

Result<int64_t> SqliteStore::UnindexedMessagesLocked() {
  auto n = CountOf(*writer_, kUnindexed);
  if (!n.ok()) return n.status();
  return std::max<int64_t>(*n, 0);
}

Status SqliteStore::IndexNewMessagesLocked() {
  for (const char* sql : {kIndexNew, kAdvanceProgress}) {
    auto stmt = writer_->Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    FLARE_RETURN_IF_ERROR((*stmt)->Run());
  }
  return Status::Ok();
}

Status SqliteStore::CatchUpSearchIndex() {
  std::lock_guard lock(write_mu_);
  if (unindexed_ == 0) return Status::Ok();
  Status st = writer_->InTransaction([&] { return IndexNewMessagesLocked(); });
  if (!st.ok()) return Status(st.code(), "indexing new messages for search: " + st.message());
  unindexed_ = 0;
  RememberWalFile();
  return Status::Ok();
}

// Fills search_text and hides_seq of every stored message from its body
// (nothing to do in a new database).
Status SqliteStore::BackfillSearchColumnsLocked() {
  {
    auto stmt = writer_->Prepare(kHasSearchColumns);
    if (!stmt.ok()) return stmt.status();
    auto row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (!*row || (*stmt)->Int(0) == 0) {
      FLARE_RETURN_IF_ERROR(
          writer_->Exec("ALTER TABLE messages ADD COLUMN search_text TEXT; "
                        "ALTER TABLE messages ADD COLUMN hides_seq INTEGER;"));
    }
  }
  int64_t last_id = 0, rows = 0;
  for (;;) {
    std::vector<BackfillRow> chunk;
    {
      auto read = writer_->Prepare(kBackfillRead);
      if (!read.ok()) return read.status();
      (*read)->Bind(1, last_id);
      for (;;) {
        auto row = (*read)->Step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        BackfillRow r{(*read)->Int(0)};
        auto m = stored::ParseBody((*read)->Blob(1));
        if (m.ok()) {
          r.text = stored::SearchText(*m);
          r.hides = stored::HiddenSeq(*m);
        } else {
          spdlog::warn("{}: message row {} does not parse; not searchable", path_, r.id);
        }
        chunk.push_back(std::move(r));
      }
    }
    if (chunk.empty()) break;
    for (const auto& r : chunk) {
      auto write = writer_->Prepare(kBackfillWrite);
      if (!write.ok()) return write.status();
      FLARE_RETURN_IF_ERROR((*write)->Bind(1, r.id).Bind(2, r.text).Bind(3, r.hides).Run());
    }
    last_id = chunk.back().id;
    rows += static_cast<int64_t>(chunk.size());
  }
  if (rows > 0) spdlog::info("{}: search index built over {} stored messages", path_, rows);
  return Status::Ok();
}

Result<SearchPage> SqliteStore::Search(const SearchQuery& query) {
  SearchPage page;
  if (query.words.empty() || query.limit <= 0) return page;
  // A search that cannot bring the index up to date (the disk is full, say)
  // still answers from what is indexed rather than failing.
  if (Status st = CatchUpSearchIndex(); !st.ok()) {
    spdlog::warn("{}: search without the newest messages: {}", path_, st.ToString());
  }
  auto reader = AcquireReader();
  if (!reader.ok()) return reader.status();
  auto stmt = (*reader)->Prepare(kSearch);
  if (!stmt.ok()) return stmt.status();
  const std::string match = Fts5Query(query.words);
  const SearchPosition after = query.after.value_or(SearchPosition{});
  (*stmt)
      ->Bind(1, query.tenant)
      .Bind(2, query.user_id)
      .Bind(3, match)
      .Bind(4, query.conversation_id)
      .Bind(5, int64_t{query.after.has_value() ? 1 : 0})
      .Bind(6, after.server_time_ms)
      .Bind(7, after.conversation_id)
      .Bind(8, after.seq)
      .Bind(9, int64_t{query.limit} + 1);  // one more tells whether another page exists
  for (;;) {
    auto row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (static_cast<int>(page.hits.size()) == query.limit) {
      page.more = true;
      break;
    }
    auto m = stored::ParseBody((*stmt)->Blob(0));
    if (!m.ok()) return m.status();
    page.hits.push_back(std::move(m).value());
  }
  return page;
}

}  // namespace flare
