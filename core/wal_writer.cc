// WalWriter: the record format is documented in wal_writer.h:
//
//   fixed32 payload_length | fixed64 XXH3-64(payload) | payload
#include "core/wal_writer.h"

#include <string>

#include "core/checksum.h"
#include "core/coding.h"

namespace lsmd {

WalWriter::WalWriter(std::unique_ptr<WritableFile> file) : file_(std::move(file)) {}

Status WalWriter::AddRecord(std::string_view payload) {
  if (payload.size() > kWalMaxRecordSize) {
    return Status::InvalidArgument("log record of " + std::to_string(payload.size()) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(kWalMaxRecordSize));
  }
  std::string header;
  header.reserve(kWalHeaderSize);
  PutFixed32(&header, static_cast<uint32_t>(payload.size()));
  PutFixed64(&header, Checksum(payload));
  Status s = file_->Append(header);
  if (s.ok()) s = file_->Append(payload);
  // Flush even small records: an acknowledged write must survive kill -9.
  if (s.ok()) s = file_->Flush();
  return s;
}

Status WalWriter::Sync() { return file_->Sync(); }

Status WalWriter::Close() { return file_->Close(); }

}  // namespace lsmd
