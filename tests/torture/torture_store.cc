#include "torture/torture_store.h"

#include <algorithm>
#include <filesystem>
#include <thread>

#include "server/test_process.h"

namespace lsmd::torture {
namespace {

using test::LineClient;
using test::ReplyBody;
using test::TypeOf;
using namespace std::chrono_literals;

std::string Join(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text.empty() ? "none" : text;
}

// "" if the stats tables and the *.sst files on disk agree and no *.tmp is
// left; otherwise what differs.
std::string CompareDataDir(const std::string& dir, const std::set<std::string>& tables) {
  std::string problems;
  const std::vector<std::string> temporaries = FilesEndingWith(dir, ".tmp");
  if (!temporaries.empty()) problems += "temporary files: " + Join(temporaries) + "; ";
  const std::vector<std::string> on_disk = FilesEndingWith(dir, ".sst");
  std::vector<std::string> missing;
  for (const std::string& table : tables) {
    if (!std::binary_search(on_disk.begin(), on_disk.end(), table)) missing.push_back(table);
  }
  if (!missing.empty()) problems += "live tables missing on disk: " + Join(missing) + "; ";
  std::vector<std::string> stray;
  for (const std::string& file : on_disk) {
    if (tables.count(file) == 0) stray.push_back(file);
  }
  if (!stray.empty()) problems += "tables on disk that are not live: " + Join(stray) + "; ";
  return problems;
}

}  // namespace

std::vector<std::string> VerifyKeys(uint16_t port, std::vector<ClientModel>& models) {
  std::vector<std::string> problems;
  LineClient client;
  if (!client.Connect(port)) return {"verify: cannot connect"};
  std::string batch;
  uint64_t msg_id = 1;
  for (const ClientModel& model : models) {
    for (int key = 0; key < model.key_count(); ++key) {
      batch += test::GetLine(msg_id++, model.Key(key)) + "\n";
    }
  }
  if (!client.Send(batch, 30s)) return {"verify: cannot send the gets"};
  msg_id = 1;
  for (ClientModel& model : models) {
    for (int key = 0; key < model.key_count(); ++key, ++msg_id) {
      const std::string name = model.Key(key);
      std::optional<std::string> reply = client.ReadLine(30s);
      if (!reply) {
        problems.push_back("verify: no reply for " + name);
        return problems;
      }
      boost::json::object body = ReplyBody(*reply);
      const boost::json::value* found = body.if_contains("found");
      const boost::json::value* value = body.if_contains("value");
      if (TypeOf(body) != "get_ok" || test::IntField(body, "in_reply_to") != int64_t(msg_id) ||
          found == nullptr || !found->is_bool()) {
        problems.push_back(name + ": unexpected reply " + *reply);
        continue;
      }
      KeyState observed;
      if (found->get_bool()) {
        if (value == nullptr || !value->is_string()) {
          problems.push_back(name + ": no value in " + *reply);
          continue;
        }
        observed = std::string(value->get_string());
        if (!model.IsValueFor(key, *observed)) {
          problems.push_back(name + ": holds " + DescribeState(observed) +
                             ", which its client never wrote for it");
          continue;
        }
      }
      if (!model.PossibleAfterCrash(key, observed)) {
        problems.push_back(name + ": holds " + DescribeState(observed) + " but the model allows " +
                           model.Describe(key));
        continue;
      }
      model.Recovered(key, std::move(observed));
    }
  }
  return problems;
}

std::set<std::string> LiveTables(uint16_t port, std::string* error) {
  LineClient client;
  if (!client.Connect(port) || !client.SendLine(R"({"type":"stats","msg_id":1})")) {
    *error = "stats: cannot reach the server";
    return {};
  }
  std::optional<std::string> reply = client.ReadLine(30s);
  boost::json::object body = reply ? ReplyBody(*reply) : boost::json::object();
  const boost::json::value* tables = body.if_contains("tables");
  if (TypeOf(body) != "stats_ok" || tables == nullptr || !tables->is_array()) {
    *error = "stats: unexpected reply " + reply.value_or("(none)");
    return {};
  }
  std::set<std::string> names;
  for (const boost::json::value& table : tables->get_array()) {
    const boost::json::value* name =
        table.is_object() ? table.get_object().if_contains("name") : nullptr;
    if (name == nullptr || !name->is_string()) {
      *error = "stats: a table without a name in " + *reply;
      return {};
    }
    names.insert(std::string(name->get_string()));
  }
  return names;
}

std::vector<std::string> FilesEndingWith(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.ends_with(suffix)) names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string WaitForTidyDataDir(uint16_t port, const std::string& dir,
                               std::chrono::milliseconds timeout) {
  const auto deadline = test::Clock::now() + timeout;
  for (;;) {
    std::string error;
    const std::set<std::string> tables = LiveTables(port, &error);
    if (!error.empty()) return error;
    const std::string problems = CompareDataDir(dir, tables);
    if (problems.empty()) return "";
    if (test::Clock::now() >= deadline) return problems;
    std::this_thread::sleep_for(50ms);
  }
}

std::string CheckStoppedDataDir(const std::string& dir, const std::set<std::string>& tables) {
  return CompareDataDir(dir, tables);
}

}  // namespace lsmd::torture
