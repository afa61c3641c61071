#include "conveyor/stage/following_source.hpp"

namespace conveyor {

FollowingSource::FollowingSource(std::unique_ptr<FollowedFile> file, Factory make)
    : file_(std::move(file)), make_(std::move(make)) {}

// The inner source (and the segment it reads) goes before the file that hands out segments.
FollowingSource::~FollowingSource() {
    inner_.reset();
}

Result<bool> FollowingSource::next(Emitter& out) {
    if (!inner_) {
        Result<std::optional<InputFile>> segment = file_->next_segment();
        if (!segment) return std::move(segment).error();
        if (!*segment) return false; // stopped while waiting for the file
        Result<std::unique_ptr<SourceOperator>> made = make_(std::move(**segment), index_++);
        if (!made) return std::move(made).error();
        inner_ = std::move(made).value();
    }
    Result<bool> more = inner_->next(out);
    if (!more) return more;
    if (*more) return true;
    inner_.reset();
    // The segment ended: rotated or truncated (the next call reads the new one), or stopped.
    return file_->last_end() == FollowedFile::End::Rotated ||
           file_->last_end() == FollowedFile::End::Truncated;
}

void FollowingSource::abort() noexcept {
    if (inner_) inner_->abort();
}

} // namespace conveyor
