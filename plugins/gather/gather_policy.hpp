#pragma once

// When gather.apply may let a record go, and what it says when it may not: the policies
// (all, quorum, any, priority) and the partial-failure budget, over the state of each branch.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace conveyor::plugins::gather {

enum class Policy : std::uint8_t { All, Quorum, Any, Priority };

/// Where one branch's answer for a record stands.
enum class BranchState : std::uint8_t {
    Waiting,  ///< not here yet
    Arrived,  ///< its record came
    Failed,   ///< the branch dropped or failed the record (its LineageMark passed it)
    TimedOut, ///< not here at the record's deadline
};

struct PolicySpec {
    Policy policy = Policy::All;
    std::size_t branches = 0;
    std::size_t quorum = 0;       ///< Policy::Quorum: branches that must answer
    std::size_t max_failures = 0; ///< failed or timed-out branches a record may have
    /// Branch indexes by priority, every branch once (Policy::Priority picks the first that
    /// answered; merge = "flat" lets earlier ones win).
    std::vector<std::size_t> order;
};

/// What to do with a record now.
struct Verdict {
    enum class Kind : std::uint8_t { Wait, Emit, Fail };
    Kind kind = Kind::Wait;
    /// Policy::Priority: the branch whose answer goes out; npos: every branch that answered.
    std::size_t chosen = static_cast<std::size_t>(-1);
};

/// The verdict for a record whose branches stand as `states` (one per branch). Waiting
/// branches may still answer; at the record's deadline the caller turns them into TimedOut
/// first, so the verdict is then Emit or Fail.
Verdict judge(const PolicySpec& spec, std::span<const BranchState> states);

/// Why a record failed its policy, naming the branches: "policy \"all\" needs every branch
/// (max_failures = 0): 'geo' failed, 'risk' timed out after 300 ms".
std::string failure_reason(const PolicySpec& spec, std::span<const BranchState> states,
                           std::span<const std::string> names, std::int64_t timeout_ms);

std::string_view to_string(Policy p) noexcept;

} // namespace conveyor::plugins::gather
