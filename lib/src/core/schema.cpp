#include "conveyor/core/schema.hpp"

namespace conveyor {

namespace {
constexpr std::size_t kLinearLookupMax = 16;
}

Schema::Schema(std::vector<std::string> names) : names_(std::move(names)) {
    if (names_.size() > kLinearLookupMax) {
        index_.reserve(names_.size());
        for (std::size_t i = 0; i < names_.size(); ++i)
            index_.emplace(names_[i], i);
    }
}

std::optional<std::size_t> Schema::find(std::string_view name) const noexcept {
    if (names_.size() <= kLinearLookupMax) {
        for (std::size_t i = 0; i < names_.size(); ++i)
            if (names_[i] == name) return i;
        return std::nullopt;
    }
    auto it = index_.find(name);
    if (it == index_.end()) return std::nullopt;
    return it->second;
}

SchemaRef make_schema(std::vector<std::string> names) {
    return std::make_shared<const Schema>(std::move(names));
}

} // namespace conveyor
