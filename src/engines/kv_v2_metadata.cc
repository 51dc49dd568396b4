// arca engines: KV v2 metadata/ and config endpoints, and the upgrade of a
// KV v1 mount's data to the v2 layout (Initialize).
#include <limits>
#include <mutex>

#include "base/time.h"
#include "engines/internal/kv_v2.h"
#include "logical/fields.h"

namespace arca::engines::internal {

namespace {

constexpr std::size_t kMaxUpgradeKeys = 10'000'000;

const char kCasWarning[] =
    "\"cas_required\" set to false, but is mandated by backend config. This value will be "
    "ignored.";

bool Has(const Json& data, const char* field) { return data.is_object() && data.contains(field); }

StatusOr<std::optional<uint32_t>> GetMaxVersions(const Json& data) {
  ARCA_ASSIGN_OR_RETURN(auto v, logical::GetInt(data, "max_versions"));
  if (!v) return std::optional<uint32_t>();
  if (*v < 0 || *v > int64_t(std::numeric_limits<uint32_t>::max())) {
    return InvalidArgument("max_versions must be between 0 and 4294967295");
  }
  return std::optional<uint32_t>(uint32_t(*v));
}

}  // namespace

StatusOr<Response> KvV2Backend::ReadMetadata(storage::Backend& s, const std::string& key) {
  std::shared_lock lock(locks_.For(key));
  ARCA_ASSIGN_OR_RETURN(auto meta, LoadMetadata(s, key));
  if (!meta) return NotFound();
  Json versions = Json::object();
  for (const auto& [n, v] : meta->versions) {
    versions[std::to_string(n)] = {
        {"created_time", FormatNs(v.created_ns)},
        {"deletion_time", v.deletion_ns ? FormatNs(*v.deletion_ns) : std::string()},
        {"destroyed", v.destroyed}};
  }
  return Response::WithData(
      Json{{"versions", std::move(versions)},
           {"current_version", meta->current_version},
           {"oldest_version", meta->oldest_version},
           {"created_time", FormatNs(meta->created_ns)},
           {"updated_time", FormatNs(meta->updated_ns)},
           {"max_versions", meta->max_versions},
           {"cas_required", meta->cas_required},
           {"delete_version_after", FormatGoDuration(meta->delete_version_after)},
           {"custom_metadata", CustomMetadataJson(*meta)}});
}

StatusOr<Response> KvV2Backend::WriteMetadata(storage::Backend& s, const std::string& key,
                                              const Json& data) {
  if (key.empty()) return InvalidArgument("missing path");
  ARCA_ASSIGN_OR_RETURN(auto max_versions, GetMaxVersions(data));
  ARCA_ASSIGN_OR_RETURN(auto cas_required, logical::GetBool(data, "cas_required"));
  ARCA_ASSIGN_OR_RETURN(auto dva, logical::GetDuration(data, "delete_version_after"));
  ARCA_ASSIGN_OR_RETURN(auto cm_raw, logical::GetObject(data, "custom_metadata"));
  if (!max_versions && !cas_required && !dva && !cm_raw) return Response();

  std::optional<std::map<std::string, std::string>> cm;
  if (cm_raw) {
    ARCA_ASSIGN_OR_RETURN(cm, ParseCustomMetadata(*cm_raw, false));
    ARCA_RETURN_IF_ERROR(ValidateCustomMetadata(*cm));
  }
  ARCA_ASSIGN_OR_RETURN(KvConfig config, LoadConfig(s));
  Response resp;
  if (cas_required && config.cas_required && !*cas_required) resp.warnings.push_back(kCasWarning);

  return Mutate(s, key, [&](std::optional<KeyMetadata>& meta, Mutation& m) -> StatusOr<Response> {
    if (!meta) {
      KeyMetadata md;
      md.key = key;
      md.created_ns = md.updated_ns = Now();
      meta = std::move(md);
    }
    if (max_versions) meta->max_versions = *max_versions;
    if (cas_required) meta->cas_required = *cas_required;
    if (dva) meta->delete_version_after = *dva;
    if (cm) meta->custom_metadata = *cm;
    m.commit = true;
    return resp;
  });
}

StatusOr<Response> KvV2Backend::PatchMetadata(storage::Backend& s, const std::string& key,
                                              const Json& data) {
  if (key.empty()) return InvalidArgument("missing path");
  // Merge-patch semantics: an absent field is unchanged, null resets it.
  ARCA_ASSIGN_OR_RETURN(auto max_versions, GetMaxVersions(data));
  ARCA_ASSIGN_OR_RETURN(auto cas_required, logical::GetBool(data, "cas_required"));
  ARCA_ASSIGN_OR_RETURN(auto dva, logical::GetDuration(data, "delete_version_after"));
  ARCA_ASSIGN_OR_RETURN(auto cm_raw, logical::GetObject(data, "custom_metadata"));
  const bool reset_max = Has(data, "max_versions") && !max_versions;
  const bool reset_cas = Has(data, "cas_required") && !cas_required;
  const bool reset_dva = Has(data, "delete_version_after") && !dva;
  const bool reset_cm = Has(data, "custom_metadata") && !cm_raw;
  std::map<std::string, std::string> cm_set;
  if (cm_raw) {
    ARCA_ASSIGN_OR_RETURN(cm_set, ParseCustomMetadata(*cm_raw, true));
    ARCA_RETURN_IF_ERROR(ValidateCustomMetadata(cm_set));
  }
  ARCA_ASSIGN_OR_RETURN(KvConfig config, LoadConfig(s));
  Response resp;
  if (cas_required && config.cas_required && !*cas_required) resp.warnings.push_back(kCasWarning);

  return Mutate(s, key, [&](std::optional<KeyMetadata>& meta, Mutation& m) -> StatusOr<Response> {
    if (!meta) {
      Response nf;
      nf.http_status = 404;
      nf.raw_body = "";
      return nf;
    }
    if (max_versions) meta->max_versions = *max_versions;
    if (reset_max) meta->max_versions = 0;
    if (cas_required) meta->cas_required = *cas_required;
    if (reset_cas) meta->cas_required = false;
    if (dva) meta->delete_version_after = *dva;
    if (reset_dva) meta->delete_version_after = 0;
    if (reset_cm) meta->custom_metadata.clear();
    if (cm_raw) {
      for (auto it = cm_raw->begin(); it != cm_raw->end(); ++it) {
        if (it->is_null()) meta->custom_metadata.erase(it.key());
      }
      for (const auto& [k, v] : cm_set) meta->custom_metadata[k] = v;
      ARCA_RETURN_IF_ERROR(ValidateCustomMetadata(meta->custom_metadata));
    }
    m.commit = true;
    return resp;
  });
}

StatusOr<Response> KvV2Backend::DeleteMetadata(storage::Backend& s, const std::string& key) {
  if (key.empty()) return Response();
  return Mutate(s, key, [&](std::optional<KeyMetadata>& meta, Mutation& m) -> StatusOr<Response> {
    if (!meta) return Response();
    for (const auto& [n, v] : meta->versions) {
      // Inline data goes with the metadata record.
      if (!v.destroyed && !meta->inline_data.count(n)) {
        m.ops.push_back(storage::Op::Delete(VersionKey(key, n)));
      }
    }
    m.delete_meta = true;
    m.commit = true;
    return Response();
  });
}

StatusOr<Response> KvV2Backend::ListMetadata(storage::Backend& s, const std::string& key) {
  ARCA_ASSIGN_OR_RETURN(auto keys, s.List(MetaKey(ListPrefix(key))));
  return ListResponse(std::move(keys));
}

StatusOr<Response> KvV2Backend::ReadConfig(storage::Backend& s) {
  ARCA_ASSIGN_OR_RETURN(KvConfig c, LoadConfig(s));
  return Response::WithData(
      Json{{"max_versions", c.max_versions},
           {"cas_required", c.cas_required},
           {"delete_version_after", FormatGoDuration(c.delete_version_after)}});
}

StatusOr<Response> KvV2Backend::WriteConfig(storage::Backend& s, const Json& data) {
  ARCA_ASSIGN_OR_RETURN(auto max_versions, GetMaxVersions(data));
  ARCA_ASSIGN_OR_RETURN(auto cas_required, logical::GetBool(data, "cas_required"));
  ARCA_ASSIGN_OR_RETURN(auto dva, logical::GetDuration(data, "delete_version_after", true));
  if (!max_versions && !cas_required && !dva) return Response();
  // One writer at a time so concurrent partial updates do not drop fields.
  std::unique_lock lock(locks_.For(kConfigKey));
  ARCA_ASSIGN_OR_RETURN(KvConfig c, LoadConfig(s));
  if (max_versions) c.max_versions = *max_versions;
  if (cas_required) c.cas_required = *cas_required;
  if (dva) c.delete_version_after = *dva < 0 ? -1 : *dva;
  ARCA_RETURN_IF_ERROR(s.Put(kConfigKey, EncodeConfig(c)));
  return Response();
}

Status KvV2Backend::MigrateV1Key(storage::Backend& s, const std::string& key) {
  ARCA_ASSIGN_OR_RETURN(auto raw, s.Get(key));
  if (!raw) return OkStatus();
  auto obj = ParseJsonObject(*raw);
  if (!obj) return OkStatus();  // not a KV v1 secret; left where it is
  const std::string v1_raw = *raw;
  auto st =
      Mutate(s, key, [&](std::optional<KeyMetadata>& meta, Mutation& m) -> StatusOr<Response> {
        ARCA_ASSIGN_OR_RETURN(KvConfig config, LoadConfig(s));
        KeyMetadata md = meta ? *meta : KeyMetadata{};
        md.key = key;
        CommitNewVersion(md, config, *obj, m);
        meta = std::move(md);
        // The v1 entry disappears in the same Txn, so a rerun never migrates it twice.
        m.conditions.push_back(storage::Condition::Equals(key, v1_raw));
        m.ops.push_back(storage::Op::Delete(key));
        return Response();
      });
  return st.status();
}

Status KvV2Backend::Initialize() {
  if (storage_ == nullptr) return Internal("kv: no storage");
  try {
    ARCA_ASSIGN_OR_RETURN(auto done, storage_->Get(kUpgradeKey));
    if (done) return OkStatus();
    // Walk the v1 keys folder by folder (everything outside "_kv2/"),
    // migrating each as it is found.
    std::vector<std::string> dirs{""};
    std::size_t seen = 0;
    while (!dirs.empty()) {
      std::string dir = std::move(dirs.back());
      dirs.pop_back();
      ARCA_ASSIGN_OR_RETURN(auto entries, storage_->List(dir));
      for (const auto& e : entries) {
        if (e.empty()) continue;
        std::string full = dir + e;
        if (dir.empty() && full == kV2Root) continue;
        if (e.back() == '/') {
          dirs.push_back(std::move(full));
          continue;
        }
        if (++seen > kMaxUpgradeKeys) {
          return Status(Code::kResourceExhausted, "kv upgrade: too many keys");
        }
        ARCA_RETURN_IF_ERROR(MigrateV1Key(*storage_, full));
      }
    }
    return storage_->Put(kUpgradeKey, DumpJson(Json{{"upgraded_time", FormatNs(Now())}}));
  } catch (const std::exception&) {
    return Internal("kv upgrade: internal error");
  }
}

}  // namespace arca::engines::internal
