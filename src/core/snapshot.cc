// arca: snapshot encoding.
#include "core/snapshot.h"

#include <cstdint>
#include <cstring>

#include "base/encoding.h"

namespace arca::core {

namespace {
constexpr std::string_view kMagic = "ARCASNAP";
constexpr uint32_t kFormat = 1;
constexpr std::size_t kSumSize = 32;

void PutU32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

struct Reader {
  std::string_view in;
  std::size_t pos = 0;
  bool Take(std::size_t n, std::string_view* out) {
    if (in.size() - pos < n) return false;
    *out = in.substr(pos, n);
    pos += n;
    return true;
  }
  bool U32(uint32_t* v) {
    std::string_view b;
    if (!Take(4, &b)) return false;
    *v = 0;
    for (unsigned char c : b) *v = (*v << 8) | c;
    return true;
  }
  bool U64(uint64_t* v) {
    std::string_view b;
    if (!Take(8, &b)) return false;
    *v = 0;
    for (unsigned char c : b) *v = (*v << 8) | c;
    return true;
  }
};

Status Bad(std::string why) { return InvalidArgument("invalid snapshot: " + why); }
}  // namespace

bool IsEphemeralKey(std::string_view key) {
  return key == "core/lock" || key.substr(0, 11) == "core/nodes/";
}

std::string EncodeSnapshot(const SnapshotEntries& entries) {
  std::string out(kMagic);
  PutU32(out, kFormat);
  PutU64(out, entries.size());
  for (const auto& [k, v] : entries) {
    PutU32(out, static_cast<uint32_t>(k.size()));
    out += k;
    PutU32(out, static_cast<uint32_t>(v.size()));
    out += v;
  }
  out += Sha256(out);
  return out;
}

StatusOr<SnapshotEntries> DecodeSnapshot(std::string_view data) {
  if (data.size() < kMagic.size() + 12 + kSumSize) return Bad("too short");
  std::string_view body = data.substr(0, data.size() - kSumSize);
  std::string_view sum = data.substr(data.size() - kSumSize);
  if (body.substr(0, kMagic.size()) != kMagic) return Bad("not an arca snapshot");
  if (Sha256(body) != sum) return Bad("checksum mismatch");
  Reader r{body, kMagic.size()};
  uint32_t format = 0;
  uint64_t count = 0;
  if (!r.U32(&format) || format != kFormat) return Bad("unsupported format");
  if (!r.U64(&count)) return Bad("truncated");
  // Each entry takes at least 8 bytes: the count cannot exceed what is there.
  if (count > (body.size() - r.pos) / 8) return Bad("entry count exceeds the data");
  SnapshotEntries out;
  out.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint32_t klen = 0, vlen = 0;
    std::string_view k, v;
    if (!r.U32(&klen) || !r.Take(klen, &k) || !r.U32(&vlen) || !r.Take(vlen, &v))
      return Bad("truncated");
    if (k.empty()) return Bad("empty key");
    out.emplace_back(std::string(k), std::string(v));
  }
  if (r.pos != body.size()) return Bad("trailing bytes");
  return out;
}

}  // namespace arca::core
