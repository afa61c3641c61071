#pragma once

#include "conveyor/io/followed_file.hpp"
#include "conveyor/stage/stage.hpp"

#include <cstddef>
#include <functional>
#include <memory>

namespace conveyor {

/// A source reading a followed file (FollowedFile): one inner source per segment, so each
/// instance of a rotated file is parsed from its own beginning (a CSV header, a JSON array).
/// Ends when a stop or cancellation is requested, after the inner source has passed on the
/// complete records it read.
class FollowingSource final : public SourceOperator {
public:
    /// Makes the inner source of segment number `index` (0-based).
    using Factory = std::function<Result<std::unique_ptr<SourceOperator>>(InputFile segment,
                                                                          std::size_t index)>;

    FollowingSource(std::unique_ptr<FollowedFile> file, Factory make);
    ~FollowingSource() override;

    Result<bool> next(Emitter& out) override;
    void abort() noexcept override;

private:
    std::unique_ptr<FollowedFile> file_;
    Factory make_;
    std::unique_ptr<SourceOperator> inner_;
    std::size_t index_ = 0;
};

} // namespace conveyor
