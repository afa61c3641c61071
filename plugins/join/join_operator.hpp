#pragma once

// join.apply's run state (join_operator.cpp) and what it is built from (JoinSpec, filled by
// register.cpp from the stage's options).

#include "conveyor/expr/operand.hpp"
#include "conveyor/stage/stage.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace conveyor::plugins::join {

enum class JoinType : std::uint8_t { Inner, Left, Right, Full, Semi, Anti };

struct JoinSpec {
    std::vector<expr::Operand> left_keys;
    std::vector<expr::Operand> right_keys;
    std::vector<std::string> shared_keys; ///< `on`: names written once
    JoinType type = JoinType::Inner;
    bool build_left = false;
    std::string left_suffix;
    std::string right_suffix = "_right";

    [[nodiscard]] std::size_t build_port() const { return build_left ? 0 : 1; }
    [[nodiscard]] std::size_t probe_port() const { return build_left ? 1 : 0; }
    /// Records of the left side only (semi, anti).
    [[nodiscard]] bool left_only() const {
        return type == JoinType::Semi || type == JoinType::Anti;
    }
    /// Unmatched left records go out (with null right fields), unmatched right ones.
    [[nodiscard]] bool keep_left() const {
        return type == JoinType::Left || type == JoinType::Full;
    }
    [[nodiscard]] bool keep_right() const {
        return type == JoinType::Right || type == JoinType::Full;
    }
};

/// The per-run operator of a join: port 0 is the left input, port 1 the right.
std::unique_ptr<Operator> make_join_operator(const JoinSpec& spec, const OpenContext& ctx);

} // namespace conveyor::plugins::join
