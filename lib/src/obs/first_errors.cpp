#include "conveyor/obs/first_errors.hpp"

namespace conveyor::obs {

void FirstErrors::note(std::string_view message, std::string_view at, std::uint64_t records) {
    const std::lock_guard lock(mu_);
    for (Entry& e : kept_) {
        if (e.message != message) continue;
        e.count += records;
        return;
    }
    if (kept_.size() < kKept)
        kept_.push_back(Entry{std::string(message), std::string(at), records});
}

std::vector<FirstErrors::Entry> FirstErrors::entries() const {
    const std::lock_guard lock(mu_);
    return kept_;
}

} // namespace conveyor::obs
