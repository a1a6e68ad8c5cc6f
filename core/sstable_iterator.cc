#include "core/sstable_iterator.h"

#include <algorithm>

#include "core/sstable_format.h"

namespace lsmd {

size_t TableSegments::FindSegment(std::string_view key) const {
  auto after = std::upper_bound(
      index.begin(), index.end(), key,
      [](std::string_view k, const SegmentHandle& segment) { return k < segment.first_key; });
  if (after == index.begin()) return index.size();
  return static_cast<size_t>(after - index.begin()) - 1;
}

Status TableSegments::ReadSegment(size_t i, std::string* scratch, std::string_view* payload) const {
  const SegmentHandle& segment = index[i];
  std::string_view block;
  Status s = file->Read(segment.offset, segment.size, scratch, &block);
  if (!s.ok()) return s;
  if (block.size() != segment.size) {
    return Status::Corruption(path + ": data segment at offset " + std::to_string(segment.offset) +
                              " is truncated");
  }
  if (!sst::VerifyBlock(block, payload)) {
    return Status::Corruption(path + ": data segment at offset " + std::to_string(segment.offset) +
                              " checksum mismatch");
  }
  return CheckSegmentOrder(i, *payload);
}

Status TableSegments::CheckSegmentOrder(size_t i, std::string_view payload) const {
  const SegmentHandle& segment = index[i];
  const bool last = i + 1 == index.size();
  const std::string_view bound = last ? largest_key : index[i + 1].first_key;
  std::string_view previous;
  bool first = true;
  while (!payload.empty()) {
    std::string_view key, value;
    ValueKind kind;
    if (!sst::DecodeEntry(&payload, &key, &kind, &value)) return MalformedSegment(i);
    const bool in_order = first ? key == segment.first_key : previous < key;
    const bool below_bound = last ? key <= bound : key < bound;
    if (!in_order || !below_bound) {
      return Status::Corruption(path + ": data segment at offset " +
                                std::to_string(segment.offset) + " has keys out of order");
    }
    previous = key;
    first = false;
  }
  if (first) return MalformedSegment(i);  // an empty segment is never written
  return Status::OK();
}

Status TableSegments::MalformedSegment(size_t i) const {
  return Status::Corruption(path + ": malformed data segment at offset " +
                            std::to_string(index[i].offset));
}

namespace {

// Owned by one thread at a time, like every Iterator; it only reads the
// shared, immutable TableSegments.
class SSTableIterator final : public Iterator {
 public:
  explicit SSTableIterator(const TableSegments* segments) : segments_(segments) {}

  bool Valid() const override { return valid_; }

  void SeekToFirst() override {
    if (!status_.ok()) return;
    if (LoadSegment(0)) ParseNext();
  }

  void Seek(std::string_view target) override {
    if (!status_.ok()) return;
    size_t i = segments_->FindSegment(target);
    if (i == segments_->index.size()) i = 0;  // target sorts before every key
    if (!LoadSegment(i)) return;
    ParseNext();
    // The answer is in this segment or is the first key of the next one.
    while (valid_ && key_ < target) ParseNext();
  }

  void Next() override { ParseNext(); }

  std::string_view key() const override { return key_; }
  std::string_view value() const override { return value_; }
  ValueKind kind() const override { return kind_; }
  Status status() const override { return status_; }

 private:
  // Makes segment i current; false (and !Valid()) if it cannot be read.
  bool LoadSegment(size_t i) {
    valid_ = false;
    segment_ = i;
    rest_ = {};
    if (i >= segments_->index.size()) return false;
    status_ = segments_->ReadSegment(i, &scratch_, &rest_);
    return status_.ok();
  }

  // Moves to the next entry, crossing into the next segment when this one
  // is used up.
  void ParseNext() {
    valid_ = false;
    while (rest_.empty()) {
      if (!status_.ok() || !LoadSegment(segment_ + 1)) return;
    }
    if (!sst::DecodeEntry(&rest_, &key_, &kind_, &value_)) {
      status_ = segments_->MalformedSegment(segment_);
      rest_ = {};
      return;
    }
    valid_ = true;
  }

  const TableSegments* const segments_;
  std::string scratch_;    // the current segment's bytes, reused across segments
  size_t segment_ = 0;     // the segment rest_ belongs to
  std::string_view rest_;  // unparsed entries of the current segment
  std::string_view key_;
  std::string_view value_;
  ValueKind kind_ = ValueKind::kPut;
  bool valid_ = false;
  Status status_;  // first error; once set the iterator stays invalid
};

}  // namespace

std::unique_ptr<Iterator> NewSSTableIterator(const TableSegments* segments) {
  return std::make_unique<SSTableIterator>(segments);
}

}  // namespace lsmd
