// arca: the snapshot file of sys/storage/raft/snapshot.
//
// A snapshot is every physical key and value of the cluster at one point in
// time: values are the barrier's ciphertext, the keyring is sealed by the
// root key, so the file is as safe to keep as the storage itself and can
// only be used with the cluster's unseal keys. Layout (integers big-endian):
//   "ARCASNAP" | u32 format (1) | u64 entry count
//   | per entry: u32 key length, key, u32 value length, value
//   | 32-byte SHA-256 of everything before it
// Pure functions, safe for concurrent use.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace arca::core {

using SnapshotEntries = std::vector<std::pair<std::string, std::string>>;

// Keys that belong to a running cluster, not to its data (the election lock,
// node records): never written to nor restored from a snapshot.
bool IsEphemeralKey(std::string_view key);

std::string EncodeSnapshot(const SnapshotEntries& entries);
// InvalidArgument ("invalid snapshot: ...") on a bad magic, format,
// truncation, trailing bytes or checksum. Bounded by the input's size.
StatusOr<SnapshotEntries> DecodeSnapshot(std::string_view data);

}  // namespace arca::core
