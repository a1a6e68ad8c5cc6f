#include "core/manifest.h"

#include "core/checksum.h"
#include "core/coding.h"
#include "core/filename.h"

namespace lsmd {
namespace {

constexpr std::string_view kMagic = "LSMDMANI";
constexpr uint32_t kVersion = 1;

Status Bad(std::string_view what) { return Status::Corruption(what); }

}  // namespace

std::string EncodeManifest(const ManifestState& state) {
  std::string out;
  out.append(kMagic);
  PutFixed32(&out, kVersion);
  PutFixed64(&out, state.next_table_number);
  PutFixed64(&out, state.next_log_number);
  PutFixed64(&out, state.log_number);
  PutFixed32(&out, static_cast<uint32_t>(state.tables.size()));
  for (const FileMeta& t : state.tables) {
    out.push_back(static_cast<char>(t.level));
    PutFixed64(&out, t.number);
    PutFixed64(&out, t.size);
    PutFixed64(&out, t.entries);
    PutFixed64(&out, t.bloom_bits);
    PutLengthPrefixed(&out, t.smallest);
    PutLengthPrefixed(&out, t.largest);
  }
  PutFixed32(&out, static_cast<uint32_t>(state.compact_pointers.size()));
  for (const std::string& p : state.compact_pointers) PutLengthPrefixed(&out, p);
  PutFixed64(&out, Checksum(out));
  return out;
}

Status DecodeManifest(std::string_view data, ManifestState* state) {
  if (data.size() < kMagic.size() + 4 + 8) return Bad("file too short");
  if (data.substr(0, kMagic.size()) != kMagic) return Bad("bad magic number");
  std::string_view body = data.substr(0, data.size() - 8);
  if (Checksum(body) != DecodeFixed64(data.data() + data.size() - 8)) {
    return Bad("checksum mismatch");
  }
  std::string_view in = body.substr(kMagic.size());
  uint32_t version = 0, count = 0;
  ManifestState s;
  s.compact_pointers.clear();
  if (!GetFixed32(&in, &version)) return Bad("truncated header");
  if (version != kVersion) return Bad("unsupported format version " + std::to_string(version));
  if (!GetFixed64(&in, &s.next_table_number) || !GetFixed64(&in, &s.next_log_number) ||
      !GetFixed64(&in, &s.log_number) || !GetFixed32(&in, &count)) {
    return Bad("truncated header");
  }
  for (uint32_t i = 0; i < count; ++i) {
    FileMeta t;
    std::string_view smallest, largest;
    if (in.empty()) return Bad("truncated table list");
    t.level = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    if (t.level >= kNumLevels) return Bad("table level out of range");
    if (!GetFixed64(&in, &t.number) || !GetFixed64(&in, &t.size) || !GetFixed64(&in, &t.entries) ||
        !GetFixed64(&in, &t.bloom_bits) || !GetLengthPrefixed(&in, &smallest) ||
        !GetLengthPrefixed(&in, &largest)) {
      return Bad("truncated table list");
    }
    if (t.number >= s.next_table_number) return Bad("table number beyond next_table_number");
    t.smallest = smallest;
    t.largest = largest;
    s.tables.push_back(std::move(t));
  }
  if (!GetFixed32(&in, &count) || count > kNumLevels) return Bad("bad compaction pointer count");
  for (uint32_t i = 0; i < count; ++i) {
    std::string_view p;
    if (!GetLengthPrefixed(&in, &p)) return Bad("truncated compaction pointers");
    s.compact_pointers.emplace_back(p);
  }
  s.compact_pointers.resize(kNumLevels);
  if (!in.empty()) return Bad("trailing bytes");
  *state = std::move(s);
  return Status::OK();
}

Status SaveManifest(Env* env, const std::string& dir, const ManifestState& state, uint64_t* bytes) {
  const std::string encoded = EncodeManifest(state);
  Status s = env->WriteFileAtomically(dir, kManifestFileName, encoded);
  if (s.ok() && bytes != nullptr) *bytes = encoded.size();
  return s;
}

Status LoadManifest(Env* env, const std::string& dir, ManifestState* state, bool* exists) {
  const std::string path = dir + "/" + kManifestFileName;
  *exists = env->FileExists(path);
  if (!*exists) return Status::OK();
  std::string data;
  Status s = env->ReadFileToString(path, &data);
  if (!s.ok()) return s;
  s = DecodeManifest(data, state);
  if (!s.ok()) return Status::Corruption(path + ": " + s.message());
  return Status::OK();
}

bool ManifestMayList(Env* env, const std::string& dir, const std::vector<uint64_t>& numbers) {
  ManifestState on_disk;
  bool exists = false;
  if (!LoadManifest(env, dir, &on_disk, &exists).ok() || !exists) return true;
  for (const FileMeta& listed : on_disk.tables) {
    for (uint64_t number : numbers) {
      if (listed.number == number) return true;
    }
  }
  return false;
}

}  // namespace lsmd
