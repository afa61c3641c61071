#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace conveyor {

/// An owning, JSON-like value for configuration: what a `[stages.config]` key holds after
/// loading (environment variables already expanded).
class OptionValue {
public:
    using List = std::vector<OptionValue>;
    using Table = std::vector<std::pair<std::string, OptionValue>>; // in file order

    OptionValue() = default;
    OptionValue(bool b) : v_(b) {}
    OptionValue(std::int64_t i) : v_(i) {}
    OptionValue(int i) : v_(static_cast<std::int64_t>(i)) {}
    OptionValue(double d) : v_(d) {}
    OptionValue(std::string s) : v_(std::move(s)) {}
    OptionValue(const char* s) : v_(std::string(s)) {}
    OptionValue(List l) : v_(std::move(l)) {}
    OptionValue(Table t) : v_(std::move(t)) {}

    [[nodiscard]] bool is_null() const noexcept { return v_.index() == 0; }
    [[nodiscard]] bool is_bool() const noexcept { return v_.index() == 1; }
    [[nodiscard]] bool is_int() const noexcept { return v_.index() == 2; }
    [[nodiscard]] bool is_double() const noexcept { return v_.index() == 3; }
    [[nodiscard]] bool is_number() const noexcept { return is_int() || is_double(); }
    [[nodiscard]] bool is_string() const noexcept { return v_.index() == 4; }
    [[nodiscard]] bool is_list() const noexcept { return v_.index() == 5; }
    [[nodiscard]] bool is_table() const noexcept { return v_.index() == 6; }

    [[nodiscard]] bool as_bool() const { return std::get<1>(v_); }
    [[nodiscard]] std::int64_t as_int() const { return std::get<2>(v_); }
    /// Ints convert.
    [[nodiscard]] double as_double() const {
        return is_int() ? static_cast<double>(std::get<2>(v_)) : std::get<3>(v_);
    }
    [[nodiscard]] const std::string& as_string() const { return std::get<4>(v_); }
    [[nodiscard]] const List& as_list() const { return std::get<5>(v_); }
    [[nodiscard]] const Table& as_table() const { return std::get<6>(v_); }

    /// A member of a table value, or nullptr.
    [[nodiscard]] const OptionValue* find(std::string_view key) const;

    /// TOML-like rendering for messages and `conveyor describe` ("\"x\"", "[1, 2]", "true").
    [[nodiscard]] std::string to_string() const;

    bool operator==(const OptionValue& o) const = default;

private:
    std::variant<std::monostate, bool, std::int64_t, double, std::string, List, Table> v_;
};

} // namespace conveyor
