#pragma once

// The interface for stages that do I/O-bound work concurrently (http.fetch, followed files,
// windows on processing time). It exposes Asio's awaitable, so only those plugins and the
// executors include it; CPU-bound stages implement Operator/SourceOperator instead.

#include "conveyor/core/batch.hpp"
#include "conveyor/core/result.hpp"

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>

namespace conveyor {

/// One event from a stage's inputs: a batch from `port`, or (batch empty) the end of `port`.
struct InputEvent {
    std::size_t port = 0;
    std::optional<Batch> batch;
};

/// A stage's inputs as the executor delivers them. Under `dag` the ports come one after
/// another in `inputs` order; under `channel`/`async` batches come from whichever input has
/// them. Only the stage's own coroutine may call next().
class StreamInput {
public:
    virtual ~StreamInput() = default;
    /// The next event; std::nullopt once every input has ended or the run is cancelled.
    virtual boost::asio::awaitable<std::optional<InputEvent>> next() = 0;

    struct Timed {
        std::optional<InputEvent> event; ///< as from next(), when not timed out
        bool timed_out = false;          ///< `deadline` came before any event
    };
    /// next(), waiting no later than `deadline`. Inputs that never wait (materialised ones)
    /// keep this default.
    virtual boost::asio::awaitable<Timed> next_until(std::chrono::steady_clock::time_point) {
        Timed t;
        t.event = co_await next();
        co_return t;
    }
    /// Checkpoint alignment at a fan-in (the executor's driver does it): while `port` is
    /// held, next() delivers nothing from it, neither batches nor its end.
    virtual void hold(std::size_t port, bool held) = 0;
    /// Why next() ended the input early (a materialised edge's spill file could not be read
    /// back), if it did.
    [[nodiscard]] virtual std::optional<Error> failure() const { return std::nullopt; }
};

/// A stage's outputs. emit() suspends while downstream is full (backpressure) and returns false
/// when no consumer wants more (all gone or the run cancelled): the stage should then stop.
class StreamOutput {
public:
    virtual ~StreamOutput() = default;
    virtual boost::asio::awaitable<bool> emit(Batch batch) = 0;
    /// Calls `fn` once no consumer wants this stage's output any more (each has finished or
    /// gone, e.g. a gather.apply whose records have all gone), from any thread: a stage waiting
    /// on slow work with nothing to emit yet can then stop. Never called when an output is
    /// not watched (dag keeps a stage's output until its level is done).
    virtual void on_unwanted(std::function<void()> fn) { (void)fn; }
};

/// Per-run state of an I/O-bound stage. run() is a coroutine started on the run's I/O
/// executor; it returns when its inputs are exhausted (or, for sources, the input ended or a
/// graceful stop was requested) and every result has been emitted. On cancellation it must
/// return promptly (RunContext::on_cancel lets it abort in-flight operations).
class StreamOperator {
public:
    virtual ~StreamOperator() = default;
    virtual boost::asio::awaitable<Status> run(StreamInput& in, StreamOutput& out) = 0;
    virtual void abort() noexcept {}
};

} // namespace conveyor
