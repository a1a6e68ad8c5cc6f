#include "core/table_file.h"

#include "core/filename.h"
#include "core/sstable_reader.h"

namespace lsmd {

Result<std::unique_ptr<TableFileWriter>> TableFileWriter::Create(Env* env, const std::string& dir,
                                                                 const Options& options, int level,
                                                                 uint64_t number) {
  const std::string tmp = dir + "/" + TableFileName(level, number) + kTempSuffix;
  auto file = env->NewWritableFile(tmp);
  if (!file.ok()) return file.status();
  TableOptions table_options;
  table_options.index_interval = options.index_interval;
  table_options.bloom_bits_per_key = options.bloom_bits_per_key;
  auto builder = std::make_unique<SSTableBuilder>(table_options, std::move(*file));
  return std::unique_ptr<TableFileWriter>(
      new TableFileWriter(env, dir, level, number, std::move(builder)));
}

TableFileWriter::TableFileWriter(Env* env, std::string dir, int level, uint64_t number,
                                 std::unique_ptr<SSTableBuilder> builder)
    : env_(env),
      dir_(std::move(dir)),
      level_(level),
      number_(number),
      builder_(std::move(builder)) {}

TableFileWriter::~TableFileWriter() {
  if (!finished_) {
    builder_.reset();  // closes the file before it is removed
    env_->RemoveFile(dir_ + "/" + TableFileName(level_, number_) + kTempSuffix);
  }
}

Result<std::shared_ptr<TableHandle>> TableFileWriter::Finish() {
  const std::string name = TableFileName(level_, number_);
  const std::string path = dir_ + "/" + name;
  TableProperties props;
  Status s = builder_->Finish(&props);
  if (s.ok()) s = env_->RenameFile(path + kTempSuffix, path);
  if (!s.ok()) return s;
  finished_ = true;
  s = env_->SyncDir(dir_);
  std::unique_ptr<SSTableReader> reader;
  if (s.ok()) {
    auto opened = SSTableReader::Open(env_, path);
    if (opened.ok()) {
      reader = std::move(*opened);
    } else {
      s = opened.status();
    }
  }
  if (!s.ok()) {
    env_->RemoveFile(path);
    return s;
  }
  FileMeta meta;
  meta.level = level_;
  meta.number = number_;
  meta.size = props.file_size;
  meta.entries = props.entries;
  meta.bloom_bits = props.bloom_bits;
  meta.smallest = std::move(props.smallest_key);
  meta.largest = std::move(props.largest_key);
  return std::make_shared<TableHandle>(env_, dir_, std::move(meta), std::move(reader));
}

}  // namespace lsmd
