#pragma once

// `--metrics-addr`: a small HTTP server (Beast, hidden in the .cpp) serving the run's metrics
// in Prometheus text format at /metrics while the run goes on. It runs on its own thread, so a
// busy run never delays a scrape and a scrape never touches the run's threads.

#include "conveyor/core/result.hpp"

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace conveyor::obs {

class MetricsServer {
public:
    /// Produces the body of GET /metrics; called on the server's thread, once per scrape.
    using Render = std::function<std::string()>;

    /// Parses "HOST:PORT" ("127.0.0.1:9464", "[::1]:9464", ":9464" or "9464" for 127.0.0.1;
    /// port 0 picks a free port). Hosts must be IP addresses: no name lookup. Fails with Usage.
    struct Address {
        std::string host;
        unsigned short port = 0;
    };
    static Result<Address> parse_address(std::string_view text);

    /// Binds, listens and starts serving. Fails with CantCreate when the address cannot be
    /// bound (in use, not local).
    static Result<std::unique_ptr<MetricsServer>> start(const Address& address, Render render);

    ~MetricsServer(); ///< stop()s
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    /// The address actually bound ("127.0.0.1:41234"), e.g. to print for port 0.
    [[nodiscard]] const std::string& bound_address() const noexcept;
    /// Closes the listener and every connection, joins the thread. Idempotent.
    void stop();

    struct Impl;

private:
    explicit MetricsServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace conveyor::obs
