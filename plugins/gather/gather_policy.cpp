#include "gather_policy.hpp"

#include <fmt/format.h>

namespace conveyor::plugins::gather {

namespace {

struct Counts {
    std::size_t arrived = 0;
    std::size_t failed = 0; ///< failed or timed out
    std::size_t waiting = 0;
};

Counts count(std::span<const BranchState> states) {
    Counts c;
    for (BranchState s : states) {
        if (s == BranchState::Arrived)
            ++c.arrived;
        else if (s == BranchState::Waiting)
            ++c.waiting;
        else
            ++c.failed;
    }
    return c;
}

} // namespace

std::string_view to_string(Policy p) noexcept {
    switch (p) {
    case Policy::All:
        return "all";
    case Policy::Quorum:
        return "quorum";
    case Policy::Any:
        return "any";
    case Policy::Priority:
        return "priority";
    }
    return "?";
}

Verdict judge(const PolicySpec& spec, std::span<const BranchState> states) {
    using K = Verdict::Kind;
    const Counts c = count(states);
    if (c.failed > spec.max_failures) return {K::Fail};
    switch (spec.policy) {
    case Policy::All:
        return {c.waiting > 0 ? K::Wait : K::Emit};
    case Policy::Quorum:
        if (c.arrived + c.waiting < spec.quorum) return {K::Fail};
        return {c.waiting > 0 ? K::Wait : K::Emit};
    case Policy::Any:
        if (c.arrived > 0) return {K::Emit};
        return {c.waiting > 0 ? K::Wait : K::Fail};
    case Policy::Priority:
        // The first branch by priority that did not fail: its answer, or wait for it.
        for (std::size_t b : spec.order) {
            if (states[b] == BranchState::Arrived) return {K::Emit, b};
            if (states[b] == BranchState::Waiting) return {K::Wait};
        }
        return {K::Fail};
    }
    return {K::Fail};
}

std::string failure_reason(const PolicySpec& spec, std::span<const BranchState> states,
                           std::span<const std::string> names, std::int64_t timeout_ms) {
    const Counts c = count(states);
    std::string why;
    if (c.failed > spec.max_failures && spec.policy != Policy::Any &&
        spec.policy != Policy::Priority)
        why = fmt::format("{} of {} branches failed or timed out, more than max_failures = {}",
                          c.failed, states.size(), spec.max_failures);
    else if (spec.policy == Policy::Quorum)
        why = fmt::format("{} of {} branches answered, fewer than quorum = {}", c.arrived,
                          states.size(), spec.quorum);
    else if (c.failed > spec.max_failures)
        why = fmt::format("{} of {} branches failed or timed out, more than max_failures = {}",
                          c.failed, states.size(), spec.max_failures);
    else
        why = "no branch answered";
    std::string detail;
    for (std::size_t b = 0; b < states.size(); ++b) {
        if (states[b] == BranchState::Failed)
            detail += fmt::format("{}'{}' failed or left the record out",
                                  detail.empty() ? "" : ", ", names[b]);
        else if (states[b] == BranchState::TimedOut)
            detail += fmt::format("{}'{}' timed out after {} ms", detail.empty() ? "" : ", ",
                                  names[b], timeout_ms);
    }
    return fmt::format("policy \"{}\" not met: {}{}{}", to_string(spec.policy), why,
                       detail.empty() ? "" : ": ", detail);
}

} // namespace conveyor::plugins::gather
