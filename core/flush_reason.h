// Why a MemTable was frozen for a flush, carried with it to the flush's log
// line, so an operator reading the log can tell back-pressure (the MemTable
// filled up) from requested work.
#pragma once

namespace lsmd {

enum class FlushReason {
  kMemTableFull,  // past the threshold (Options::memtable_bytes, SetMemTableThreshold)
  kExplicit,      // DB::Flush / FlushAsync (the flush command)
  kCompactAll,    // the flush DB::CompactAll starts with
  kLogFailure,    // a log append failed: the MemTable moved on to a new log
};

inline const char* FlushReasonText(FlushReason reason) {
  switch (reason) {
    case FlushReason::kMemTableFull:
      return "MemTable full";
    case FlushReason::kExplicit:
      return "flush requested";
    case FlushReason::kCompactAll:
      return "CompactAll";
    case FlushReason::kLogFailure:
      return "log write failed";
  }
  return "unknown";
}

}  // namespace lsmd
