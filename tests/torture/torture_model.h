// The exact model one torture client keeps of its own keys. Each client owns
// a small key space that no other client touches, so it can predict every
// read: a key holds what its last acknowledged operation left, unless an
// operation with an unknown outcome came after that one.
//
// Unknown outcomes: an operation sent whose reply never came (the server was
// killed), or one answered with an error (11: refused; 13: it may have
// reached the log). Such an operation may or may not have been carried out,
// so after a crash a key may hold its acknowledged state or the result of
// any of those operations. Replies on one connection come in request order,
// so the operations that got replies are always a prefix of those sent.
//
// Thread safety: none; each model belongs to one client thread, and the main
// thread reads it only after that thread has been joined.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace lsmd::torture {

// A key's content: a value, or nullopt for absent (never written or deleted).
using KeyState = std::optional<std::string>;

std::string DescribeState(const KeyState& state);

class ClientModel {
 public:
  ClientModel(int client_id, int key_count);

  int client_id() const { return client_id_; }
  int key_count() const { return static_cast<int>(keys_.size()); }
  // "c3/k17": client 3's key 17.
  std::string Key(int index) const;
  // A value never written before: "c3/k17#<n>:" followed by `padding` filler
  // bytes, so a read can tell which client wrote it for which key.
  std::string NewValue(int index, size_t padding);
  // True if value has NewValue's form for this key and a number this model
  // handed out.
  bool IsValueFor(int index, const std::string& value) const;

  // A put (state = its value) or delete (nullopt) on key index was sent.
  void Sent(int index, KeyState state);
  // The oldest operation in flight on key index got put_ok / delete_ok.
  void Acknowledged(int index);
  // The oldest operation in flight on key index got an error reply: its
  // outcome is unknown until a later acknowledgement or read settles it.
  void Failed(int index);

  // For a get answered now, after every earlier operation's reply: true if
  // observed is the acknowledged state or an unknown outcome's.
  bool ReadMatches(int index, const KeyState& observed) const;
  // After a crash: true if observed is the acknowledged state, an unknown
  // outcome's, or that of an operation still in flight.
  bool PossibleAfterCrash(int index, const KeyState& observed) const;
  // A get answered with observed (ReadMatches was true): that is the key's
  // acknowledged state from now on.
  void Observed(int index, KeyState observed);
  // After a crash the key was read back as observed (PossibleAfterCrash was
  // true): the outcome of everything unknown or in flight is settled.
  void Recovered(int index, KeyState observed);
  // What the model allows, for failure messages.
  std::string Describe(int index) const;

 private:
  struct KeyModel {
    KeyState acknowledged;
    std::vector<KeyState> unknown;   // answered with an error since the last ack
    std::deque<KeyState> in_flight;  // sent, not answered, in send order
  };

  const int client_id_;
  std::vector<KeyModel> keys_;
  uint64_t next_value_number_ = 1;
};

}  // namespace lsmd::torture
