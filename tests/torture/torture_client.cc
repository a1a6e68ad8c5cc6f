#include "torture/torture_client.h"

#include <random>
#include <vector>

#include "server/test_process.h"

namespace lsmd::torture {
namespace {

using test::IntField;
using test::LineClient;
using test::ReplyBody;
using test::TypeOf;
using namespace std::chrono_literals;

constexpr int kMaxWindow = 8;             // requests sent before reading their replies
constexpr size_t kMaxPaddingBytes = 400;  // values are 16..400 bytes past their prefix

enum class OpKind { kPut, kDelete, kGet };

struct SentOp {
  uint64_t msg_id;
  OpKind kind;
  int key;
};

std::string OpName(OpKind kind) {
  switch (kind) {
    case OpKind::kPut:
      return "put";
    case OpKind::kDelete:
      return "delete";
    case OpKind::kGet:
      return "get";
  }
  return "?";
}

// Applies one reply to the model. Returns "" or what is wrong.
std::string ApplyReply(const std::string& line, const SentOp& op, ClientModel& model,
                       ClientTally& tally) {
  boost::json::object body = ReplyBody(line);
  const std::string type = TypeOf(body);
  const std::string what =
      OpName(op.kind) + " " + model.Key(op.key) + " (msg_id " + std::to_string(op.msg_id) + ")";
  if (IntField(body, "in_reply_to") != static_cast<int64_t>(op.msg_id)) {
    return what + ": reply out of order: " + line;
  }
  if (type == "error") {
    if (op.kind != OpKind::kGet) model.Failed(op.key);
    if (IntField(body, "code") != 11) return what + ": error reply " + line;
    ++tally.refused;  // a stall past its timeout: retryable, not carried out
    return "";
  }
  switch (op.kind) {
    case OpKind::kPut:
    case OpKind::kDelete:
      if (type != (op.kind == OpKind::kPut ? "put_ok" : "delete_ok")) {
        return what + ": unexpected reply " + line;
      }
      model.Acknowledged(op.key);
      ++(op.kind == OpKind::kPut ? tally.puts_acknowledged : tally.deletes_acknowledged);
      return "";
    case OpKind::kGet: {
      const boost::json::value* found = body.if_contains("found");
      const boost::json::value* value = body.if_contains("value");
      if (type != "get_ok" || found == nullptr || !found->is_bool()) {
        return what + ": unexpected reply " + line;
      }
      KeyState observed;
      if (found->get_bool()) {
        if (value == nullptr || !value->is_string()) return what + ": no value in " + line;
        observed = std::string(value->get_string());
      }
      if (!model.ReadMatches(op.key, observed)) {
        return what + ": read " + DescribeState(observed) + " but the model allows " +
               model.Describe(op.key);
      }
      model.Observed(op.key, std::move(observed));
      ++tally.gets_answered;
      return "";
    }
  }
  return "";
}

}  // namespace

ClientTally RunClient(uint16_t port, ClientModel& model, uint32_t seed,
                      const std::atomic<bool>& server_killed) {
  ClientTally tally;
  const std::string name = "client " + std::to_string(model.client_id());
  LineClient client;
  if (!client.Connect(port)) {
    if (!server_killed) tally.failure = name + ": cannot connect to a running server";
    return tally;
  }
  std::mt19937 random(seed);
  uint64_t next_msg_id = 1;
  std::vector<SentOp> window;
  for (;;) {
    window.clear();
    std::string batch;
    const int size = 1 + static_cast<int>(random() % kMaxWindow);
    for (int i = 0; i < size; ++i) {
      const int key = static_cast<int>(random() % static_cast<uint32_t>(model.key_count()));
      const uint64_t msg_id = next_msg_id++;
      const uint32_t dice = random() % 100;
      if (dice < 55) {
        std::string value = model.NewValue(key, 16 + random() % (kMaxPaddingBytes - 15));
        batch += test::PutLine(msg_id, model.Key(key), value) + "\n";
        model.Sent(key, std::move(value));
        window.push_back({msg_id, OpKind::kPut, key});
      } else if (dice < 75) {
        batch += test::DeleteLine(msg_id, model.Key(key)) + "\n";
        model.Sent(key, std::nullopt);
        window.push_back({msg_id, OpKind::kDelete, key});
      } else {
        batch += test::GetLine(msg_id, model.Key(key)) + "\n";
        window.push_back({msg_id, OpKind::kGet, key});
      }
    }
    // A send cut short leaves its operations in flight in the model: they
    // may or may not have reached the server, which the model allows.
    if (!client.Send(batch)) {
      if (!server_killed) tally.failure = name + ": send failed while the server was running";
      return tally;
    }
    for (const SentOp& op : window) {
      std::optional<std::string> reply = client.ReadLine(30s);
      if (!reply) {
        if (!server_killed) {
          tally.failure = name + ": no reply to " + OpName(op.kind) + " msg_id " +
                          std::to_string(op.msg_id) + " while the server was running";
        }
        return tally;
      }
      tally.failure = ApplyReply(*reply, op, model, tally);
      if (!tally.failure.empty()) {
        tally.failure = name + ": " + tally.failure;
        return tally;
      }
    }
  }
}

}  // namespace lsmd::torture
