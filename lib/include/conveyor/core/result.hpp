#pragma once

#include "conveyor/core/error.hpp"

#include <cassert>
#include <memory>
#include <type_traits>
#include <utility>
#include <variant>

namespace conveyor {

/// Tag wrapper so that `return fail(err);` converts into any Result<T>.
struct Failure {
    Error error;
};
inline Failure fail(Error e) {
    return Failure{std::move(e)};
}
inline Failure fail(ErrorKind kind, std::string message, std::string where = {}) {
    return Failure{Error{kind, std::move(message), std::move(where)}};
}

/// The shape of std::expected<T, Error> (C++23), small enough for C++20.
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Failure f) : v_(std::in_place_index<1>, std::move(f.error)) {}
    Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}
    template <class U>
    requires(std::is_convertible_v<U&&, T> && !std::is_same_v<std::decay_t<U>, T> &&
             !std::is_same_v<std::decay_t<U>, Failure> && !std::is_same_v<std::decay_t<U>, Error>)
        Result(U&& value)
        : v_(std::in_place_index<0>, std::forward<U>(value)) {}

    [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & {
        assert(ok());
        return std::get<0>(v_);
    }
    const T& value() const& {
        assert(ok());
        return std::get<0>(v_);
    }
    T&& value() && {
        assert(ok());
        return std::get<0>(std::move(v_));
    }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const& {
        assert(!ok());
        return std::get<1>(v_);
    }
    Error&& error() && {
        assert(!ok());
        return std::get<1>(std::move(v_));
    }

private:
    std::variant<T, Error> v_;
};

/// Success carries nothing and costs a null pointer (a Status is returned per record on hot
/// paths); a failure holds its Error on the heap.
template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Failure f) : err_(std::make_unique<Error>(std::move(f.error))) {}
    Result(Error e) : err_(std::make_unique<Error>(std::move(e))) {}
    Result(const Result& other)
        : err_(other.err_ ? std::make_unique<Error>(*other.err_) : nullptr) {}
    Result(Result&&) noexcept = default;
    Result& operator=(const Result& other) {
        if (this != &other) err_ = other.err_ ? std::make_unique<Error>(*other.err_) : nullptr;
        return *this;
    }
    Result& operator=(Result&&) noexcept = default;

    [[nodiscard]] bool ok() const noexcept { return !err_; }
    explicit operator bool() const noexcept { return ok(); }
    const Error& error() const& {
        assert(err_);
        return *err_;
    }
    Error&& error() && {
        assert(err_);
        return std::move(*err_);
    }

private:
    std::unique_ptr<Error> err_;
};

using Status = Result<void>;

inline Status ok_status() {
    return {};
}

} // namespace conveyor

/// Propagates a failed Result/Status out of the current function.
#define CONVEYOR_TRY(expr)                                                                         \
    do {                                                                                           \
        if (auto&& conveyor_try_r_ = (expr); !conveyor_try_r_.ok())                                \
            return ::conveyor::Failure{std::move(conveyor_try_r_).error()};                        \
    } while (0)
