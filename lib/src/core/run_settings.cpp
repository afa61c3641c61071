#include "conveyor/core/run_settings.hpp"

#include <algorithm>

namespace conveyor {

namespace {

template <class E>
struct Spelling {
    std::string_view name;
    E value;
};
constexpr Spelling<ExecutorKind> kExecutors[] = {
    {"dag", ExecutorKind::Dag}, {"channel", ExecutorKind::Channel}, {"async", ExecutorKind::Async}};
constexpr Spelling<ErrorStrategy> kStrategies[] = {{"stop", ErrorStrategy::Stop},
                                                   {"continue", ErrorStrategy::Continue},
                                                   {"retry", ErrorStrategy::Retry}};
constexpr Spelling<ExecutionMode> kModes[] = {{"batch", ExecutionMode::Batch},
                                              {"streaming", ExecutionMode::Streaming}};

constexpr Spelling<Partition> kPartitions[] = {
    {"rows", Partition::Rows}, {"hash", Partition::Hash}, {"files", Partition::Files}};
constexpr Spelling<Backend> kBackends[] = {
    {"none", Backend::None}, {"local", Backend::Local}, {"auto", Backend::Auto}};

template <class E, std::size_t N>
std::string_view name_of(const Spelling<E> (&table)[N], E value) noexcept {
    for (const Spelling<E>& s : table)
        if (s.value == value) return s.name;
    return table[0].name;
}

template <class E, std::size_t N>
std::optional<E> value_of(const Spelling<E> (&table)[N], std::string_view name) noexcept {
    for (const Spelling<E>& s : table)
        if (s.name == name) return s.value;
    return std::nullopt;
}

template <class E, std::size_t N>
std::vector<std::string> names_of(const Spelling<E> (&table)[N]) {
    std::vector<std::string> v;
    for (const Spelling<E>& s : table)
        v.emplace_back(s.name);
    return v;
}

} // namespace

std::string_view to_string(ExecutorKind kind) noexcept {
    return name_of(kExecutors, kind);
}
std::string_view to_string(ErrorStrategy strategy) noexcept {
    return name_of(kStrategies, strategy);
}
std::string_view to_string(ExecutionMode mode) noexcept {
    return name_of(kModes, mode);
}
std::optional<ExecutorKind> parse_executor(std::string_view name) noexcept {
    return value_of(kExecutors, name);
}
std::optional<ErrorStrategy> parse_strategy(std::string_view name) noexcept {
    return value_of(kStrategies, name);
}
std::optional<ExecutionMode> parse_execution_mode(std::string_view name) noexcept {
    return value_of(kModes, name);
}
const std::vector<std::string>& executor_names() {
    static const std::vector<std::string> names = names_of(kExecutors);
    return names;
}
const std::vector<std::string>& strategy_names() {
    static const std::vector<std::string> names = names_of(kStrategies);
    return names;
}
const std::vector<std::string>& on_exhausted_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> v = names_of(kStrategies);
        std::erase(v, std::string(to_string(ErrorStrategy::Retry)));
        return v;
    }();
    return names;
}
std::string_view to_string(Partition partition) noexcept {
    return name_of(kPartitions, partition);
}
std::optional<Partition> parse_partition(std::string_view name) noexcept {
    return value_of(kPartitions, name);
}
const std::vector<std::string>& partition_names() {
    static const std::vector<std::string> names = names_of(kPartitions);
    return names;
}
std::optional<Backend> parse_backend(std::string_view name) noexcept {
    return value_of(kBackends, name);
}
const std::vector<std::string>& backend_names() {
    static const std::vector<std::string> names = names_of(kBackends);
    return names;
}
const std::vector<std::string>& execution_mode_names() {
    static const std::vector<std::string> names = names_of(kModes);
    return names;
}

} // namespace conveyor
