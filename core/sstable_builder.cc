// SSTableBuilder: writes the layout described in core/sstable_format.h.
//
// Cost model: each entry is appended to one reused segment buffer (no
// per-entry allocation once the buffers have grown), the Bloom filter keeps an
// 8-byte hash per key, and the index keeps one first key per segment. A full
// segment is checksummed and handed to the file with one Append.
#include "core/sstable_builder.h"

#include <algorithm>

#include "core/bloom.h"
#include "core/sstable_format.h"

namespace lsmd {

struct SSTableBuilder::Rep {
  Rep(const TableOptions& options, std::unique_ptr<WritableFile> f)
      : index_interval(std::max(options.index_interval, 1)),
        bloom(options.bloom_bits_per_key),
        file(std::move(f)) {}

  Status FlushSegment();

  const int index_interval;
  BloomFilterBuilder bloom;
  std::unique_ptr<WritableFile> file;

  std::string segment;      // the segment being filled, payload so far
  int segment_entries = 0;  // entries in `segment`
  std::string index;        // index block payload; the open segment's handle is missing
  uint64_t offset = 0;      // file offset where `segment` will start
  uint64_t entries = 0;
  std::string smallest_key;
  std::string last_key;  // the largest key added so far
  Status status;         // first write error; sticky
  bool finished = false;
};

Status SSTableBuilder::Rep::FlushSegment() {
  sst::AppendBlockChecksum(&segment, 0);
  status = file->Append(segment);
  if (!status.ok()) return status;
  sst::AppendIndexHandle(&index, sst::BlockHandle{offset, segment.size()});
  offset += segment.size();
  segment.clear();
  segment_entries = 0;
  return status;
}

SSTableBuilder::SSTableBuilder(const TableOptions& options, std::unique_ptr<WritableFile> file)
    : rep_(std::make_unique<Rep>(options, std::move(file))) {}

SSTableBuilder::~SSTableBuilder() = default;

Status SSTableBuilder::Add(std::string_view key, ValueKind kind, std::string_view value) {
  Rep& r = *rep_;
  if (r.finished) return Status::InvalidArgument("SSTableBuilder::Add after Finish");
  if (!r.status.ok()) return r.status;
  if (r.entries > 0 && key <= std::string_view(r.last_key)) {
    return Status::InvalidArgument("SSTableBuilder::Add: keys must be strictly ascending");
  }
  if (kind == ValueKind::kTombstone) value = {};

  if (r.segment_entries == 0) sst::AppendIndexRecord(&r.index, key);
  sst::AppendEntry(&r.segment, key, kind, value);
  r.bloom.AddKey(key);
  if (r.entries == 0) r.smallest_key.assign(key);
  r.last_key.assign(key);
  ++r.entries;
  if (++r.segment_entries == r.index_interval) return r.FlushSegment();
  return Status::OK();
}

Status SSTableBuilder::Finish(TableProperties* props) {
  Rep& r = *rep_;
  if (r.finished) return Status::InvalidArgument("SSTableBuilder::Finish called twice");
  r.finished = true;
  if (r.status.ok() && r.entries == 0) {
    r.status =
        Status::InvalidArgument("SSTableBuilder::Finish: an SSTable needs at least one entry");
  }
  if (r.status.ok() && r.segment_entries > 0) r.FlushSegment();
  if (!r.status.ok()) {
    r.file->Close();  // the caller removes the partial file; its error is the one to report
    return r.status;
  }

  // Index, filter, meta and footer go out in one Append.
  std::string tail = std::move(r.index);
  sst::Footer footer;
  footer.entries = r.entries;
  footer.index = {r.offset, 0};
  sst::AppendBlockChecksum(&tail, 0);
  footer.index.size = tail.size();

  footer.filter.offset = r.offset + tail.size();
  size_t start = tail.size();
  tail += r.bloom.Finish();
  const uint64_t bloom_bits = (tail.size() - start - 1) * 8;  // minus the k byte
  sst::AppendBlockChecksum(&tail, start);
  footer.filter.size = tail.size() - start;

  footer.meta.offset = r.offset + tail.size();
  start = tail.size();
  PutLengthPrefixed(&tail, r.smallest_key);
  PutLengthPrefixed(&tail, r.last_key);
  sst::AppendBlockChecksum(&tail, start);
  footer.meta.size = tail.size() - start;

  sst::EncodeFooter(footer, &tail);
  r.status = r.file->Append(tail);
  if (r.status.ok()) r.status = r.file->Sync();
  Status close = r.file->Close();
  if (r.status.ok()) r.status = close;
  if (!r.status.ok()) return r.status;
  r.offset += tail.size();

  if (props != nullptr) {
    props->entries = r.entries;
    props->file_size = r.offset;
    props->bloom_bits = bloom_bits;
    props->smallest_key = r.smallest_key;
    props->largest_key = r.last_key;
  }
  return Status::OK();
}

uint64_t SSTableBuilder::FileSize() const { return rep_->offset + rep_->segment.size(); }

uint64_t SSTableBuilder::entries() const { return rep_->entries; }

}  // namespace lsmd
