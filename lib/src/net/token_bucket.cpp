#include "conveyor/net/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace conveyor::net {

TokenBucket::TokenBucket(double rate_per_second, double burst, TimePoint now)
    : rate_(rate_per_second), burst_(std::max(1.0, burst)), tokens_(burst_), last_(now) {}

std::chrono::nanoseconds TokenBucket::reserve(TimePoint now) {
    if (now > last_) {
        const double elapsed = std::chrono::duration<double>(now - last_).count();
        tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
        last_ = now;
    }
    tokens_ -= 1.0;
    if (tokens_ >= 0.0) return std::chrono::nanoseconds{0};
    const double wait_s = -tokens_ / rate_;
    return std::chrono::nanoseconds{static_cast<std::int64_t>(std::ceil(wait_s * 1e9))};
}

} // namespace conveyor::net
