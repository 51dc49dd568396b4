// arca: PolicyStore, the named ACL policies kept in storage.
//
// Policies live under "sys/policy/<name>" in the barrier view it is given,
// as JSON {"name","policy"}. The built-ins are always present: "root"
// (cannot be written or deleted) and "default" (Vault's default policy text;
// can be updated, not deleted). Names are lowercased. Parsed policies are
// cached; Put and Delete invalidate the cache. Safe for concurrent use.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/policy.h"
#include "storage/backend.h"

namespace arca::core {

// Vault's built-in default policy text (HCL).
std::string_view DefaultPolicyText();

class PolicyStore {
 public:
  explicit PolicyStore(storage::Backend& storage);

  // Writes "default" if it was never stored. Called after unseal.
  Status Setup();

  // The parsed policy, or nullptr if none has this name. "root" returns a
  // policy named root with no rules (Acl::Build treats it specially).
  StatusOr<std::shared_ptr<const Policy>> Get(std::string_view name);
  // Parses and stores. Errors: InvalidArgument (parse errors, name "root":
  // `cannot update "root" policy`).
  Status Put(std::string_view name, std::string_view text);
  // Errors: InvalidArgument for "root" (`cannot delete "root" policy`) and
  // "default" (`cannot delete default policy`). Missing names succeed.
  Status Delete(std::string_view name);
  // Sorted names, including "root" and "default".
  StatusOr<std::vector<std::string>> List();

  // Drops the parsed cache (e.g. after another node changed storage).
  void InvalidateCache();

 private:
  storage::Backend& storage_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Policy>, std::less<>> cache_;
  uint64_t generation_ = 0;  // bumped by every change; guards cache fills
};

}  // namespace arca::core
