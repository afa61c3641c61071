#pragma once

// A queue of a pipeline's chunks shared by workers on any number of machines, kept by an engine
// the user already runs (Redis Streams, NATS JetStream): conveyor schedules nothing itself. A
// worker takes a chunk with a lease, renews the lease while it works, passes the commit fence,
// commits the chunk's output and acknowledges it; a chunk whose lease expires goes to another
// worker, and one delivered max_deliveries times goes to the dead-letter stream with its last
// error. See docs/ARCHITECTURE.md ("Work queue") for what the fence guarantees.

#include "conveyor/core/result.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor::queue {

/// `redis://HOST:PORT/NAME` or `nats://HOST:PORT/NAME`.
struct QueueUrl {
    enum class Engine : std::uint8_t { Redis, Nats };
    Engine engine = Engine::Redis;
    std::string host;
    int port = 0;
    std::string name; ///< letters, digits, '-' and '_'
    [[nodiscard]] std::string to_string() const;
};

/// A malformed URL is a Usage error naming what is wrong.
Result<QueueUrl> parse_queue_url(std::string_view text);

/// What `queue push` stores once for every worker of the queue.
struct QueueSpec {
    std::string pipeline;        ///< the pipeline file's path, as workers open it
    std::string pipeline_digest; ///< of the file's bytes: a worker with another file refuses
    std::uint32_t chunks = 0;
    std::chrono::milliseconds lease{30'000};
    std::uint32_t max_deliveries = 5;
};

/// The digest a queue keeps of its pipeline file's bytes (64-bit FNV-1a, hex): it tells a worker
/// that its copy of the file differs from the pushed one; it is no security measure.
std::string pipeline_digest(std::string_view bytes);

/// One delivery of one chunk to one worker.
struct Lease {
    std::uint32_t chunk = 0;
    std::uint32_t delivery = 1; ///< 1 for the first delivery, +1 for every redelivery
    std::string consumer;       ///< the worker that holds it
    std::string message_id;     ///< the engine's id of the chunk's message
    /// Unique per delivery of this queue's chunk: "<message_id>_<delivery>" (letters, digits,
    /// - and _: it is part of file names).
    [[nodiscard]] std::string attempt() const;
};

/// What the commit fence says to a worker about to commit a chunk's output.
enum class Fence : std::uint8_t {
    Commit,           ///< the attempt still holds the lease and nobody committed: go on
    AlreadyCommitted, ///< another attempt committed the chunk: discard ours, acknowledge
    LeaseLost,        ///< another delivery holds the chunk now: discard ours, do not acknowledge
};

struct QueueStatus {
    std::uint64_t chunks = 0;
    std::uint64_t done = 0;
    std::uint64_t in_flight = 0; ///< delivered and not yet acknowledged (leases, live or not)
    std::uint64_t pending = 0;   ///< never delivered or given back
    std::uint64_t dead = 0;
};

struct DeadLetter {
    std::uint32_t chunk = 0;
    std::uint32_t deliveries = 0;
    std::string error;
};

/// The engine behind a queue. Every call is a blocking round trip (or a few) with the engine's
/// own timeout; an unreachable engine is a TempFail error. Calls may come from several threads
/// (a worker's heartbeat renews while its main thread works): implementations serialise them.
class WorkQueue {
public:
    virtual ~WorkQueue() = default;

    /// Creates the queue with `spec` and enqueues chunks 0..spec.chunks-1. Fails (Usage) when
    /// a queue of that name exists already.
    virtual Status push(const QueueSpec& spec) = 0;
    /// What push stored; a NoInput error when the queue does not exist.
    virtual Result<QueueSpec> spec() = 0;
    /// The next chunk for `consumer`: first one whose lease expired (its delivery count goes
    /// up; past max_deliveries it goes to the dead letters instead), else a new one; nullopt
    /// when none is available right now.
    virtual Result<std::optional<Lease>> take(const std::string& consumer) = 0;
    /// Restarts the lease's clock. Returns false when the lease is no longer this delivery's.
    virtual Result<bool> renew(const Lease& lease) = 0;
    /// The commit fence: one atomic step on the engine that grants the right to commit only to
    /// the delivery that holds the lease of a chunk nobody committed yet. The grant lasts one
    /// lease (renew extends it).
    virtual Result<Fence> fence(const Lease& lease) = 0;
    /// The chunk is committed (by `committed_by`, an attempt id, ours or the one found
    /// committed): recorded as done and removed from the queue.
    virtual Status ack(const Lease& lease, const std::string& committed_by) = 0;
    /// The attempt failed with `error`: at max_deliveries the chunk goes to the dead letters
    /// with it, otherwise it is given back at once for another delivery.
    virtual Status fail_attempt(const Lease& lease, const std::string& error) = 0;
    virtual Result<QueueStatus> status() = 0;
    /// The attempt that committed each done chunk, by chunk index.
    virtual Result<std::vector<std::pair<std::uint32_t, std::string>>> done() = 0;
    virtual Result<std::vector<DeadLetter>> dead_letters() = 0;
};

/// Connects to the engine of `url` (TempFail when it cannot be reached within `timeout`).
Result<std::unique_ptr<WorkQueue>>
open_queue(const QueueUrl& url, std::chrono::milliseconds timeout = std::chrono::seconds(5));

} // namespace conveyor::queue
