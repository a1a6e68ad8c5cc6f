#include "proto/resp/resp_server_commands.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string_view>

#include "proto/resp/glob.h"
#include "proto/resp/resp_session.h"
#include "proto/resp/resp_writer.h"

namespace lsmd::proto::resp {
namespace {

// The Redis version whose RESP2 commands and INFO fields lsmd follows:
// tools that check redis_version (exporters, client libraries) read it.
constexpr std::string_view kRedisCompatVersion = "7.0.0";

std::string Lower(std::string_view s) {
  std::string lower(s);
  for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? c + 32 : c;
  return lower;
}

// Resident and peak resident bytes, from /proc (0 if unreadable).
void ReadMemory(uint64_t* rss, uint64_t* peak) {
  *rss = *peak = 0;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    unsigned long long kib = 0;
    if (std::sscanf(line.c_str(), "VmRSS: %llu kB", &kib) == 1) *rss = kib * 1024;
    if (std::sscanf(line.c_str(), "VmHWM: %llu kB", &kib) == 1) *peak = kib * 1024;
  }
}

std::string Human(uint64_t bytes) {
  char buf[32];
  const double b = static_cast<double>(bytes);
  if (b >= 1 << 30) {
    std::snprintf(buf, sizeof(buf), "%.2fG", b / (1 << 30));
  } else if (b >= 1 << 20) {
    std::snprintf(buf, sizeof(buf), "%.2fM", b / (1 << 20));
  } else if (b >= 1 << 10) {
    std::snprintf(buf, sizeof(buf), "%.2fK", b / (1 << 10));
  } else {
    std::snprintf(buf, sizeof(buf), "%lluB", static_cast<unsigned long long>(bytes));
  }
  return buf;
}

std::string ConfigValue(const RespShared& shared, std::string_view name) {
  for (const auto& [key, value] : shared.facts.config) {
    if (key == name) return value;
  }
  return "";
}

class InfoWriter {
 public:
  void Section(std::string_view name) {
    if (!text_.empty()) text_ += "\r\n";
    text_ += "# ";
    text_ += name;
    text_ += "\r\n";
  }
  void Field(std::string_view key, std::string_view value) {
    text_ += key;
    text_ += ':';
    text_ += value;
    text_ += "\r\n";
  }
  void Field(std::string_view key, uint64_t value) { Field(key, std::to_string(value)); }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

void ServerSection(const RespShared& shared, InfoWriter& w) {
  w.Section("Server");
  w.Field("redis_version", kRedisCompatVersion);
  w.Field("lsmd_version", shared.facts.lsmd_version);
  w.Field("redis_mode", "standalone");
  utsname host{};
  if (uname(&host) == 0) {
    w.Field("os", std::string(host.sysname) + " " + host.release + " " + host.machine);
  }
  w.Field("arch_bits", sizeof(void*) * 8);
  w.Field("process_id", static_cast<uint64_t>(getpid()));
  w.Field("run_id", shared.run_id);
  w.Field("tcp_port", shared.facts.tcp_port);
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now() - shared.started)
                          .count();
  w.Field("uptime_in_seconds", static_cast<uint64_t>(uptime));
  w.Field("uptime_in_days", static_cast<uint64_t>(uptime / 86400));
  w.Field("io_threads_active", static_cast<uint64_t>(shared.facts.io_threads));
  w.Field("executable", shared.facts.executable);
}

void ClientsSection(const RespShared& shared, InfoWriter& w) {
  w.Section("Clients");
  w.Field("connected_clients", shared.clients.connected.load(std::memory_order_relaxed));
  w.Field("maxclients", ConfigValue(shared, "maxclients"));
  w.Field("blocked_clients", uint64_t{0});
}

void MemorySection(const DBStats& stats, InfoWriter& w) {
  uint64_t rss = 0, peak = 0;
  ReadMemory(&rss, &peak);
  w.Section("Memory");
  // lsmd has no allocator accounting: used_memory is the resident set.
  w.Field("used_memory", rss);
  w.Field("used_memory_human", Human(rss));
  w.Field("used_memory_rss", rss);
  w.Field("used_memory_rss_human", Human(rss));
  w.Field("used_memory_peak", peak);
  w.Field("used_memory_peak_human", Human(peak));
  w.Field("maxmemory", uint64_t{0});
  w.Field("maxmemory_policy", "noeviction");
  w.Field("lsmd_memtable_bytes", stats.memtable_bytes);
}

void PersistenceSection(const RespShared& shared, const DBStats& stats, InfoWriter& w) {
  w.Section("Persistence");
  w.Field("loading", uint64_t{0});
  // Every write goes to the write-ahead log before it is answered: Redis's
  // closest notion is an always-on append-only file.
  w.Field("aof_enabled", uint64_t{1});
  w.Field("aof_rewrite_in_progress", uint64_t{0});
  w.Field("rdb_bgsave_in_progress", uint64_t{0});
  w.Field("rdb_changes_since_last_save", uint64_t{0});
  w.Field("lsmd_sync", ConfigValue(shared, "lsmd-sync"));
  w.Field("lsmd_wal_bytes_written", stats.wal_bytes_written);
}

void StatsSection(const RespShared& shared, InfoWriter& w) {
  w.Section("Stats");
  w.Field("total_connections_received", shared.clients.accepted.load(std::memory_order_relaxed));
  w.Field("total_commands_processed", shared.session_commands.load(std::memory_order_relaxed));
  w.Field("rejected_connections", shared.clients.rejected.load(std::memory_order_relaxed));
  // Redis's name for failed AUTH attempts (both ports count here).
  w.Field("acl_access_denied_auth",
          shared.policy != nullptr ? shared.policy->failed_attempts() : uint64_t{0});
}

// Entries in the current MemTable and the tables: counts overwritten
// versions and tombstones until compaction drops them, and leaves out frozen
// MemTables waiting for their flush. An estimate either way.
uint64_t EstimatedKeys(const DBStats& stats) {
  uint64_t keys = stats.memtable_entries;
  for (const TableInfo& table : stats.tables) keys += table.entries;
  return keys;
}

// INFO is scraped often (every few seconds by exporters): the key count is
// exact, by a scan, while the store holds at most this many entries, and the
// estimate above past it. DBSIZE is always exact.
constexpr uint64_t kExactKeyCountLimit = 100'000;

uint64_t KeyCount(DB* db, const DBStats& stats) {
  const uint64_t estimate = EstimatedKeys(stats);
  if (estimate > kExactKeyCountLimit) return estimate;
  uint64_t keys = 0;
  bool more = false;
  Status s = db->Scan(
      "", "", kExactKeyCountLimit + 1, [&keys](std::string_view, std::string_view) { ++keys; },
      &more);
  return s.ok() && !more ? keys : estimate;
}

void KeyspaceSection(DB* db, const DBStats& stats, InfoWriter& w) {
  w.Section("Keyspace");
  const uint64_t keys = KeyCount(db, stats);
  if (keys > 0) w.Field("db0", "keys=" + std::to_string(keys) + ",expires=0,avg_ttl=0");
}

void LsmSection(const DBStats& stats, InfoWriter& w) {
  w.Section("Lsm");
  w.Field("lsm_memtable_bytes", stats.memtable_bytes);
  w.Field("lsm_memtable_entries", stats.memtable_entries);
  w.Field("lsm_memtable_threshold_bytes", stats.memtable_threshold_bytes);
  w.Field("lsm_frozen_memtables", stats.frozen_memtables);
  w.Field("lsm_tables", static_cast<uint64_t>(stats.tables.size()));
  for (const LevelInfo& level : stats.levels) {
    const std::string prefix = "lsm_level" + std::to_string(level.level);
    w.Field(prefix + "_files", level.files);
    w.Field(prefix + "_bytes", level.bytes);
  }
  w.Field("lsm_flushes", stats.flushes);
  w.Field("lsm_flush_failures", stats.flush_failures);
  w.Field("lsm_compactions", stats.compactions);
  w.Field("lsm_compaction_bytes_read", stats.compaction_bytes_read);
  w.Field("lsm_compaction_bytes_written", stats.compaction_bytes_written);
  w.Field("lsm_write_stalls", stats.write_stalls);
  w.Field("lsm_write_slowdowns", stats.write_slowdowns);
  w.Field("lsm_bloom_negatives", stats.bloom_negatives);
  w.Field("lsm_bloom_false_positives", stats.bloom_false_positives);
  w.Field("lsm_wal_bytes_written", stats.wal_bytes_written);
  w.Field("lsm_sstable_bytes_written", stats.sstable_bytes_written);
}

void AppendPairsHeader(std::string* out, size_t pairs) { AppendArrayHeader(out, 2 * pairs); }

void Int(std::string* out, std::string_view name, uint64_t value) {
  AppendBulk(out, name);
  AppendInteger(out, static_cast<int64_t>(value));
}

void BulkOrNull(std::string* out, std::string_view name, bool present, std::string_view value) {
  AppendBulk(out, name);
  if (present) {
    AppendBulk(out, value);
  } else {
    AppendNullBulk(out);
  }
}

void CommandEntry(const CommandSpec& spec, std::string* out) {
  AppendArrayHeader(out, 10);
  AppendBulk(out, spec.name);
  AppendInteger(out, spec.arity);
  size_t flags = 0;
  for (size_t i = 0; i < spec.flags.size();) {
    size_t end = spec.flags.find(' ', i);
    if (end == std::string_view::npos) end = spec.flags.size();
    if (end > i) ++flags;
    i = end + 1;
  }
  AppendArrayHeader(out, flags);
  for (size_t i = 0; i < spec.flags.size();) {
    size_t end = spec.flags.find(' ', i);
    if (end == std::string_view::npos) end = spec.flags.size();
    if (end > i) AppendSimpleString(out, spec.flags.substr(i, end - i));
    i = end + 1;
  }
  AppendInteger(out, spec.first_key);
  AppendInteger(out, spec.last_key);
  AppendInteger(out, spec.key_step);
  AppendArrayHeader(out, 1);
  AppendSimpleString(out, "@" + std::string(spec.group));
  AppendArrayHeader(out, 0);  // tips
  AppendArrayHeader(out, 0);  // key specs
  AppendArrayHeader(out, 0);  // subcommands
}

void CommandDocs(const CommandSpec& spec, std::string* out) {
  AppendBulk(out, spec.name);
  AppendArrayHeader(out, 6);
  AppendBulk(out, "summary");
  AppendBulk(out, spec.summary);
  AppendBulk(out, "since");
  AppendBulk(out, spec.group == "lsmd" ? "0.1.0" : "1.0.0");
  AppendBulk(out, "group");
  AppendBulk(out, spec.group == "lsmd" ? "server" : spec.group);
}

// Asks for the engine's figures, or an error reply when it refuses.
const DBStats* Figures(CommandResult& result, std::string* out) {
  if (auto* error = std::get_if<CommandError>(&result)) {
    AppendCommandError(*error, out);
    return nullptr;
  }
  return &std::get<DBStats>(result);
}

}  // namespace

void AppendInfo(const RespShared& shared, Args args, std::string* out) {
  const DBStats stats = shared.executor.db()->GetStats();
  bool all = args.size() == 1;
  auto wanted = [&](std::string_view section) {
    if (all) return true;
    for (size_t i = 1; i < args.size(); ++i) {
      const std::string arg = Lower(args[i]);
      if (arg == section || arg == "all" || arg == "default" || arg == "everything") return true;
    }
    return false;
  };
  InfoWriter w;
  if (wanted("server")) ServerSection(shared, w);
  if (wanted("clients")) ClientsSection(shared, w);
  if (wanted("memory")) MemorySection(stats, w);
  if (wanted("persistence")) PersistenceSection(shared, stats, w);
  if (wanted("stats")) StatsSection(shared, w);
  if (wanted("keyspace")) KeyspaceSection(shared.executor.db(), stats, w);
  if (wanted("lsm")) LsmSection(stats, w);
  AppendBulk(out, w.text());
}

void AppendConfig(const RespShared& shared, Args args, std::string* out) {
  const std::string sub = Lower(args[1]);
  if (sub == "get") {
    if (args.size() < 3) return AppendError(out, WrongArity("config|get"));
    std::vector<const std::pair<std::string, std::string>*> matches;
    for (const auto& entry : shared.facts.config) {
      for (size_t i = 2; i < args.size(); ++i) {
        if (GlobMatch(Lower(args[i]), entry.first)) {
          matches.push_back(&entry);
          break;
        }
      }
    }
    AppendArrayHeader(out, 2 * matches.size());
    for (const auto* entry : matches) {
      AppendBulk(out, entry->first);
      AppendBulk(out, entry->second);
    }
    return;
  }
  if (sub == "set") {
    return AppendError(out,
                       "ERR CONFIG SET is not supported: lsmd's settings are fixed at start (lsmd "
                       "--help lists them)");
  }
  if (sub == "resetstat") return AppendError(out, "ERR CONFIG RESETSTAT is not supported");
  AppendError(out, "ERR unknown subcommand '" + std::string(args[1].substr(0, 128)) +
                       "'. Try CONFIG HELP.");
}

void AppendCommandReply(Args args, std::string* out) {
  const auto commands = AllCommands();
  if (args.size() == 1) {
    AppendArrayHeader(out, commands.size());
    for (const CommandSpec& spec : commands) CommandEntry(spec, out);
    return;
  }
  const std::string sub = Lower(args[1]);
  if (sub == "count" && args.size() == 2) return AppendInteger(out, commands.size());
  if (sub == "info") {
    if (args.size() == 2) {
      AppendArrayHeader(out, commands.size());
      for (const CommandSpec& spec : commands) CommandEntry(spec, out);
      return;
    }
    AppendArrayHeader(out, args.size() - 2);
    for (size_t i = 2; i < args.size(); ++i) {
      const CommandSpec* spec = FindCommand(args[i]);
      if (spec) {
        CommandEntry(*spec, out);
      } else {
        AppendNullArray(out);
      }
    }
    return;
  }
  if (sub == "docs") {
    std::vector<const CommandSpec*> specs;
    if (args.size() == 2) {
      for (const CommandSpec& spec : commands) specs.push_back(&spec);
    } else {
      for (size_t i = 2; i < args.size(); ++i) {
        if (const CommandSpec* spec = FindCommand(args[i])) specs.push_back(spec);
      }
    }
    AppendArrayHeader(out, 2 * specs.size());
    for (const CommandSpec* spec : specs) CommandDocs(*spec, out);
    return;
  }
  if (sub == "count") return AppendError(out, WrongArity("command|count"));
  AppendError(out, "ERR unknown subcommand '" + std::string(args[1].substr(0, 128)) +
                       "'. Try COMMAND HELP.");
}

void AppendTime(std::string* out) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  AppendArrayHeader(out, 2);
  AppendBulk(out, std::to_string(micros / 1'000'000));
  AppendBulk(out, std::to_string(micros % 1'000'000));
}

void AppendHelloReply(const RespShared& shared, uint64_t client_id, std::string* out) {
  AppendArrayHeader(out, 14);
  AppendBulk(out, "server");
  AppendBulk(out, "lsmd");
  AppendBulk(out, "version");
  AppendBulk(out, shared.facts.lsmd_version);
  AppendBulk(out, "proto");
  AppendInteger(out, 2);
  AppendBulk(out, "id");
  AppendInteger(out, static_cast<int64_t>(client_id));
  AppendBulk(out, "mode");
  AppendBulk(out, "standalone");
  AppendBulk(out, "role");
  AppendBulk(out, "master");
  AppendBulk(out, "modules");
  AppendArrayHeader(out, 0);
}

void AppendFlushResult(CommandResult result, std::string* out) {
  if (auto* error = std::get_if<CommandError>(&result)) return AppendCommandError(*error, out);
  const FlushResult& flush = std::get<FlushResult>(result);
  const bool wrote = flush.wrote_file;
  AppendPairsHeader(out, 7);
  BulkOrNull(out, "sstable_file", wrote, flush.file_name);
  Int(out, "entries", flush.entries);
  Int(out, "bloom_filter_bits", flush.bloom_bits);
  Int(out, "size_bytes", flush.size_bytes);
  Int(out, "level", static_cast<uint64_t>(flush.level));
  BulkOrNull(out, "min_key", wrote, flush.smallest_key);
  BulkOrNull(out, "max_key", wrote, flush.largest_key);
}

void AppendLookupResult(CommandResult result, std::string* out) {
  if (auto* error = std::get_if<CommandError>(&result)) return AppendCommandError(*error, out);
  const SSTableLookupResult& lookup = std::get<SSTableLookupResult>(result);
  AppendPairsHeader(out, 4);
  Int(out, "found", lookup.found ? 1 : 0);
  BulkOrNull(out, "value", lookup.found, lookup.value);
  Int(out, "bloom_checked", lookup.bloom_checked ? 1 : 0);
  Int(out, "disk_reads", static_cast<uint64_t>(lookup.disk_reads));
}

void AppendCompactResult(CommandResult result, std::string* out) {
  if (auto* error = std::get_if<CommandError>(&result)) return AppendCommandError(*error, out);
  const CompactResult& compact = std::get<CompactResult>(result);
  AppendPairsHeader(out, 2);
  Int(out, "duration_ms", compact.duration_ms);
  AppendBulk(out, "levels");
  AppendArrayHeader(out, compact.levels.size());
  for (const LevelInfo& level : compact.levels) {
    AppendPairsHeader(out, 3);
    Int(out, "level", static_cast<uint64_t>(level.level));
    Int(out, "files", level.files);
    Int(out, "bytes", level.bytes);
  }
}

void AppendStatsResult(CommandResult result, std::string* out) {
  const DBStats* stats = Figures(result, out);
  if (stats == nullptr) return;
  const std::pair<std::string_view, uint64_t> counters[] = {
      {"memtable_bytes", stats->memtable_bytes},
      {"memtable_entries", stats->memtable_entries},
      {"memtable_threshold_bytes", stats->memtable_threshold_bytes},
      {"frozen_memtables", stats->frozen_memtables},
      {"flushes", stats->flushes},
      {"flush_failures", stats->flush_failures},
      {"write_stalls", stats->write_stalls},
      {"write_slowdowns", stats->write_slowdowns},
      {"bloom_negatives", stats->bloom_negatives},
      {"bloom_false_positives", stats->bloom_false_positives},
      {"wal_bytes_written", stats->wal_bytes_written},
      {"sstable_bytes_written", stats->sstable_bytes_written},
      {"compactions", stats->compactions},
      {"compaction_bytes_read", stats->compaction_bytes_read},
      {"compaction_bytes_written", stats->compaction_bytes_written},
      {"tables", stats->tables.size()},
  };
  AppendPairsHeader(out, std::size(counters) + 2 * stats->levels.size());
  for (const auto& [name, value] : counters) Int(out, name, value);
  for (const LevelInfo& level : stats->levels) {
    const std::string prefix = "level" + std::to_string(level.level);
    Int(out, prefix + "_files", level.files);
    Int(out, prefix + "_bytes", level.bytes);
  }
}

}  // namespace lsmd::proto::resp
