// MergingIterator: a k-way merge of sorted sources. Sources are given newest
// first; when several hold the same key, the newest one's entry is yielded
// and the older ones are skipped, so each key comes out once.
#pragma once

#include <memory>
#include <vector>

#include "core/iterator.h"

namespace lsmd {

std::unique_ptr<Iterator> NewMergingIterator(std::vector<std::unique_ptr<Iterator>> children);

}  // namespace lsmd
