#include "engine/frozen.h"

#include <atomic>
#include <map>
#include <mutex>
#include <tuple>

#include "kernels/common/error.h"

namespace kiln {

namespace {

thread_local int frozen_depth = 0;   // this thread's live guards
std::atomic<int> live_guards{0};     // the process's

// A weight's derived data, by (storage, offset, shape, kind). The entry holds
// the storage, so no other tensor can be given its address while it is kept.
using Key = std::tuple<const Storage*, int64_t, Shape, int64_t>;
struct Entry {
    std::shared_ptr<Storage> storage;
    std::shared_ptr<const std::vector<float>> derived;
};
std::mutex mutex;
std::map<Key, Entry> entries;

}  // namespace

FrozenWeightsGuard::FrozenWeightsGuard() {
    ++frozen_depth;
    ++live_guards;
}

FrozenWeightsGuard::~FrozenWeightsGuard() {
    --frozen_depth;
    if (--live_guards == 0) {  // the last one: forget everything (a caller may still hold an entry's buffer)
        std::lock_guard lock(mutex);
        entries.clear();
    }
}

bool weights_frozen() { return frozen_depth > 0; }

std::shared_ptr<const std::vector<float>> frozen_derived(const Tensor& weight, int64_t kind,
                                                         const std::function<void(std::vector<float>&)>& make) {
    KILN_CHECK(weights_frozen(), "frozen_derived: called outside a FrozenWeightsGuard");
    const Key key{weight.storage().get(), weight.offset(), weight.shape(), kind};
    {
        std::lock_guard lock(mutex);
        if (const auto found = entries.find(key); found != entries.end()) return found->second.derived;
    }
    auto derived = std::make_shared<std::vector<float>>();
    make(*derived);  // outside the lock: another thread may derive the same entry too, and one of the two is kept
    std::lock_guard lock(mutex);
    const auto [kept, inserted] = entries.emplace(key, Entry{weight.storage(), std::move(derived)});
    return kept->second.derived;
}

int64_t frozen_entries() {
    std::lock_guard lock(mutex);
    return int64_t(entries.size());
}

}  // namespace kiln
