// Both queue engines, each against a real server on 127.0.0.1 (redis-server, nats-server with
// JetStream): leases, their renewal and
// expiry, delivery counts, dead letters, the commit fence and the status counts. Lease expiry
// is waited for by polling take() with a deadline (the observable condition), never by a sleep.

#include "conveyor/queue/work_queue.hpp"
#include "support/loopback_server.hpp"
#include "support/queue_checks.hpp"

#include <chrono>
#include <gtest/gtest.h>

namespace conveyor::queue {
namespace {

using namespace std::chrono_literals;
using test::LoopbackServer;

std::unique_ptr<WorkQueue> open(const LoopbackServer& server, const std::string& name) {
    return test::open_test_queue(server.url(name));
}

QueueSpec spec_of(std::uint32_t chunks, std::chrono::milliseconds lease, std::uint32_t max = 3) {
    QueueSpec s;
    s.pipeline = "/data/p.toml";
    s.pipeline_digest = "d1g";
    s.chunks = chunks;
    s.lease = lease;
    s.max_deliveries = max;
    return s;
}

std::optional<Lease> take(WorkQueue& q, const std::string& consumer) {
    Result<std::optional<Lease>> l = q.take(consumer);
    EXPECT_TRUE(l) << l.error().to_string();
    return l ? *l : std::nullopt;
}

/// Takes for `consumer` until a lease comes (a lease of another worker expiring) or 10 s pass.
std::optional<Lease> take_within(WorkQueue& q, const std::string& consumer) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline)
        if (auto l = take(q, consumer)) return l;
    return std::nullopt;
}

QueueStatus status(WorkQueue& q) {
    Result<QueueStatus> s = q.status();
    EXPECT_TRUE(s) << s.error().to_string();
    return s ? *s : QueueStatus{};
}

TEST(QueueUrl, ParsesBothEnginesAndRejectsTheRest) {
    Result<QueueUrl> r = parse_queue_url("redis://127.0.0.1:6380/etl-1");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->engine, QueueUrl::Engine::Redis);
    EXPECT_EQ(r->host, "127.0.0.1");
    EXPECT_EQ(r->port, 6380);
    EXPECT_EQ(r->name, "etl-1");
    Result<QueueUrl> n = parse_queue_url("nats://queue.local/etl_2");
    ASSERT_TRUE(n);
    EXPECT_EQ(n->engine, QueueUrl::Engine::Nats);
    EXPECT_EQ(n->port, 4222);
    EXPECT_EQ(n->to_string(), "nats://queue.local:4222/etl_2");
    for (const char* bad : {"http://h:1/q", "redis://h:1", "redis://h:1/", "redis://:1/q",
                            "redis://h:99999/q", "redis://h:x/q", "redis://h:1/a.b"}) {
        Result<QueueUrl> b = parse_queue_url(bad);
        ASSERT_FALSE(b) << bad;
        EXPECT_EQ(b.error().kind, ErrorKind::Usage) << bad;
    }
}

/// Each test runs against each engine, on a server of its own.
class Queue : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        server_ = test::start_queue_engine(GetParam());
        ASSERT_EQ(server_->error(), "");
    }
    std::unique_ptr<LoopbackServer> server_;
};

INSTANTIATE_TEST_SUITE_P(Engines, Queue, ::testing::Values("redis", "nats"));

TEST(QueueEngines, AnUnreachableServerIsATemporaryFailure) {
    for (const std::string scheme : {"redis", "nats"}) {
        Result<QueueUrl> url = parse_queue_url(
            scheme + "://127.0.0.1:" + std::to_string(test::free_loopback_port()) + "/q");
        ASSERT_TRUE(url);
        Result<std::unique_ptr<WorkQueue>> q = open_queue(*url, 2s);
        ASSERT_FALSE(q) << scheme;
        EXPECT_EQ(q.error().kind, ErrorKind::TempFail) << scheme;
        EXPECT_NE(q.error().message.find("cannot reach"), std::string::npos) << q.error().message;
    }
}

TEST_P(Queue, HandsEveryChunkOutOnceAndCountsThem) {
    auto q = open(*server_, "count");
    ASSERT_TRUE(q->push(spec_of(4, 30s)));
    Result<QueueSpec> s = q->spec();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->pipeline, "/data/p.toml");
    EXPECT_EQ(s->pipeline_digest, "d1g");
    EXPECT_EQ(s->chunks, 4u);
    EXPECT_EQ(s->lease, 30s);
    QueueStatus st = status(*q);
    EXPECT_EQ(st.pending, 4u);
    EXPECT_EQ(st.in_flight + st.done + st.dead, 0u);

    std::vector<Lease> leases;
    for (int i = 0; i < 4; ++i) {
        auto l = take(*q, i % 2 ? "a" : "b");
        ASSERT_TRUE(l);
        EXPECT_EQ(l->chunk, static_cast<std::uint32_t>(i));
        EXPECT_EQ(l->delivery, 1u);
        leases.push_back(*l);
    }
    EXPECT_FALSE(take(*q, "c"));
    st = status(*q);
    EXPECT_EQ(st.in_flight, 4u);
    EXPECT_EQ(st.pending, 0u);
    ASSERT_EQ(q->fence(leases[2]).value(), Fence::Commit);
    ASSERT_TRUE(q->ack(leases[2], leases[2].attempt()));
    st = status(*q);
    EXPECT_EQ(st.done, 1u);
    EXPECT_EQ(st.in_flight, 3u);
    auto done = q->done();
    ASSERT_TRUE(done);
    ASSERT_EQ(done->size(), 1u);
    EXPECT_EQ(done->front().first, 2u);
    EXPECT_EQ(done->front().second, leases[2].attempt());

    // A second push to the same name is refused: it would hand the chunks out twice.
    Status again = q->push(spec_of(4, 30s));
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().kind, ErrorKind::Usage);
}

TEST_P(Queue, AnExpiredLeaseGoesToAnotherWorkerAndFencesTheFirstOut) {
    auto q = open(*server_, "expiry");
    ASSERT_TRUE(q->push(spec_of(1, 300ms)));
    auto first = take(*q, "paused");
    ASSERT_TRUE(first);
    auto second = take_within(*q, "other");
    ASSERT_TRUE(second);
    EXPECT_EQ(second->chunk, 0u);
    EXPECT_EQ(second->delivery, 2u);
    EXPECT_NE(second->attempt(), first->attempt());

    // The paused worker wakes up: its lease and its fence are gone.
    EXPECT_FALSE(q->renew(*first).value());
    EXPECT_EQ(q->fence(*first).value(), Fence::LeaseLost);
    EXPECT_EQ(q->fence(*second).value(), Fence::Commit);
    ASSERT_TRUE(q->ack(*second, second->attempt()));
    // Once committed, any other attempt hears so.
    EXPECT_EQ(q->fence(*first).value(), Fence::AlreadyCommitted);
    auto done = q->done();
    ASSERT_TRUE(done);
    ASSERT_EQ(done->size(), 1u);
    EXPECT_EQ(done->front().second, second->attempt());
    EXPECT_FALSE(take(*q, "other"));
    EXPECT_EQ(status(*q).done, 1u);
}

TEST_P(Queue, RenewingKeepsTheLease) {
    auto q = open(*server_, "renew");
    ASSERT_TRUE(q->push(spec_of(1, 400ms)));
    auto held = take(*q, "worker");
    ASSERT_TRUE(held);
    // Renewing at a third of the lease (a worker's heartbeat) for three leases: nobody else gets
    // the chunk. A lease runs out on the engine's own clock (Redis key expiry, JetStream's ack
    // wait), so only time really passing past the lease shows that the renewals, and nothing
    // else, kept the chunk. Between two renewals a thief keeps asking for it, and is refused
    // every time: the waiting is itself the check, never a sleep.
    const auto until = std::chrono::steady_clock::now() + 1200ms;
    while (std::chrono::steady_clock::now() < until) {
        ASSERT_TRUE(q->renew(*held).value());
        const auto next_beat = std::chrono::steady_clock::now() + 130ms;
        while (std::chrono::steady_clock::now() < next_beat)
            ASSERT_FALSE(take(*q, "thief"));
    }
    EXPECT_EQ(q->fence(*held).value(), Fence::Commit);
    // Without renewal it goes (the claim the fence took expires with the lease as well).
    auto taken = take_within(*q, "thief");
    ASSERT_TRUE(taken);
    EXPECT_EQ(taken->delivery, 2u);
}

TEST_P(Queue, AChunkFailingMaxDeliveriesTimesIsADeadLetterWithItsLastError) {
    auto q = open(*server_, "poison");
    ASSERT_TRUE(q->push(spec_of(2, 30s, 3)));
    auto good = take(*q, "w");
    ASSERT_TRUE(good);
    for (std::uint32_t d = 1; d <= 3; ++d) {
        // A failed attempt is given back at once, not after its lease.
        std::optional<Lease> l = d == 1 ? take(*q, "w") : take_within(*q, "w");
        ASSERT_TRUE(l) << d;
        EXPECT_EQ(l->chunk, 1u);
        EXPECT_EQ(l->delivery, d);
        ASSERT_TRUE(q->fail_attempt(*l, "bad row " + std::to_string(d)));
    }
    EXPECT_FALSE(take(*q, "w"));
    QueueStatus st = status(*q);
    EXPECT_EQ(st.dead, 1u);
    EXPECT_EQ(st.in_flight, 1u);
    auto dead = q->dead_letters();
    ASSERT_TRUE(dead);
    ASSERT_EQ(dead->size(), 1u);
    EXPECT_EQ(dead->front().chunk, 1u);
    EXPECT_EQ(dead->front().deliveries, 3u);
    EXPECT_EQ(dead->front().error, "bad row 3");
}

TEST_P(Queue, AChunkWhoseLeaseExpiresMaxDeliveriesTimesIsADeadLetter) {
    auto q = open(*server_, "lost");
    ASSERT_TRUE(q->push(spec_of(1, 200ms, 2)));
    ASSERT_TRUE(take(*q, "killed-1"));
    auto second = take_within(*q, "killed-2");
    ASSERT_TRUE(second);
    EXPECT_EQ(second->delivery, 2u);
    // Its third delivery would pass max_deliveries: it goes to the dead letters instead.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (status(*q).dead == 0 && std::chrono::steady_clock::now() < deadline)
        EXPECT_FALSE(take(*q, "w"));
    auto dead = q->dead_letters();
    ASSERT_TRUE(dead);
    ASSERT_EQ(dead->size(), 1u);
    EXPECT_EQ(dead->front().deliveries, 2u);
    EXPECT_NE(dead->front().error.find("lease expired 2 times"), std::string::npos)
        << dead->front().error;
    QueueStatus st = status(*q);
    EXPECT_EQ(st.in_flight + st.pending + st.done, 0u);
}

TEST_P(Queue, TheQueueOfAnotherNameIsMissing) {
    auto q = open(*server_, "nothing-here");
    Result<QueueStatus> st = q->status();
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().kind, ErrorKind::NoInput);
}

} // namespace
} // namespace conveyor::queue
