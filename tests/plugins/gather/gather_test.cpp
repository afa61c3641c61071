// gather.apply's policies and its operator fed by hand: answers, LineageMarks, the end of a
// branch, deadlines on a fake clock, ordered output, late answers after a record went.

#include "gather_operator.hpp"
#include "gather_policy.hpp"
#include "support/stage_harness.hpp"

#include <gtest/gtest.h>
#include <sstream>

namespace conveyor::plugins::gather {
namespace {

using S = BranchState;
using K = Verdict::Kind;

PolicySpec spec(Policy p, std::size_t branches, std::size_t max_failures, std::size_t quorum = 0,
                std::vector<std::size_t> order = {}) {
    PolicySpec s;
    s.policy = p;
    s.branches = branches;
    s.max_failures = max_failures;
    s.quorum = quorum;
    if (order.empty())
        for (std::size_t b = 0; b < branches; ++b)
            order.push_back(b);
    s.order = std::move(order);
    return s;
}

TEST(GatherPolicyTest, AllWaitsForEveryBranchWithinTheFailureBudget) {
    const PolicySpec all = spec(Policy::All, 3, 0);
    EXPECT_EQ(judge(all, std::vector{S::Arrived, S::Waiting, S::Arrived}).kind, K::Wait);
    EXPECT_EQ(judge(all, std::vector{S::Arrived, S::Arrived, S::Arrived}).kind, K::Emit);
    EXPECT_EQ(judge(all, std::vector{S::Arrived, S::Failed, S::Waiting}).kind, K::Fail);
    const PolicySpec one = spec(Policy::All, 3, 1);
    EXPECT_EQ(judge(one, std::vector{S::Arrived, S::Failed, S::Waiting}).kind, K::Wait);
    EXPECT_EQ(judge(one, std::vector{S::Arrived, S::Failed, S::Arrived}).kind, K::Emit);
    EXPECT_EQ(judge(one, std::vector{S::TimedOut, S::Failed, S::Arrived}).kind, K::Fail);
}

TEST(GatherPolicyTest, QuorumFailsAsSoonAsItCannotBeReached) {
    const PolicySpec q = spec(Policy::Quorum, 3, 1, 2);
    EXPECT_EQ(judge(q, std::vector{S::Arrived, S::Arrived, S::Waiting}).kind, K::Wait);
    EXPECT_EQ(judge(q, std::vector{S::Arrived, S::Arrived, S::TimedOut}).kind, K::Emit);
    EXPECT_EQ(judge(q, std::vector{S::Failed, S::Waiting, S::Failed}).kind, K::Fail);
    const PolicySpec q3 = spec(Policy::Quorum, 3, 3, 2);
    EXPECT_EQ(judge(q3, std::vector{S::Failed, S::Arrived, S::Waiting}).kind, K::Wait);
    EXPECT_EQ(judge(q3, std::vector{S::Failed, S::Arrived, S::Failed}).kind, K::Fail);
}

TEST(GatherPolicyTest, AnyTakesTheFirstAnswerAndPriorityTheBestAvailable) {
    const PolicySpec any = spec(Policy::Any, 3, 2);
    EXPECT_EQ(judge(any, std::vector{S::Waiting, S::Arrived, S::Waiting}).kind, K::Emit);
    EXPECT_EQ(judge(any, std::vector{S::Failed, S::Waiting, S::Failed}).kind, K::Wait);
    EXPECT_EQ(judge(any, std::vector{S::Failed, S::TimedOut, S::Failed}).kind, K::Fail);
    const PolicySpec pri = spec(Policy::Priority, 3, 2, 0, {2, 0, 1});
    // The preferred branch (2) has not answered: wait for it even though others did.
    EXPECT_EQ(judge(pri, std::vector{S::Arrived, S::Arrived, S::Waiting}).kind, K::Wait);
    Verdict v = judge(pri, std::vector{S::Arrived, S::Arrived, S::TimedOut});
    EXPECT_EQ(v.kind, K::Emit);
    EXPECT_EQ(v.chosen, 0u);
    v = judge(pri, std::vector{S::Failed, S::Arrived, S::Failed});
    EXPECT_EQ(v.chosen, 1u);
    EXPECT_EQ(judge(pri, std::vector{S::Failed, S::Failed, S::Failed}).kind, K::Fail);
}

TEST(GatherPolicyTest, TheReasonNamesEachBranchThatDidNotAnswer) {
    const std::vector<std::string> names{"profile", "risk", "geo"};
    EXPECT_EQ(failure_reason(spec(Policy::All, 3, 0),
                             std::vector{S::Arrived, S::TimedOut, S::Failed}, names, 300),
              "policy \"all\" not met: 2 of 3 branches failed or timed out, more than "
              "max_failures = 0: 'risk' timed out after 300 ms, 'geo' failed or left the record "
              "out");
    EXPECT_EQ(failure_reason(spec(Policy::Quorum, 3, 3, 2),
                             std::vector{S::Arrived, S::TimedOut, S::Failed}, names, 300),
              "policy \"quorum\" not met: 1 of 3 branches answered, fewer than quorum = 2: "
              "'risk' timed out after 300 ms, 'geo' failed or left the record out");
}

/// Feeds a GatherOperator by hand: branches 0..n-1, the fan-out at port n.
class Fixture {
public:
    Fixture(GatherSettings settings, bool deadlines = true)
        : settings_(std::move(settings)),
          op_(settings_, 64, nullptr, {}, deadlines, [this] { return now_; }) {}

    /// Records with ids `ids` ({"id": id, "from": tag}) arriving on `port`.
    Status send(std::size_t port, std::vector<std::uint64_t> ids, const std::string& tag = "") {
        Batch b(make_schema({"id", "from"}));
        for (std::uint64_t id : ids) {
            auto row = b.append_row(id);
            row[0] = Value::integer(static_cast<std::int64_t>(id));
            row[1] = Value::string(b.arena().copy(tag.empty() ? "p" + std::to_string(port) : tag));
        }
        return op_.push(port, std::move(b), out_);
    }
    Status mark(std::size_t port, std::uint64_t through) {
        return op_.on_info(port, LineageMark{through}, out_);
    }
    void advance(std::chrono::milliseconds d) { now_ += d; }
    /// What came out so far, one JSON line per record.
    std::vector<std::string> lines() {
        std::vector<std::string> all;
        std::istringstream text(test::jsonl(out_.take()));
        for (std::string l; std::getline(text, l);)
            all.push_back(l);
        emitted_.insert(emitted_.end(), all.begin(), all.end());
        return all;
    }
    GatherOperator& op() { return op_; }
    CollectingEmitter& out() { return out_; }

private:
    GatherSettings settings_;
    Clock::time_point now_{};
    GatherOperator op_;
    CollectingEmitter out_;
    std::vector<std::string> emitted_;
};

GatherSettings settings(PolicySpec p, MergeMode mode = MergeMode::Nest,
                        std::optional<std::chrono::milliseconds> timeout = std::nullopt,
                        bool ordered = false, std::optional<std::string> report = "r") {
    GatherSettings s;
    std::vector<std::string> names;
    for (std::size_t b = 0; b < p.branches; ++b)
        names.push_back("b" + std::to_string(b));
    s.merge.mode = mode;
    s.merge.names = std::make_shared<const std::vector<std::string>>(names);
    s.merge.order = p.order;
    s.merge.report_field = std::move(report);
    s.merge.report_chosen = p.policy == Policy::Priority;
    s.policy = std::move(p);
    s.timeout = timeout;
    s.ordered = ordered;
    return s;
}

TEST(GatherOperatorTest, ARecordGoesOnceEveryBranchAnsweredOrPassedIt) {
    Fixture f(settings(spec(Policy::All, 2, 1)));
    ASSERT_TRUE(f.send(2, {1, 2, 3}));
    ASSERT_TRUE(f.send(0, {1, 2, 3}));
    EXPECT_TRUE(f.lines().empty());
    ASSERT_TRUE(f.send(1, {2}));
    auto l = f.lines();
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0], R"({"b0":{"id":2,"from":"p0"},"b1":{"id":2,"from":"p1"},)"
                    R"("r":{"arrived":["b0","b1"],"failed":[],"timed_out":[]}})");
    // Branch 1's mark says 1 and 3 are not coming from it: both go, partial.
    ASSERT_TRUE(f.mark(1, 3));
    l = f.lines();
    ASSERT_EQ(l.size(), 2u);
    EXPECT_EQ(l[0], R"({"b0":{"id":1,"from":"p0"},"b1":null,)"
                    R"("r":{"arrived":["b0"],"failed":["b1"],"timed_out":[]}})");
    EXPECT_EQ(f.op().pending(), 0u);
}

TEST(GatherOperatorTest, AtTheDeadlineARecordGoesWithWhatArrivedAndLateAnswersAreDropped) {
    Fixture f(
        settings(spec(Policy::Quorum, 3, 1, 2), MergeMode::Flat, std::chrono::milliseconds(300)));
    ASSERT_TRUE(f.send(3, {1, 2}));
    ASSERT_TRUE(f.send(0, {1, 2}, "a"));
    ASSERT_TRUE(f.send(1, {1, 2}, "b"));
    ASSERT_TRUE(f.send(2, {2}, "c"));
    auto l = f.lines();
    ASSERT_EQ(l.size(), 1u); // record 2 is complete; record 1 waits for branch 2
    ASSERT_TRUE(f.op().timer());
    f.advance(std::chrono::milliseconds(299));
    ASSERT_TRUE(f.op().on_timer(f.out()));
    EXPECT_TRUE(f.lines().empty());
    f.advance(std::chrono::milliseconds(1));
    ASSERT_TRUE(f.op().on_timer(f.out()));
    l = f.lines();
    ASSERT_EQ(l.size(), 1u);
    // Flat: branch 0 wins the clash on "from".
    EXPECT_EQ(l[0], R"({"id":1,"from":"a","r":{"arrived":["b0","b1"],"failed":[],)"
                    R"("timed_out":["b2"]}})");
    EXPECT_FALSE(f.op().timer());
    // The slow branch's answer comes late: dropped, not a new record.
    ASSERT_TRUE(f.send(2, {1}, "late"));
    EXPECT_TRUE(f.lines().empty());
    EXPECT_EQ(f.op().pending(), 0u);
}

TEST(GatherOperatorTest, OrderedOutputKeepsTheFanOutsOrder) {
    Fixture f(settings(spec(Policy::All, 2, 0), MergeMode::Flat, std::nullopt, true, std::nullopt));
    ASSERT_TRUE(f.send(2, {1, 2, 3}));
    ASSERT_TRUE(f.send(0, {3, 2, 1}));
    ASSERT_TRUE(f.send(1, {3, 2}));
    EXPECT_TRUE(f.lines().empty()) << "records 2 and 3 wait for record 1";
    ASSERT_TRUE(f.send(1, {1}));
    const auto l = f.lines();
    ASSERT_EQ(l.size(), 3u);
    EXPECT_EQ(l[0], R"({"id":1,"from":"p0"})");
    EXPECT_EQ(l[1], R"({"id":2,"from":"p0"})");
    EXPECT_EQ(l[2], R"({"id":3,"from":"p0"})");
}

TEST(GatherOperatorTest, AFailedRecordIsAnErrorNamingTheBranches) {
    Fixture f(settings(spec(Policy::All, 2, 0)));
    ASSERT_TRUE(f.send(2, {1}));
    ASSERT_TRUE(f.send(0, {1}));
    Status s = f.op().input_done(1, f.out());
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message, "record #1 of the fan-out: policy \"all\" not met: 1 of 2 "
                                 "branches failed or timed out, more than max_failures = 0: "
                                 "'b1' failed or left the record out");
}

TEST(GatherOperatorTest, WithoutDeadlinesNothingTimesOut) {
    Fixture f(settings(spec(Policy::All, 2, 0), MergeMode::Nest, std::chrono::milliseconds(1)),
              false);
    ASSERT_TRUE(f.send(2, {1}));
    ASSERT_TRUE(f.send(0, {1}));
    EXPECT_FALSE(f.op().timer());
    f.advance(std::chrono::hours(1));
    ASSERT_TRUE(f.send(1, {1}));
    EXPECT_EQ(f.lines().size(), 1u);
}

TEST(GatherOperatorTest, ItIsSatisfiedOnceTheFanOutEndedAndNothingWaits) {
    Fixture f(settings(spec(Policy::Any, 2, 1)));
    ASSERT_TRUE(f.send(2, {1}));
    ASSERT_TRUE(f.op().input_done(2, f.out()));
    EXPECT_FALSE(f.op().satisfied());
    ASSERT_TRUE(f.send(1, {1}));
    EXPECT_EQ(f.lines().size(), 1u);
    EXPECT_TRUE(f.op().satisfied()) << "branch 0's answer is no longer needed";
}

} // namespace
} // namespace conveyor::plugins::gather
