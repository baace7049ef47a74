// flare-store-bench: drives MessageStore::Write (+ Sync) with group-commit
// sized batches, the way the storage writer does, against PostgreSQL or
// SQLite, and prints rows/s and CPU µs per message (this process and, for
// PostgreSQL, the server's processes when --pg-data names its data dir).
// Like the writer, one thread writes batch k+1 while a second one syncs
// batch k (at most two batches written and not yet synced).
//
//   flare-store-bench --backend postgres --dsn "host=... dbname=..." \
//       --pg-data /tmp/pg/data --batch 512 --kind direct --messages 200000
//   flare-store-bench --backend sqlite --path /tmp/x.db --batch 512
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "adapters/postgres/postgres_store.h"
#include "adapters/sqlite/sqlite_store.h"

namespace {

using flare::MessageStore;
using flare::StoredMessage;
using flare::WriteBatch;

double SelfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// utime + stime of one process, in seconds (0 if it is gone).
double ProcessCpuSeconds(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; fields >> f; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(f);
    if (i == 15) break;
  }
  return ticks / sysconf(_SC_CLK_TCK);
}

// CPU of the postmaster in `data_dir` and all its children (backends,
// WAL writer, checkpointer, ...), including exited children it reaped.
double PostgresCpuSeconds(const std::string& data_dir) {
  if (data_dir.empty()) return 0;
  std::ifstream pidfile(data_dir + "/postmaster.pid");
  std::string postmaster;
  if (!std::getline(pidfile, postmaster)) return 0;
  double total = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string pid = entry.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string state, ppid;
    rest >> state >> ppid;
    if (pid == postmaster || ppid == postmaster) total += ProcessCpuSeconds(pid);
  }
  return total;
}

// Batch `index` of a run: 1:1 traffic spreads over many conversations,
// group traffic over a few busy ones.
WriteBatch MakeBatch(int64_t index, int batch_size, const std::string& kind, int64_t* next_id) {
  const int conversations = kind == "group" ? 8 : 10'000;
  static std::vector<int64_t> seqs(10'000, 0);
  WriteBatch batch;
  batch.messages.reserve(batch_size);
  for (int i = 0; i < batch_size; ++i) {
    int64_t id = (*next_id)++;
    int conv = static_cast<int>(id % conversations);
    StoredMessage sm;
    sm.tenant = "bench";
    auto& m = sm.message;
    m.set_conversation_id((kind == "group" ? "g:" : "d:u") + std::to_string(conv));
    m.set_seq(++seqs[conv]);
    m.set_sender("user" + std::to_string(id % 1000));
    m.set_client_msg_id("c" + std::to_string(id));
    m.set_server_msg_id("01JBENCH" + std::to_string(id));
    m.set_server_time_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count());
    m.set_client_time_ms(m.server_time_ms());
    m.mutable_content()->set_text("a typical short chat message, about eighty bytes of text " +
                                  std::to_string(index));
    batch.messages.push_back(std::move(sm));
  }
  return batch;
}

// Writes batches until `messages` are written, handing each written batch
// to a syncer thread as the storage writer does (Run / RunSyncer): at most
// two batches wait for Sync. Returns the first error.
flare::Status WriteAndSync(MessageStore& store, int64_t messages, int batch_size,
                           const std::string& kind) {
  std::mutex mu;
  std::condition_variable cv;
  int unsynced = 0;  // written batches the syncer has not finished
  bool done = false;
  flare::Status failed;
  std::thread syncer([&] {
    std::unique_lock lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return unsynced > 0 || done; });
      if (unsynced == 0) return;
      lock.unlock();
      flare::Status st = store.Sync();
      lock.lock();
      --unsynced;
      if (!st.ok() && failed.ok()) failed = st;
      cv.notify_all();
    }
  });
  int64_t next_id = 0;
  for (int64_t b = 0, written = 0; written < messages; ++b, written += batch_size) {
    WriteBatch batch = MakeBatch(b, batch_size, kind, &next_id);
    flare::Status st = store.Write(batch);
    std::unique_lock lock(mu);
    if (!st.ok() && failed.ok()) failed = st;
    if (!failed.ok()) break;
    cv.wait(lock, [&] { return unsynced < 2; });
    ++unsynced;
    cv.notify_all();
  }
  {
    std::lock_guard lock(mu);
    done = true;
    cv.notify_all();
  }
  syncer.join();
  return failed;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"flare-store-bench: MessageStore::Write throughput"};
  std::string backend = "postgres", dsn, path = "/tmp/flare-store-bench.db", pg_data,
              kind = "direct";
  int batch_size = 512;
  int64_t messages = 200'000;
  app.add_option("--backend", backend, "postgres | sqlite");
  app.add_option("--dsn", dsn, "libpq connection string (postgres)");
  app.add_option("--pg-data", pg_data, "the server's data dir, to count its CPU");
  app.add_option("--path", path, "database file (sqlite; removed first)");
  app.add_option("--batch", batch_size, "messages per Write");
  app.add_option("--kind", kind, "direct (10k 1:1 conversations) | group (8 groups)");
  app.add_option("--messages", messages, "messages to write");
  CLI11_PARSE(app, argc, argv);

  std::shared_ptr<MessageStore> store;
  if (backend == "postgres") {
    flare::PostgresOptions options;
    options.dsn = dsn;
    auto s = flare::PostgresStore::Open(options);
    if (!s.ok()) return std::fprintf(stderr, "%s\n", s.status().ToString().c_str()), 1;
    store = *s;
  } else {
    std::filesystem::remove(path);
    std::filesystem::remove(path + "-wal");
    std::filesystem::remove(path + "-shm");
    auto s = flare::SqliteStore::Open(path, {});
    if (!s.ok()) return std::fprintf(stderr, "%s\n", s.status().ToString().c_str()), 1;
    store = *s;
  }
  const double cpu0 = SelfCpuSeconds(), pg0 = PostgresCpuSeconds(pg_data);
  const auto t0 = std::chrono::steady_clock::now();
  flare::Status st = WriteAndSync(*store, messages, batch_size, kind);
  if (!st.ok()) return std::fprintf(stderr, "write: %s\n", st.ToString().c_str()), 1;
  const int64_t written = (messages + batch_size - 1) / batch_size * batch_size;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = SelfCpuSeconds() - cpu0, pg = PostgresCpuSeconds(pg_data) - pg0;
  std::printf(
      "backend=%s kind=%s batch=%d messages=%lld wall=%.2fs rows/s=%.0f client_cpu_us/msg=%.2f "
      "server_cpu_us/msg=%.2f\n",
      backend.c_str(), kind.c_str(), batch_size, static_cast<long long>(written), wall,
      written / wall, cpu * 1e6 / written, pg * 1e6 / written);
  return 0;
}
