// TableFileWriter: the one way a new SSTable reaches the data directory, for
// flushes and compactions alike. It writes L<level>_<number>.sst.tmp through
// SSTableBuilder (which syncs it), renames it into place, syncs the
// directory, and opens the result. Until the manifest lists the table it is
// a leftover that the next Open removes.
#pragma once

#include <memory>
#include <string>

#include "core/manifest.h"
#include "core/options.h"
#include "core/sstable_builder.h"
#include "core/version.h"

namespace lsmd {

class TableFileWriter {
 public:
  static Result<std::unique_ptr<TableFileWriter>> Create(Env* env, const std::string& dir,
                                                         const Options& options, int level,
                                                         uint64_t number);
  ~TableFileWriter();  // removes the temporary file unless Finish succeeded

  Status Add(std::string_view key, ValueKind kind, std::string_view value) {
    return builder_->Add(key, kind, value);
  }
  uint64_t FileSize() const { return builder_->FileSize(); }
  uint64_t entries() const { return builder_->entries(); }

  // Makes the table durable under its final name and opens it.
  Result<std::shared_ptr<TableHandle>> Finish();

 private:
  TableFileWriter(Env* env, std::string dir, int level, uint64_t number,
                  std::unique_ptr<SSTableBuilder> builder);

  Env* const env_;
  const std::string dir_;
  const int level_;
  const uint64_t number_;
  std::unique_ptr<SSTableBuilder> builder_;
  bool finished_ = false;
};

}  // namespace lsmd
