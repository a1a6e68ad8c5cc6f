#include "core/merging_iterator.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace lsmd {
namespace {

// A sorted in-memory source; it can be told to fail after some entries.
class VectorIterator final : public Iterator {
 public:
  VectorIterator(std::vector<std::pair<std::string, std::string>> entries, size_t fail_at = -1)
      : entries_(std::move(entries)), fail_at_(fail_at) {}
  bool Valid() const override { return status_.ok() && pos_ < entries_.size(); }
  void SeekToFirst() override { Move(0); }
  void Seek(std::string_view target) override {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), target,
                               [](const auto& e, std::string_view t) { return e.first < t; });
    Move(static_cast<size_t>(it - entries_.begin()));
  }
  void Next() override { Move(pos_ + 1); }
  std::string_view key() const override { return entries_[pos_].first; }
  std::string_view value() const override { return entries_[pos_].second; }
  ValueKind kind() const override { return ValueKind::kPut; }
  Status status() const override { return status_; }

 private:
  void Move(size_t pos) {
    pos_ = pos;
    if (pos_ >= fail_at_ && pos_ < entries_.size()) status_ = Status::IOError("injected");
  }
  std::vector<std::pair<std::string, std::string>> entries_;
  size_t fail_at_;
  size_t pos_ = 0;
  Status status_;
};

std::string Key(int i) { return "k" + std::to_string(100000 + i); }

// Sources newest first; the merge must yield each key once, from the newest
// source that holds it, in key order, from any seek target.
TEST_CASE("the merge yields each key once, newest source first, from any seek") {
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    const int num_sources = 1 + static_cast<int>(rng() % 12);
    std::map<std::string, std::string> expected;  // key -> newest value
    std::vector<std::unique_ptr<Iterator>> sources;
    std::vector<std::map<std::string, std::string>> contents(num_sources);
    for (int s = 0; s < num_sources; ++s) {
      const int n = static_cast<int>(rng() % 200);
      for (int i = 0; i < n; ++i) {
        contents[s][Key(static_cast<int>(rng() % 500))] = "s" + std::to_string(s);
      }
    }
    for (int s = num_sources - 1; s >= 0; --s) {  // oldest first, newer overwrite
      for (const auto& [k, v] : contents[s]) expected[k] = v;
    }
    for (int s = 0; s < num_sources; ++s) {
      sources.push_back(
          std::make_unique<VectorIterator>(std::vector<std::pair<std::string, std::string>>(
              contents[s].begin(), contents[s].end())));
    }
    auto merged = NewMergingIterator(std::move(sources));
    const std::string target = Key(static_cast<int>(rng() % 500));
    merged->Seek(target);
    auto want = expected.lower_bound(target);
    for (; merged->Valid(); merged->Next(), ++want) {
      REQUIRE(want != expected.end());
      CHECK(merged->key() == want->first);
      CHECK(merged->value() == want->second);
    }
    CHECK(want == expected.end());
    CHECK(merged->status().ok());
  }
}

TEST_CASE("a source that fails ends the merge with its error") {
  std::vector<std::unique_ptr<Iterator>> sources;
  sources.push_back(std::make_unique<VectorIterator>(
      std::vector<std::pair<std::string, std::string>>{{Key(1), "a"}, {Key(3), "a"}}));
  sources.push_back(std::make_unique<VectorIterator>(
      std::vector<std::pair<std::string, std::string>>{{Key(2), "b"}, {Key(4), "b"}, {Key(5), "b"}},
      /*fail_at=*/1));
  auto merged = NewMergingIterator(std::move(sources));
  int yielded = 0;
  for (merged->SeekToFirst(); merged->Valid(); merged->Next()) ++yielded;
  CHECK(yielded < 5);
  CHECK(merged->status().IsIOError());
}

}  // namespace
}  // namespace lsmd
