#include "torture/torture_model.h"

#include <algorithm>
#include <charconv>
#include <string_view>

namespace lsmd::torture {
namespace {

constexpr size_t kMaxShownBytes = 40;

std::string Shorten(const std::string& value) {
  if (value.size() <= kMaxShownBytes) return value;
  return value.substr(0, kMaxShownBytes) + "...(" + std::to_string(value.size()) + " bytes)";
}

bool Contains(const std::vector<KeyState>& states, const KeyState& observed) {
  return std::find(states.begin(), states.end(), observed) != states.end();
}

}  // namespace

std::string DescribeState(const KeyState& state) {
  return state ? "'" + Shorten(*state) + "'" : std::string("absent");
}

ClientModel::ClientModel(int client_id, int key_count)
    : client_id_(client_id), keys_(static_cast<size_t>(key_count)) {}

std::string ClientModel::Key(int index) const {
  return "c" + std::to_string(client_id_) + "/k" + std::to_string(index);
}

std::string ClientModel::NewValue(int index, size_t padding) {
  const uint64_t number = next_value_number_++;
  std::string value = Key(index) + "#" + std::to_string(number) + ":";
  value.append(padding, static_cast<char>('a' + number % 26));
  return value;
}

bool ClientModel::IsValueFor(int index, const std::string& value) const {
  const std::string prefix = Key(index) + "#";
  if (!value.starts_with(prefix)) return false;
  std::string_view rest = std::string_view(value).substr(prefix.size());
  const size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return false;
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + colon, number);
  if (ec != std::errc() || end != rest.data() + colon) return false;
  if (number == 0 || number >= next_value_number_) return false;
  // The filler is one letter repeated, chosen by the number.
  const char filler = static_cast<char>('a' + number % 26);
  return std::all_of(rest.begin() + colon + 1, rest.end(),
                     [filler](char c) { return c == filler; });
}

void ClientModel::Sent(int index, KeyState state) {
  keys_[index].in_flight.push_back(std::move(state));
}

void ClientModel::Acknowledged(int index) {
  KeyModel& key = keys_[index];
  key.acknowledged = std::move(key.in_flight.front());
  key.in_flight.pop_front();
  key.unknown.clear();  // they ran before this one, which overwrote them
}

void ClientModel::Failed(int index) {
  KeyModel& key = keys_[index];
  key.unknown.push_back(std::move(key.in_flight.front()));
  key.in_flight.pop_front();
}

bool ClientModel::ReadMatches(int index, const KeyState& observed) const {
  const KeyModel& key = keys_[index];
  return observed == key.acknowledged || Contains(key.unknown, observed);
}

bool ClientModel::PossibleAfterCrash(int index, const KeyState& observed) const {
  const KeyModel& key = keys_[index];
  return ReadMatches(index, observed) ||
         std::find(key.in_flight.begin(), key.in_flight.end(), observed) != key.in_flight.end();
}

void ClientModel::Observed(int index, KeyState observed) {
  KeyModel& key = keys_[index];
  key.acknowledged = std::move(observed);
  key.unknown.clear();
}

void ClientModel::Recovered(int index, KeyState observed) {
  Observed(index, std::move(observed));
  keys_[index].in_flight.clear();
}

std::string ClientModel::Describe(int index) const {
  const KeyModel& key = keys_[index];
  std::string text = "acknowledged " + DescribeState(key.acknowledged);
  for (const KeyState& state : key.unknown) text += ", unknown outcome " + DescribeState(state);
  for (const KeyState& state : key.in_flight) text += ", in flight " + DescribeState(state);
  return text;
}

}  // namespace lsmd::torture
