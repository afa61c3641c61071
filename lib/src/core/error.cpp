#include "conveyor/core/error.hpp"

namespace conveyor {

std::string_view to_string(ErrorKind kind) noexcept {
    switch (kind) {
    case ErrorKind::Usage:
        return "usage";
    case ErrorKind::Config:
        return "config";
    case ErrorKind::Data:
        return "data";
    case ErrorKind::NoInput:
        return "no-input";
    case ErrorKind::CantCreate:
        return "cant-create";
    case ErrorKind::TempFail:
        return "temporary";
    case ErrorKind::Timeout:
        return "timeout";
    case ErrorKind::Cancelled:
        return "cancelled";
    case ErrorKind::Busy:
        return "busy";
    case ErrorKind::Runtime:
        return "runtime";
    case ErrorKind::Internal:
        return "internal";
    }
    return "unknown";
}

int exit_code(ErrorKind kind) noexcept {
    using namespace exit_codes;
    switch (kind) {
    case ErrorKind::Usage:
        return kUsage;
    case ErrorKind::Config:
        return kConfig;
    case ErrorKind::Data:
        return kData;
    case ErrorKind::NoInput:
        return kNoInput;
    case ErrorKind::CantCreate:
        return kCantCreate;
    case ErrorKind::TempFail:
    case ErrorKind::Timeout:
        return kTempFail;
    case ErrorKind::Internal:
        return kSoftware;
    case ErrorKind::Busy:
        return kAlreadyRunning;
    case ErrorKind::Cancelled:
    case ErrorKind::Runtime:
        return kFailed;
    }
    return kFailed;
}

std::string Error::to_string() const {
    std::string s;
    if (!stage.empty()) {
        s += "stage '";
        s += stage;
        s += "': ";
    }
    if (!where.empty()) {
        s += where;
        s += ": ";
    }
    s += message;
    return s;
}

Error Error::in_stage(std::string_view stage_id) const& {
    Error e = *this;
    if (e.stage.empty()) e.stage = stage_id;
    return e;
}

Error Error::in_stage(std::string_view stage_id) && {
    if (stage.empty()) stage = stage_id;
    return std::move(*this);
}

} // namespace conveyor
