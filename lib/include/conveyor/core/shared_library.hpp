#pragma once

#include "conveyor/core/result.hpp"

#include <mutex>
#include <string>
#include <string_view>

namespace conveyor {

/// A shared library loaded with dlopen when a stage or command first needs it, kept for the
/// life of the process (client libraries keep state of their own: TLS, threads).
///
/// Why not link them: every library linked into conveyor, and every library it pulls in, is
/// loaded and relocated at every start, also of a one-record run that never touches it. libpq
/// pulls in about twenty (Kerberos, LDAP, GnuTLS, SASL); libnats pulls in OpenSSL's shared
/// libraries, whose relocations alone took a third of conveyor's start. Callers still compile
/// against the library's own header, so every call is type-checked (see plugins/postgres/
/// pg_api.hpp, lib/src/queue/nats_api.hpp).
class SharedLibrary {
public:
    /// Loads `soname` (e.g. "libpq.so.5"). A Config error naming it, what it is for and the
    /// Debian package that installs it, and what the loader said, when it cannot be loaded.
    static Result<SharedLibrary> open(const char* soname, std::string_view what,
                                      std::string_view package);

    /// Sets `fn` to the library's function `symbol`; false (with `missing` = symbol) when the
    /// library has no such function.
    template <class Fn>
    bool bind(const char* symbol, Fn& fn, std::string& missing) const {
        void* sym = lookup(symbol);
        if (!sym) {
            missing = symbol;
            return false;
        }
        fn = reinterpret_cast<Fn>(sym); // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
        return true;
    }

    const std::string& soname() const noexcept { return soname_; }

private:
    SharedLibrary(void* handle, std::string soname) : handle_(handle), soname_(std::move(soname)) {}
    void* lookup(const char* symbol) const noexcept;

    void* handle_ = nullptr;
    std::string soname_;
};

/// A library's functions loaded on first use, once per process (thread-safe): `Api` is a
/// struct of function pointers, `bind_all` binds each of them (the expansion of the library's
/// X-macro list) and returns false with the first missing name.
template <class Api>
class LazyApi {
public:
    using BindAll = bool (*)(const SharedLibrary&, Api&, std::string& missing);

    LazyApi(const char* soname, const char* what, const char* package, BindAll bind_all)
        : soname_(soname), what_(what), package_(package), bind_all_(bind_all) {}

    /// The loaded functions, or the Config error of SharedLibrary::open (or naming the missing
    /// function), the same on every call.
    Result<const Api*> load() {
        std::call_once(once_, [this] {
            Result<SharedLibrary> lib = SharedLibrary::open(soname_, what_, package_);
            if (!lib) {
                error_ = lib.error().message;
                return;
            }
            std::string missing;
            if (!bind_all_(*lib, api_, missing))
                error_ = lib->soname() + " has no function " + missing;
        });
        if (!error_.empty()) return Error(ErrorKind::Config, error_);
        return &api_;
    }

    /// Only after load() succeeded.
    const Api& api() const noexcept { return api_; }

private:
    const char* soname_;
    const char* what_;
    const char* package_;
    BindAll bind_all_;
    std::once_flag once_;
    std::string error_; ///< empty when api_ is complete
    Api api_{};
};

} // namespace conveyor
