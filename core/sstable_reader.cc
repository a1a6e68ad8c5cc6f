// SSTableReader: checks and loads the footer, index, filter and meta block of
// a table written in the layout of core/sstable_format.h. Every length and
// offset read from the file is checked against the file size before use, so
// a damaged file gives Corruption, never a crash or a wrong answer.
#include "core/sstable_reader.h"

#include "core/bloom.h"
#include "core/sstable_format.h"
#include "core/sstable_iterator.h"

namespace lsmd {

// Immutable after Open; shared by every thread that reads the table.
struct SSTableReader::Rep {
  TableSegments segments;
  // Index, filter and meta blocks when the file is read with pread; when it
  // is mapped they stay in the mapping. The views below point into one or
  // the other, both owned by this Rep.
  std::string sections;
  BloomFilter filter;
  TableProperties props;

  Status Corrupt(std::string_view what) const {
    return Status::Corruption(segments.path + ": " + std::string(what));
  }
  Status CheckLayout(const sst::Footer& footer, uint64_t file_size) const;
  Status LoadIndex(std::string_view payload, const sst::Footer& footer);
  Status LoadMeta(std::string_view payload);
};

namespace {

// Builds a Status with its message prefixed by the table's path.
Status WithPath(const std::string& path, const Status& s) {
  if (s.ok()) return s;
  return Status::Corruption(path + ": " + s.message());
}

}  // namespace

// Index, filter and meta must be contiguous, each at least a checksum long,
// and end exactly where the footer starts. Checked without overflow: every
// field is first bounded by the file size.
Status SSTableReader::Rep::CheckLayout(const sst::Footer& footer, uint64_t file_size) const {
  const uint64_t footer_offset = file_size - sst::kFooterSize;
  uint64_t expected = footer.index.offset;
  for (const sst::BlockHandle* h : {&footer.index, &footer.filter, &footer.meta}) {
    if (h->offset != expected || h->size < sst::kChecksumSize || h->size > footer_offset ||
        h->offset > footer_offset - h->size) {
      return Corrupt("footer has section offsets or sizes out of bounds");
    }
    expected = h->end();
  }
  if (expected != footer_offset || footer.index.offset == 0) {
    return Corrupt("footer has section offsets or sizes out of bounds");
  }
  if (footer.entries == 0) return Corrupt("footer says the table has no entries");
  return Status::OK();
}

// Segments must tile [0, index offset) in order, with strictly ascending
// first keys: a table whose index is out of order is refused at Open.
Status SSTableReader::Rep::LoadIndex(std::string_view payload, const sst::Footer& footer) {
  const Status malformed = Corrupt("index block malformed");
  uint64_t expected_offset = 0;
  while (!payload.empty()) {
    SegmentHandle h;
    if (!GetLengthPrefixed(&payload, &h.first_key) || !GetVarint64(&payload, &h.offset) ||
        !GetVarint64(&payload, &h.size)) {
      return malformed;
    }
    if (h.offset != expected_offset || h.size <= sst::kChecksumSize ||
        h.size > footer.index.offset - h.offset) {
      return malformed;
    }
    if (!segments.index.empty() && !(segments.index.back().first_key < h.first_key)) {
      return malformed;
    }
    expected_offset = h.offset + h.size;
    segments.index.push_back(h);
  }
  if (segments.index.empty() || expected_offset != footer.index.offset ||
      segments.index.size() > footer.entries) {
    return malformed;
  }
  return Status::OK();
}

Status SSTableReader::Rep::LoadMeta(std::string_view payload) {
  std::string_view smallest, largest;
  if (!GetLengthPrefixed(&payload, &smallest) || !GetLengthPrefixed(&payload, &largest) ||
      !payload.empty() || smallest != segments.index.front().first_key ||
      largest < segments.index.back().first_key) {
    return Corrupt("meta block malformed");
  }
  props.smallest_key.assign(smallest);
  props.largest_key.assign(largest);
  segments.largest_key = props.largest_key;  // props lives as long as segments
  return Status::OK();
}

SSTableReader::SSTableReader() : rep_(std::make_unique<Rep>()) {}

SSTableReader::~SSTableReader() = default;

Result<std::unique_ptr<SSTableReader>> SSTableReader::Open(Env* env, const std::string& path) {
  auto size = env->GetFileSize(path);
  if (!size.ok()) return size.status();
  const uint64_t file_size = *size;
  auto file = env->NewRandomAccessFile(path);
  if (!file.ok()) return file.status();

  std::unique_ptr<SSTableReader> reader(new SSTableReader());
  Rep& r = *reader->rep_;
  r.segments.path = path;
  r.segments.file = std::move(*file);
  if (file_size < sst::kFooterSize) {
    return r.Corrupt("file is " + std::to_string(file_size) +
                     " bytes, too short to hold an SSTable footer (truncated?)");
  }

  std::string footer_scratch;
  std::string_view footer_bytes;
  Status s = r.segments.file->Read(file_size - sst::kFooterSize, sst::kFooterSize, &footer_scratch,
                                   &footer_bytes);
  if (!s.ok()) return s;
  sst::Footer footer;
  s = WithPath(path, sst::DecodeFooter(footer_bytes, &footer));
  if (s.ok()) s = r.CheckLayout(footer, file_size);
  if (!s.ok()) return s;

  // Index, filter and meta are contiguous: one read loads all three.
  const uint64_t sections_size = footer.meta.end() - footer.index.offset;
  std::string_view sections;
  s = r.segments.file->Read(footer.index.offset, sections_size, &r.sections, &sections);
  if (!s.ok()) return s;
  if (sections.size() != sections_size) return r.Corrupt("index, filter and meta are truncated");

  const struct {
    const sst::BlockHandle& handle;
    const char* name;
  } blocks[] = {{footer.index, "index"}, {footer.filter, "filter"}, {footer.meta, "meta"}};
  std::string_view payloads[3];
  for (int i = 0; i < 3; ++i) {
    const std::string_view block =
        sections.substr(blocks[i].handle.offset - footer.index.offset, blocks[i].handle.size);
    if (!sst::VerifyBlock(block, &payloads[i])) {
      return r.Corrupt(std::string(blocks[i].name) + " block checksum mismatch");
    }
  }
  s = r.LoadIndex(payloads[0], footer);
  if (!s.ok()) return s;
  if (!r.filter.Parse(payloads[1])) return r.Corrupt("filter block malformed");
  s = r.LoadMeta(payloads[2]);
  if (!s.ok()) return s;

  r.props.entries = footer.entries;
  r.props.file_size = file_size;
  r.props.bloom_bits = r.filter.bits();
  return reader;
}

Status SSTableReader::Get(std::string_view key, TableLookup* out) const {
  const Rep& r = *rep_;
  out->state = LookupState::kAbsent;
  out->value.clear();
  out->bloom_checked = true;
  out->bloom_negative = !r.filter.MayContain(key);
  out->disk_reads = 0;
  if (out->bloom_negative) return Status::OK();

  // Outside [smallest, largest] no segment can hold the key.
  if (key > std::string_view(r.props.largest_key)) return Status::OK();
  const size_t i = r.segments.FindSegment(key);
  if (i == r.segments.index.size()) return Status::OK();

  std::string scratch;
  std::string_view entries;
  out->disk_reads = 1;
  Status s = r.segments.ReadSegment(i, &scratch, &entries);
  if (!s.ok()) return s;
  while (!entries.empty()) {
    std::string_view entry_key, value;
    ValueKind kind;
    if (!sst::DecodeEntry(&entries, &entry_key, &kind, &value)) {
      return r.segments.MalformedSegment(i);
    }
    if (entry_key < key) continue;
    if (entry_key == key) {
      if (kind == ValueKind::kPut) {
        out->state = LookupState::kFound;
        out->value.assign(value);
      } else {
        out->state = LookupState::kDeleted;
      }
    }
    break;  // entries are sorted: past the key, it is not here
  }
  return Status::OK();
}

std::unique_ptr<Iterator> SSTableReader::NewIterator() const {
  return NewSSTableIterator(&rep_->segments);
}

const TableProperties& SSTableReader::properties() const { return rep_->props; }

const std::string& SSTableReader::path() const { return rep_->segments.path; }

}  // namespace lsmd
