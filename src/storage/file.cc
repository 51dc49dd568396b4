// arca: FileBackend over SQLite (WAL, synchronous=FULL) with group commit.
//
// Writers enqueue a Write that points at their own arguments and block; the
// committer thread applies a whole batch inside one BEGIN IMMEDIATE ...
// COMMIT, so N concurrent writers share one WAL fsync. Reads never touch the
// queue: each borrows a pooled connection with its statements prepared once.
#include "storage/file.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "storage/internal_list.h"

namespace arca::storage {
namespace {

constexpr std::size_t kMaxBatch = 1024;      // writes per group commit
constexpr std::size_t kMaxIdleReaders = 16;  // pooled read connections kept
constexpr int kBusyTimeoutMs = 10'000;

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

Status SqlStatus(sqlite3* db, int rc, std::string_view what) {
  std::string msg = "file storage: ";
  msg.append(what).append(": ");
  msg.append(db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS:
      return Unavailable(std::move(msg));
    case SQLITE_TOOBIG:
      return TooLarge("file storage: " + std::string(what) + ": value too large");
    default:
      return Internal(std::move(msg));
  }
}

// Resets a statement when it goes out of scope, ending its implicit read.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* s) : s_(s) {}
  ~ResetOnExit() { sqlite3_reset(s_); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* s_;
};

constexpr std::size_t kMaxBind = 1'000'000'000;  // SQLite's default SQLITE_MAX_LENGTH

int BindText(sqlite3_stmt* s, int i, std::string_view v) {
  if (v.size() > kMaxBind) return SQLITE_TOOBIG;
  return sqlite3_bind_text(s, i, v.empty() ? "" : v.data(), static_cast<int>(v.size()),
                           SQLITE_STATIC);
}

int BindBlob(sqlite3_stmt* s, int i, std::string_view v) {
  if (v.size() > kMaxBind) return SQLITE_TOOBIG;
  if (v.empty()) return sqlite3_bind_zeroblob(s, i, 0);  // a null pointer would bind NULL
  return sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

std::string_view ColumnBytes(sqlite3_stmt* s, int i) {
  const void* p = sqlite3_column_blob(s, i);
  int n = sqlite3_column_bytes(s, i);
  if (p == nullptr || n <= 0) return {};
  return {static_cast<const char*>(p), static_cast<std::size_t>(n)};
}

}  // namespace

// One SQLite connection and its prepared statements.
struct FileBackend::Conn {
  sqlite3* db = nullptr;
  Stmt get, list_range, list_from, begin, commit, rollback;
  Stmt put, del, savepoint, release, rollback_to;  // writer only

  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() {
    // Statements must be finalized before the connection closes.
    for (Stmt* s : {&get, &list_range, &list_from, &begin, &commit, &rollback, &put, &del,
                    &savepoint, &release, &rollback_to}) {
      s->reset();
    }
    if (db != nullptr) sqlite3_close_v2(db);
  }

  Status Exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    sqlite3_free(err);
    return rc == SQLITE_OK ? OkStatus() : SqlStatus(db, rc, "exec");
  }

  Status Prepare(Stmt& out, const char* sql) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) return SqlStatus(db, rc, "prepare");
    out.reset(s);
    return OkStatus();
  }

  // Runs a statement that returns no rows.
  Status Run(sqlite3_stmt* s, std::string_view what) {
    ResetOnExit reset(s);
    int rc = sqlite3_step(s);
    return rc == SQLITE_DONE ? OkStatus() : SqlStatus(db, rc, what);
  }

  Status PrepareCommon() {
    ARCA_RETURN_IF_ERROR(Prepare(get, "SELECT value FROM kv WHERE key = ?1"));
    ARCA_RETURN_IF_ERROR(
        Prepare(list_range, "SELECT key FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key"));
    ARCA_RETURN_IF_ERROR(Prepare(list_from, "SELECT key FROM kv WHERE key >= ?1 ORDER BY key"));
    ARCA_RETURN_IF_ERROR(Prepare(commit, "COMMIT"));
    return Prepare(rollback, "ROLLBACK");
  }

  // Reads `key` into *out (nullopt if missing) on this connection.
  Status Read(std::string_view key, std::optional<std::string>* out) {
    sqlite3_stmt* s = get.get();
    ResetOnExit reset(s);
    int rc = BindText(s, 1, key);
    if (rc != SQLITE_OK) return SqlStatus(db, rc, "bind");
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
      out->reset();
      return OkStatus();
    }
    if (rc != SQLITE_ROW) return SqlStatus(db, rc, "get");
    *out = std::string(ColumnBytes(s, 0));
    return OkStatus();
  }
};

// A pooled reader, returned to the pool when the lease ends.
class FileBackend::ReadLease {
 public:
  ReadLease(FileBackend* owner, std::unique_ptr<Conn> c) : owner_(owner), c_(std::move(c)) {}
  ReadLease(ReadLease&& o) noexcept = default;
  ReadLease& operator=(ReadLease&&) = delete;
  ~ReadLease() {
    if (c_) owner_->ReleaseReader(std::move(c_));
  }
  Conn& operator*() { return *c_; }
  Conn* operator->() { return c_.get(); }

 private:
  FileBackend* owner_;
  std::unique_ptr<Conn> c_;
};

// One queued write. Points at the caller's arguments, which outlive it: the
// caller blocks in Submit until `done`.
struct FileBackend::Write {
  enum class Kind { kPut, kDelete, kTxn };
  Kind kind = Kind::kPut;
  std::string_view key;
  std::string_view value;
  const std::vector<Condition>* conditions = nullptr;
  const std::vector<Op>* ops = nullptr;
  Status result;
  bool done = false;  // guarded by queue_mu_
};

namespace {

Status OpenConn(const std::string& path, int flags, sqlite3** db) {
  int rc = sqlite3_open_v2(path.c_str(), db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqlStatus(*db, rc, "open " + path);
    sqlite3_close_v2(*db);
    *db = nullptr;
    return s;
  }
  sqlite3_extended_result_codes(*db, 1);
  sqlite3_busy_timeout(*db, kBusyTimeoutMs);
  return OkStatus();
}

Status PrepareDirectory(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return OkStatus();
  fs::path p(dir);
  if (p.has_parent_path() && !p.parent_path().empty()) fs::create_directories(p.parent_path(), ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Unavailable("file storage: cannot create directory " + dir + ": " +
                       std::strerror(errno));
  }
  if (!fs::is_directory(dir, ec)) return Unavailable("file storage: not a directory: " + dir);
  return OkStatus();
}

// Creates `path` with mode 0600 if it does not exist yet.
Status CreatePrivateFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Unavailable("file storage: cannot create " + path + ": " + std::strerror(errno));
  }
  ::close(fd);
  return OkStatus();
}

}  // namespace

StatusOr<std::unique_ptr<FileBackend>> FileBackend::Open(const std::string& dir) {
  if (dir.empty()) return InvalidArgument("file storage: path is required");
  ARCA_RETURN_IF_ERROR(PrepareDirectory(dir));
  std::unique_ptr<FileBackend> b(new FileBackend());  // private constructor

  std::string lock_path = dir + "/arca.lock";
  b->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (b->lock_fd_ < 0) {
    return Unavailable("file storage: cannot open " + lock_path + ": " + std::strerror(errno));
  }
  if (::flock(b->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Unavailable("file storage: " + dir + " is in use by another process");
  }

  b->db_path_ = dir + "/arca.db";
  ARCA_RETURN_IF_ERROR(CreatePrivateFile(b->db_path_));
  auto w = std::make_unique<Conn>();
  ARCA_RETURN_IF_ERROR(OpenConn(b->db_path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &w->db));
  ARCA_RETURN_IF_ERROR(w->Exec("PRAGMA journal_mode=WAL"));
  ARCA_RETURN_IF_ERROR(w->Exec("PRAGMA synchronous=FULL"));
  ARCA_RETURN_IF_ERROR(
      w->Exec("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID"));
  {
    // Confirm WAL took effect (it cannot on some filesystems).
    Stmt mode;
    ARCA_RETURN_IF_ERROR(w->Prepare(mode, "PRAGMA journal_mode"));
    ResetOnExit reset(mode.get());
    if (sqlite3_step(mode.get()) != SQLITE_ROW || ColumnBytes(mode.get(), 0) != "wal") {
      return Unavailable("file storage: cannot enable WAL mode on " + b->db_path_);
    }
  }
  ARCA_RETURN_IF_ERROR(w->PrepareCommon());
  ARCA_RETURN_IF_ERROR(w->Prepare(w->begin, "BEGIN IMMEDIATE"));
  ARCA_RETURN_IF_ERROR(
      w->Prepare(w->put,
                 "INSERT INTO kv(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = "
                 "excluded.value"));
  ARCA_RETURN_IF_ERROR(w->Prepare(w->del, "DELETE FROM kv WHERE key = ?1"));
  ARCA_RETURN_IF_ERROR(w->Prepare(w->savepoint, "SAVEPOINT txn"));
  ARCA_RETURN_IF_ERROR(w->Prepare(w->release, "RELEASE txn"));
  ARCA_RETURN_IF_ERROR(w->Prepare(w->rollback_to, "ROLLBACK TO txn"));
  b->writer_ = std::move(w);

  // One reader up front, so a broken database fails Open rather than Get.
  ARCA_ASSIGN_OR_RETURN(auto r, b->OpenReader());
  b->readers_.push_back(std::move(r));

  b->committer_ = std::thread([p = b.get()] { p->CommitLoop(); });
  return b;
}

FileBackend::~FileBackend() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  readers_.clear();
  writer_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

StatusOr<std::unique_ptr<FileBackend::Conn>> FileBackend::OpenReader() {
  auto c = std::make_unique<Conn>();
  ARCA_RETURN_IF_ERROR(OpenConn(db_path_, SQLITE_OPEN_READWRITE, &c->db));
  ARCA_RETURN_IF_ERROR(c->Exec("PRAGMA query_only=1"));
  ARCA_RETURN_IF_ERROR(c->PrepareCommon());
  ARCA_RETURN_IF_ERROR(c->Prepare(c->begin, "BEGIN"));
  return c;
}

StatusOr<FileBackend::ReadLease> FileBackend::AcquireReader() {
  {
    std::lock_guard lock(pool_mu_);
    if (!readers_.empty()) {
      auto c = std::move(readers_.back());
      readers_.pop_back();
      return ReadLease(this, std::move(c));
    }
  }
  ARCA_ASSIGN_OR_RETURN(auto c, OpenReader());
  return ReadLease(this, std::move(c));
}

void FileBackend::ReleaseReader(std::unique_ptr<Conn> c) {
  // A reader left inside a transaction (after an error) would pin an old
  // snapshot for every later read: end it, or drop the connection.
  if (!sqlite3_get_autocommit(c->db)) {
    (void)c->Run(c->rollback.get(), "rollback read");
    if (!sqlite3_get_autocommit(c->db)) return;
  }
  std::lock_guard lock(pool_mu_);
  if (readers_.size() < kMaxIdleReaders) readers_.push_back(std::move(c));
  // else: `c` closes here.
}

StatusOr<std::optional<std::string>> FileBackend::Get(std::string_view key) {
  ARCA_ASSIGN_OR_RETURN(auto lease, AcquireReader());
  std::optional<std::string> out;
  ARCA_RETURN_IF_ERROR(lease->Read(key, &out));
  return out;
}

StatusOr<std::vector<std::string>> FileBackend::List(std::string_view prefix) {
  ARCA_ASSIGN_OR_RETURN(auto lease, AcquireReader());
  Conn& c = *lease;
  // One read transaction, so the folder seeks below see a single snapshot.
  ARCA_RETURN_IF_ERROR(c.Run(c.begin.get(), "begin read"));
  std::vector<std::string> out;
  Status st = [&]() -> Status {
    std::optional<std::string> hi = internal::PrefixSuccessor(prefix);
    sqlite3_stmt* s = hi ? c.list_range.get() : c.list_from.get();
    std::string lo(prefix);
    for (;;) {
      ResetOnExit reset(s);
      int rc = BindText(s, 1, lo);
      if (rc == SQLITE_OK && hi) rc = BindText(s, 2, *hi);
      if (rc != SQLITE_OK) return SqlStatus(c.db, rc, "bind");
      std::optional<std::string> seek;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        std::string_view key = ColumnBytes(s, 0);
        if (key.size() < prefix.size()) continue;  // cannot happen within the range
        std::string_view child = internal::ChildName(key.substr(prefix.size()));
        if (child.empty()) continue;
        out.emplace_back(child);
        if (child.back() == '/') {
          // Skip the folder's subtree with a fresh index seek.
          seek = internal::SkipFolder(prefix, child);
          break;
        }
      }
      if (seek) {
        lo = std::move(*seek);
        continue;
      }
      if (rc != SQLITE_DONE) return SqlStatus(c.db, rc, "list");
      return OkStatus();
    }
  }();
  Status end = c.Run(c.commit.get(), "end read");
  ARCA_RETURN_IF_ERROR(st);
  ARCA_RETURN_IF_ERROR(end);
  return out;
}

Status FileBackend::Put(std::string_view key, std::string_view value) {
  Write w;
  w.kind = Write::Kind::kPut;
  w.key = key;
  w.value = value;
  return Submit(w);
}

Status FileBackend::Delete(std::string_view key) {
  Write w;
  w.kind = Write::Kind::kDelete;
  w.key = key;
  return Submit(w);
}

Status FileBackend::Txn(const std::vector<Condition>& conditions, const std::vector<Op>& ops) {
  if (conditions.empty() && ops.empty()) return OkStatus();
  Write w;
  w.kind = Write::Kind::kTxn;
  w.conditions = &conditions;
  w.ops = &ops;
  return Submit(w);
}

Status FileBackend::Submit(Write& w) {
  std::unique_lock lock(queue_mu_);
  if (stopping_) return Unavailable("file storage: backend is closing");
  queue_.push_back(&w);
  queue_cv_.notify_one();
  done_cv_.wait(lock, [&] { return w.done; });
  return w.result;
}

std::size_t FileBackend::QueuedForTest() {
  std::lock_guard lock(queue_mu_);
  return queue_.size();
}

void FileBackend::CommitLoop() {
  std::vector<Write*> batch;
  batch.reserve(kMaxBatch);
  for (;;) {
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (before_batch_ && !queue_.empty()) {
        lock.unlock();
        before_batch_();
        lock.lock();
      }
      if (queue_.empty()) return;  // stopping, and everything queued is done
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    CommitBatch(batch);
    {
      std::lock_guard lock(queue_mu_);
      for (Write* w : batch) w->done = true;
    }
    done_cv_.notify_all();
    batch.clear();
  }
}

namespace {

Status PutRow(sqlite3* db, sqlite3_stmt* s, std::string_view key, std::string_view value) {
  ResetOnExit reset(s);
  int rc = BindText(s, 1, key);
  if (rc == SQLITE_OK) rc = BindBlob(s, 2, value);
  if (rc == SQLITE_OK) rc = sqlite3_step(s);
  return rc == SQLITE_DONE ? OkStatus() : SqlStatus(db, rc, "put");
}

Status DeleteRow(sqlite3* db, sqlite3_stmt* s, std::string_view key) {
  ResetOnExit reset(s);
  int rc = BindText(s, 1, key);
  if (rc == SQLITE_OK) rc = sqlite3_step(s);
  return rc == SQLITE_DONE ? OkStatus() : SqlStatus(db, rc, "delete");
}

}  // namespace

void FileBackend::CommitBatch(std::vector<Write*>& batch) {
  Conn& c = *writer_;
  Status begun = c.Run(c.begin.get(), "begin");
  if (!begun.ok()) {
    for (Write* w : batch) w->result = begun;
    return;
  }

  auto apply_txn = [&](const Write& w) -> Status {
    ARCA_RETURN_IF_ERROR(c.Run(c.savepoint.get(), "savepoint"));
    Status st = [&]() -> Status {
      for (const auto& cond : *w.conditions) {
        std::optional<std::string> cur;
        ARCA_RETURN_IF_ERROR(c.Read(cond.key, &cur));
        bool holds = false;
        switch (cond.kind) {
          case Condition::Kind::kExists:
            holds = cur.has_value();
            break;
          case Condition::Kind::kAbsent:
            holds = !cur.has_value();
            break;
          case Condition::Kind::kEquals:
            holds = cur.has_value() && *cur == cond.value;
            break;
        }
        if (!holds) return Aborted("transaction condition failed");
      }
      for (const auto& op : *w.ops) {
        if (op.kind == Op::Kind::kPut) {
          ARCA_RETURN_IF_ERROR(PutRow(c.db, c.put.get(), op.key, op.value));
        } else {
          ARCA_RETURN_IF_ERROR(DeleteRow(c.db, c.del.get(), op.key));
        }
      }
      return OkStatus();
    }();
    if (!st.ok() && !sqlite3_get_autocommit(c.db)) {
      (void)c.Run(c.rollback_to.get(), "rollback to savepoint");
    }
    if (!sqlite3_get_autocommit(c.db)) {
      Status rel = c.Run(c.release.get(), "release savepoint");
      if (st.ok()) st = rel;
    }
    return st;
  };

  bool lost = false;  // SQLite rolled the whole transaction back after an error
  for (Write* w : batch) {
    switch (w->kind) {
      case Write::Kind::kPut:
        w->result = PutRow(c.db, c.put.get(), w->key, w->value);
        break;
      case Write::Kind::kDelete:
        w->result = DeleteRow(c.db, c.del.get(), w->key);
        break;
      case Write::Kind::kTxn:
        w->result = apply_txn(*w);
        break;
    }
    if (sqlite3_get_autocommit(c.db)) {
      lost = true;
      break;
    }
  }

  Status committed = lost ? Unavailable("file storage: transaction rolled back by the database")
                          : c.Run(c.commit.get(), "commit");
  if (committed.ok()) {
    commits_.fetch_add(1);
    return;
  }
  if (!sqlite3_get_autocommit(c.db)) (void)c.Run(c.rollback.get(), "rollback");
  // Nothing in this batch reached disk; writes not yet failed fail now.
  for (Write* w : batch) {
    if (w->result.ok()) w->result = committed;
  }
}

}  // namespace arca::storage
