#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace conveyor {

/// The ordered field names shared by every record of a batch. Immutable once built, shared by
/// pointer; stages cache per-schema work keyed on the pointer.
class Schema {
public:
    explicit Schema(std::vector<std::string> names);

    [[nodiscard]] std::size_t size() const noexcept { return names_.size(); }
    [[nodiscard]] const std::string& name(std::size_t i) const { return names_[i]; }
    [[nodiscard]] const std::vector<std::string>& names() const noexcept { return names_; }
    [[nodiscard]] std::optional<std::size_t> find(std::string_view name) const noexcept;
    [[nodiscard]] bool operator==(const Schema& other) const noexcept {
        return names_ == other.names_;
    }

private:
    std::vector<std::string> names_;
    std::unordered_map<std::string_view, std::size_t> index_; // only for wide schemas
};

using SchemaRef = std::shared_ptr<const Schema>;

SchemaRef make_schema(std::vector<std::string> names);

} // namespace conveyor
