// arca: FileBackend, the durable embedded engine behind
// `storage "file" { path = "/dir" }`.
//
// One SQLite database, <dir>/arca.db, in WAL mode with synchronous=FULL, and
// a single table kv(key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID. A
// Put/Delete/Txn returns only after its commit is on disk. Writes are group
// committed: one committer thread drains every queued write into a single
// SQLite transaction (each Txn inside its own SAVEPOINT, so a Txn whose
// conditions fail is aborted alone) and syncs once for the whole batch.
// Reads run in parallel on a pool of query-only connections.
//
// The directory is created 0700 and the database 0600 if missing; an
// advisory lock on <dir>/arca.lock keeps a second process (or a second
// FileBackend in this one) from opening the same directory.
//
// Safe for concurrent use. Errors: Unavailable (cannot open, lock held, disk
// I/O or full), Internal (anything else SQLite reports), Aborted (Txn
// condition failed). Messages never contain keys' values.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/backend.h"

namespace arca::storage {

class FileBackend final : public Backend {
 public:
  // Opens (creating if needed) the database under `dir`.
  static StatusOr<std::unique_ptr<FileBackend>> Open(const std::string& dir);
  // Finishes every queued write, then closes the database.
  ~FileBackend() override;

  FileBackend(const FileBackend&) = delete;
  FileBackend& operator=(const FileBackend&) = delete;

  StatusOr<std::optional<std::string>> Get(std::string_view key) override;
  Status Put(std::string_view key, std::string_view value) override;
  Status Delete(std::string_view key) override;
  StatusOr<std::vector<std::string>> List(std::string_view prefix) override;
  Status Txn(const std::vector<Condition>& conditions, const std::vector<Op>& ops) override;

  // Number of SQLite transactions committed by the group committer so far.
  uint64_t CommitsForTest() const { return commits_.load(); }
  // Writes queued and not yet taken by the committer.
  std::size_t QueuedForTest();
  // Runs `hook` on the committer thread before each batch is taken from the
  // queue. Set it before any concurrent use.
  void SetBeforeBatchForTest(std::function<void()> hook) { before_batch_ = std::move(hook); }

 private:
  struct Conn;
  struct Write;
  class ReadLease;

  FileBackend() = default;
  Status Submit(Write& w);
  void CommitLoop();
  void CommitBatch(std::vector<Write*>& batch);
  StatusOr<std::unique_ptr<Conn>> OpenReader();
  StatusOr<ReadLease> AcquireReader();
  void ReleaseReader(std::unique_ptr<Conn> c);

  std::string db_path_;
  int lock_fd_ = -1;
  std::unique_ptr<Conn> writer_;  // used by the committer thread only

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;  // committer: work arrived or stopping
  std::condition_variable done_cv_;   // callers: a batch finished
  std::deque<Write*> queue_;          // guarded by queue_mu_
  bool stopping_ = false;             // guarded by queue_mu_
  std::thread committer_;
  std::atomic<uint64_t> commits_{0};
  std::function<void()> before_batch_;  // test hook, committer thread only

  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Conn>> readers_;  // idle, guarded by pool_mu_
};

}  // namespace arca::storage
