// arca engines: KV v2 routing, the data/ endpoints (read, write, patch,
// delete), delete/undelete/destroy of versions, subkeys, and the shared
// commit machinery (Mutate).
#include <mutex>
#include <set>

#include "base/secure.h"
#include "engines/internal/kv_v2.h"
#include "engines/internal/kv_v2_memo.h"
#include "logical/fields.h"

namespace arca::engines::internal {

namespace {

constexpr int kMaxCommitAttempts = 8;
// Subkeys deeper than this are reported as leaves (null), never as values.
constexpr int kMaxSubkeysDepth = 512;

const std::vector<std::string>& KnownFields(int kind) {
  static const std::vector<std::vector<std::string>> kFields = {
      {"max_versions", "cas_required", "delete_version_after"},  // config
      {"path", "version", "options", "data"},                    // data
      {"path", "cas_required", "max_versions", "delete_version_after", "custom_metadata"},  // meta
      {"path", "versions"},          // versions
      {"path", "depth", "version"},  // subkeys
  };
  return kFields[kind];
}

std::string Joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) {
    if (!s.empty()) s += " ";
    s += x;
  }
  return s;
}

// Vault's framework warnings about ignored and path-replaced fields, added
// only to ordinary responses that carry a body.
void AddFieldWarnings(Response& r, const Json& data, int kind, bool has_path) {
  if (r.http_status != 0 || r.raw_body || r.Empty()) return;
  auto unknown = logical::UnknownFields(data, KnownFields(kind));
  if (!unknown.empty()) {
    r.warnings.push_back("Endpoint ignored these unrecognized parameters: [" + Joined(unknown) +
                         "]");
  }
  if (has_path && data.is_object() && data.contains("path")) {
    r.warnings.push_back(
        "Endpoint replaced the value of these parameters with the values captured from the "
        "endpoint's path: [path]");
  }
}

Response WarningNotFound(std::string warning) {
  Response r;
  r.http_status = 404;
  r.warnings.push_back(std::move(warning));
  return r;
}

Response EmptyNotFound() {
  Response r;
  r.http_status = 404;
  r.raw_body = "";
  return r;
}

const char* SubCommand(Operation op) {
  switch (op) {
    case Operation::kCreate:
    case Operation::kUpdate:
      return "put";
    case Operation::kPatch:
      return "patch";
    case Operation::kRead:
      return "get";
    case Operation::kList:
      return "list";
    case Operation::kDelete:
      return "delete";
    default:
      return "";
  }
}

bool IsWrite(Operation op) { return op == Operation::kCreate || op == Operation::kUpdate; }

// Field validation error in the framework's wording.
Status FieldError(const Json& v, std::string_view field) {
  std::string shown = v.is_string() ? v.get<std::string>() : DumpJson(v);
  if (shown.size() > 64) shown = shown.substr(0, 64) + "...";
  return InvalidArgument("Field validation failed: error converting input " + shown +
                         " for field \"" + std::string(field) + "\": expected a list of integers");
}

// TypeCommaIntSlice: [1,2], "1,2", ["1","2"] or a single number.
StatusOr<std::vector<int64_t>> ParseVersions(const Json& data) {
  std::vector<int64_t> out;
  if (!data.is_object()) return out;
  auto it = data.find("versions");
  if (it == data.end() || it->is_null()) return out;
  const Json& v = *it;
  auto one = [&](const Json& e) -> Status {
    std::optional<int64_t> n;
    if (e.is_string()) {
      std::string s = e.get<std::string>();
      std::size_t a = s.find_first_not_of(" \t");
      std::size_t b = s.find_last_not_of(" \t");
      if (a == std::string::npos) return OkStatus();
      n = WeakInt(Json(s.substr(a, b - a + 1)));
    } else if (e.is_number()) {
      n = WeakInt(e);
      if (e.is_number_float() && n && double(*n) != e.get<double>()) n.reset();
    }
    if (!n) return FieldError(v, "versions");
    out.push_back(*n);
    return OkStatus();
  };
  if (v.is_array()) {
    for (const auto& e : v) ARCA_RETURN_IF_ERROR(one(e));
  } else if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    std::size_t start = 0;
    while (start <= s.size()) {
      std::size_t end = s.find(',', start);
      if (end == std::string::npos) end = s.size();
      ARCA_RETURN_IF_ERROR(one(Json(s.substr(start, end - start))));
      start = end + 1;
    }
  } else if (v.is_number()) {
    ARCA_RETURN_IF_ERROR(one(v));
  } else {
    return FieldError(v, "versions");
  }
  return out;
}

// The "options" map of a data write, or null when absent.
StatusOr<Json> GetOptions(const Json& data) {
  ARCA_ASSIGN_OR_RETURN(auto opts, logical::GetObject(data, "options"));
  return opts ? std::move(*opts) : Json();
}

Status ValidateCas(const Json& options, const KvConfig& config, const KeyMetadata& meta) {
  const Json* cas = nullptr;
  if (options.is_object()) {
    auto it = options.find("cas");
    if (it != options.end() && !it->is_null()) cas = &*it;
  }
  if (cas) {
    auto n = WeakInt(*cas);
    if (!n) return InvalidArgument("error parsing check-and-set parameter");
    if (uint64_t(*n) != meta.current_version) {
      return InvalidArgument("check-and-set parameter did not match the current version");
    }
  } else if (config.cas_required || meta.cas_required) {
    return InvalidArgument("check-and-set parameter required for this call");
  }
  return OkStatus();
}

// Replaces every leaf (non-object or empty object) with null, walking at
// most `max_depth` levels (0: no limit).
void RemoveValues(Json& obj, int depth, int64_t max_depth) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    Json& v = *it;
    int next = depth + 1;
    bool within = (max_depth == 0 || next <= max_depth) && next <= kMaxSubkeysDepth;
    if (v.is_object() && !v.empty() && within) {
      RemoveValues(v, next, max_depth);
    } else {
      v = nullptr;
    }
  }
}

}  // namespace

KvV2Backend::Route KvV2Backend::Parse(std::string_view path, Operation op) {
  Route r;
  if (path == "config") {
    r.kind = Kind::kConfig;
    return r;
  }
  struct Prefix {
    std::string_view name;
    Kind kind;
  };
  static constexpr Prefix kPrefixes[] = {
      {"data", Kind::kData},         {"metadata", Kind::kMetadata}, {"delete", Kind::kDelete},
      {"undelete", Kind::kUndelete}, {"destroy", Kind::kDestroy},   {"subkeys", Kind::kSubkeys},
  };
  for (const auto& p : kPrefixes) {
    if (path == p.name) {
      if (p.kind == Kind::kMetadata && op == Operation::kList) {
        r.kind = Kind::kMetadata;  // hvac lists "metadata" without a slash
      } else if (p.kind != Kind::kSubkeys) {
        r.kind = Kind::kRoot;
      }
      return r;
    }
    if (path.size() > p.name.size() && path.substr(0, p.name.size()) == p.name &&
        path[p.name.size()] == '/') {
      std::string_view rest = path.substr(p.name.size() + 1);
      if (p.kind == Kind::kData && (rest.empty() || rest.back() == '/')) return r;
      r.kind = p.kind;
      r.key = std::string(rest);
      return r;
    }
  }
  return r;
}

KvV2Backend::KvV2Backend(storage::Backend* storage, Clock& clock)
    : storage_(storage), clock_(clock), memo_(std::make_unique<MetadataMemo>()) {}

KvV2Backend::~KvV2Backend() = default;

StatusOr<Response> KvV2Backend::HandleRequest(Request& req) {
  return Guarded([&]() -> StatusOr<Response> {
    storage::Backend* s = req.storage ? req.storage : storage_;
    if (s == nullptr) return Internal("kv: no storage");
    if (req.operation == Operation::kHelp) return UnsupportedOperation();
    Route r = Parse(req.path, req.operation);
    ARCA_ASSIGN_OR_RETURN(Response resp, Dispatch(req, r, *s));
    switch (r.kind) {
      case Kind::kConfig:
        AddFieldWarnings(resp, req.data, 0, false);
        break;
      case Kind::kData:
        AddFieldWarnings(resp, req.data, 1, true);
        break;
      case Kind::kMetadata:
        AddFieldWarnings(resp, req.data, 2, true);
        break;
      case Kind::kDelete:
      case Kind::kUndelete:
      case Kind::kDestroy:
        AddFieldWarnings(resp, req.data, 3, true);
        break;
      case Kind::kSubkeys:
        AddFieldWarnings(resp, req.data, 4, true);
        break;
      default:
        break;
    }
    return resp;
  });
}

StatusOr<Response> KvV2Backend::Dispatch(Request& req, const Route& r, storage::Backend& s) {
  const Operation op = req.operation;
  switch (r.kind) {
    case Kind::kConfig:
      if (op == Operation::kRead) return ReadConfig(s);
      if (IsWrite(op)) return WriteConfig(s, req.data);
      return UnsupportedOperation();
    case Kind::kData:
      if (op == Operation::kRead) return ReadData(s, r.key, req.data, false);
      if (IsWrite(op)) return WriteData(s, r.key, req.data);
      if (op == Operation::kPatch) return PatchData(s, r.key, req.data);
      if (op == Operation::kDelete) return DeleteLatest(s, r.key);
      return UnsupportedOperation();
    case Kind::kMetadata:
      if (op == Operation::kRead) return ReadMetadata(s, r.key);
      if (IsWrite(op)) return WriteMetadata(s, r.key, req.data);
      if (op == Operation::kPatch) return PatchMetadata(s, r.key, req.data);
      if (op == Operation::kDelete) return DeleteMetadata(s, r.key);
      if (op == Operation::kList) return ListMetadata(s, r.key);
      return UnsupportedOperation();
    case Kind::kDelete:
    case Kind::kUndelete:
    case Kind::kDestroy:
      if (IsWrite(op)) return ChangeVersions(s, r.kind, r.key, req.data);
      return UnsupportedOperation();
    case Kind::kSubkeys:
      if (op == Operation::kRead) return ReadData(s, r.key, req.data, true);
      return UnsupportedOperation();
    case Kind::kRoot:
      return WarningNotFound(
          "Non-listing operations on the root of a K/V v2 mount are not supported.");
    case Kind::kInvalid:
      break;
  }
  return WarningNotFound(
      std::string("Invalid path for a versioned K/V secrets engine. See the API docs for the "
                  "appropriate API endpoints to use. If using the Vault CLI, use 'vault kv ") +
      SubCommand(op) + "' for this operation.");
}

// Data and metadata writes have one handler for create and update; the
// other paths answer Exists without a read anyway.
bool KvV2Backend::CreateIsUpdate(std::string_view path) const {
  Route r = Parse(path, Operation::kUpdate);
  return r.kind == Kind::kData || r.kind == Kind::kMetadata;
}

StatusOr<bool> KvV2Backend::Exists(Request& req) {
  try {
    storage::Backend* s = req.storage ? req.storage : storage_;
    if (s == nullptr) return Internal("kv: no storage");
    Route r = Parse(req.path, req.operation);
    if (r.kind != Kind::kData && r.kind != Kind::kMetadata) return true;
    if (r.key.empty()) return false;
    ARCA_ASSIGN_OR_RETURN(auto raw, s->Get(MetaKey(r.key)));
    return raw.has_value();
  } catch (const std::exception&) {
    return Internal("internal error");
  }
}

StatusOr<std::optional<KeyMetadata>> KvV2Backend::LoadMetadata(storage::Backend& s,
                                                               const std::string& key) {
  if (key.empty()) return std::optional<KeyMetadata>();
  ARCA_ASSIGN_OR_RETURN(auto raw, s.Get(MetaKey(key)));
  if (!raw) return std::optional<KeyMetadata>();
  ARCA_ASSIGN_OR_RETURN(auto meta, DecodeMetadata(*raw));
  if (meta.key.empty()) meta.key = key;
  return std::optional<KeyMetadata>(std::move(meta));
}

StatusOr<KvConfig> KvV2Backend::LoadConfig(storage::Backend& s) {
  ARCA_ASSIGN_OR_RETURN(auto raw, s.Get(kConfigKey));
  if (!raw) return KvConfig();
  return DecodeConfig(*raw);
}

StatusOr<Response> KvV2Backend::Mutate(storage::Backend& s, const std::string& key,
                                       const MutateFn& fn) {
  std::unique_lock lock(locks_.For(key));
  const std::string mkey = MetaKey(key);
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    // The first attempt guesses the metadata for update (it may be older
    // than the latest write, or a guessed "missing", but the Txn below is
    // conditioned on exactly these bytes or on absence, so a wrong guess only
    // aborts it); retries read linearizably, so a lagging etcd member cannot
    // starve the write. An outcome that writes nothing (an error, a CAS
    // mismatch, nothing to change) is never returned from a guess: it is
    // decided again on a linearizable read. Other reads (the config,
    // version data) stay Get.
    const bool for_update = attempt == 0;
    ARCA_ASSIGN_OR_RETURN(auto raw, for_update ? s.GuessForUpdate(mkey) : s.Get(mkey));
    std::optional<KeyMetadata> meta;
    if (raw) {
      auto decoded = memo_->Decode(key, *raw);  // a hit when this node wrote these bytes
      if (!decoded.ok() && for_update) continue;
      ARCA_RETURN_IF_ERROR(decoded.status());
      meta = (*decoded)->meta;
    }
    Mutation m;
    StatusOr<Response> decided = fn(meta, m);
    if (for_update && (!decided.ok() || !m.commit)) continue;
    ARCA_ASSIGN_OR_RETURN(Response resp, std::move(decided));
    if (!m.commit) return resp;

    std::vector<storage::Condition> conds;
    conds.push_back(raw ? storage::Condition::Equals(mkey, *raw)
                        : storage::Condition::Absent(mkey));
    for (auto& c : m.conditions) conds.push_back(std::move(c));
    std::vector<storage::Op> ops = std::move(m.ops);
    std::string encoded;
    if (m.delete_meta || !meta) {
      ops.push_back(storage::Op::Delete(mkey));
    } else {
      encoded = EncodeMetadata(*meta);
      ops.push_back(storage::Op::Put(mkey, encoded));
    }
    Status st = s.Txn(conds, ops);
    if (st.ok() && !encoded.empty()) memo_->Remember(key, std::move(encoded), std::move(*meta));
    Wipe(encoded);
    if (st.ok()) return resp;
    if (!IsAborted(st)) return st;
  }
  return Unavailable("kv: too many concurrent changes to this key, try again");
}

Response KvV2Backend::CommitNewVersion(KeyMetadata& meta, const KvConfig& config, const Json& data,
                                       Mutation& m) {
  int64_t now = Now();
  std::vector<uint64_t> pruned;
  uint64_t n = AddVersion(meta, now, DeletionTime(now, config, meta), config.max_versions, &pruned);
  for (uint64_t p : pruned) DropVersionData(meta, p, m.ops);
  StoreVersionData(meta, n, DumpJson(data), m.ops);
  m.commit = true;
  return Response::WithData(VersionJson(n, meta.versions[n], meta));
}

template <typename KeyFn>
StatusOr<Json> KvV2Backend::LoadVersionData(storage::Backend& s, const KeyMetadata& meta,
                                            uint64_t ver, KeyFn version_key) {
  std::optional<Json> obj;
  if (auto in = meta.inline_data.find(ver); in != meta.inline_data.end()) {
    obj = ParseJsonObject(in->second);
  } else {
    ARCA_ASSIGN_OR_RETURN(auto raw, s.Get(version_key()));
    if (!raw) return Internal("could not find version data");
    obj = ParseJsonObject(*raw);
  }
  if (!obj) return Internal("kv: corrupt version data in storage");
  return std::move(*obj);
}

StatusOr<Response> KvV2Backend::ReadData(storage::Backend& s, const std::string& key,
                                         const Json& data, bool subkeys) {
  ARCA_ASSIGN_OR_RETURN(auto version_param, logical::GetInt(data, "version"));
  std::optional<int64_t> depth;
  if (subkeys) {
    ARCA_ASSIGN_OR_RETURN(depth, logical::GetInt(data, "depth"));
  }
  std::shared_lock lock(locks_.For(key));
  if (key.empty()) return NotFound();
  ARCA_ASSIGN_OR_RETURN(auto raw_meta, s.Get(MetaKey(key)));
  if (!raw_meta) return NotFound();
  ARCA_ASSIGN_OR_RETURN(auto decoded, memo_->Decode(key, *raw_meta));
  const KeyMetadata* meta = &decoded->meta;
  uint64_t ver = meta->current_version;
  if (version_param && *version_param > 0) ver = uint64_t(*version_param);
  auto it = meta->versions.find(ver);
  if (it == meta->versions.end()) return NotFound();

  const char* field = subkeys ? "subkeys" : "data";
  Response resp = Response::WithData(
      Json{{field, nullptr},
           {"metadata", ver == meta->current_version ? decoded->CurrentVersionJson()
                                                     : VersionJson(ver, it->second, *meta)}});
  if (IsDeleted(it->second, Now()) || it->second.destroyed) {
    resp.http_status = 404;
    return resp;
  }
  ARCA_ASSIGN_OR_RETURN(Json obj, LoadVersionData(s, *meta, ver, [&] {
                          return decoded->VersionPrefix() + std::to_string(ver);
                        }));
  if (subkeys) RemoveValues(obj, 1, depth.value_or(0));
  resp.data[field] = std::move(obj);
  return resp;
}

StatusOr<Response> KvV2Backend::WriteData(storage::Backend& s, const std::string& key,
                                          const Json& data) {
  ARCA_ASSIGN_OR_RETURN(auto obj, logical::GetObject(data, "data"));
  if (!obj) return InvalidArgument("no data provided");
  ARCA_ASSIGN_OR_RETURN(Json options, GetOptions(data));
  return Mutate(s, key, [&](std::optional<KeyMetadata>& meta, Mutation& m) -> StatusOr<Response> {
    ARCA_ASSIGN_OR_RETURN(KvConfig config, LoadConfig(s));
    KeyMetadata md = meta ? *meta : KeyMetadata{};
    md.key = key;
    ARCA_RETURN_IF_ERROR(ValidateCas(options, config, md));
    Response resp = CommitNewVersion(md, config, *obj, m);
    meta = std::move(md);
    return resp;
  });
}

StatusOr<Response> KvV2Backend::PatchData(storage::Backend& s, const std::string& key,
                                          const Json& data) {
  ARCA_ASSIGN_OR_RETURN(auto patch, logical::GetObject(data, "data"));
  if (!patch) return InvalidArgument("no data provided");
  ARCA_ASSIGN_OR_RETURN(Json options, GetOptions(data));
  return Mutate(s, key, [&](std::optional<KeyMetadata>& meta, Mutation& m) -> StatusOr<Response> {
    if (!meta) return EmptyNotFound();
    ARCA_ASSIGN_OR_RETURN(KvConfig config, LoadConfig(s));
    ARCA_RETURN_IF_ERROR(ValidateCas(options, config, *meta));
    uint64_t cur = meta->current_version;
    auto it = meta->versions.find(cur);
    if (it == meta->versions.end()) return EmptyNotFound();
    if (IsDeleted(it->second, Now()) || it->second.destroyed) {
      Response r = Response::WithData(VersionJson(cur, it->second, *meta));
      r.http_status = 404;
      return r;
    }
    ARCA_ASSIGN_OR_RETURN(Json current,
                          LoadVersionData(s, *meta, cur, [&] { return VersionKey(key, cur); }));
    current.merge_patch(*patch);
    return CommitNewVersion(*meta, config, current, m);
  });
}

StatusOr<Response> KvV2Backend::DeleteLatest(storage::Backend& s, const std::string& key) {
  return Mutate(s, key, [&](std::optional<KeyMetadata>& meta, Mutation& m) -> StatusOr<Response> {
    if (!meta) return Response();
    auto it = meta->versions.find(meta->current_version);
    int64_t now = Now();
    if (it == meta->versions.end() || it->second.destroyed || IsDeleted(it->second, now)) {
      return Response();
    }
    it->second.deletion_ns = now;
    m.commit = true;
    return Response();
  });
}

StatusOr<Response> KvV2Backend::ChangeVersions(storage::Backend& s, Kind kind,
                                               const std::string& key, const Json& data) {
  ARCA_ASSIGN_OR_RETURN(auto versions, ParseVersions(data));
  if (versions.empty()) {
    return InvalidArgument(kind == Kind::kDestroy ? "no version number provided"
                                                  : "No version number provided");
  }
  return Mutate(s, key, [&](std::optional<KeyMetadata>& meta, Mutation& m) -> StatusOr<Response> {
    if (!meta) return Response();
    KvConfig config;
    if (kind == Kind::kUndelete) {
      ARCA_ASSIGN_OR_RETURN(config, LoadConfig(s));
    }
    int64_t now = Now();
    for (int64_t n : versions) {
      if (n <= 0) continue;
      auto it = meta->versions.find(uint64_t(n));
      if (it == meta->versions.end() || it->second.destroyed) continue;
      VersionMeta& v = it->second;
      switch (kind) {
        case Kind::kDelete:
          if (IsDeleted(v, now)) continue;
          v.deletion_ns = now;
          break;
        case Kind::kUndelete:
          v.deletion_ns = DeletionTime(now, config, *meta);
          break;
        default:  // kDestroy
          v.destroyed = true;
          DropVersionData(*meta, uint64_t(n), m.ops);
          break;
      }
      m.commit = true;
    }
    return Response();
  });
}

}  // namespace arca::engines::internal
