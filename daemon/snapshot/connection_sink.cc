#include "daemon/snapshot/connection_sink.h"

#include <algorithm>

namespace rustnet {

void SortOldestFirst(std::vector<const Connection*>* rows) {
  std::sort(rows->begin(), rows->end(), [](const Connection* a, const Connection* b) {
    return a->first_seen_us != b->first_seen_us ? a->first_seen_us < b->first_seen_us
                                                : a->id < b->id;
  });
}

}  // namespace rustnet
